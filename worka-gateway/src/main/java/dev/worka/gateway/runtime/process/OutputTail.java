package dev.worka.gateway.runtime.process;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;

/**
 * The last lines a worker wrote, in bounded memory whatever it writes: at most {@link #MAX_LINES}
 * lines of at most {@link #MAX_LINE_CHARS} characters each; a longer line is cut, a line without
 * end is cut at {@link #MAX_LINE_BYTES} bytes and the rest of it skipped. Control characters other
 * than tab become {@code ?} (the lines end up in logs and burn rows), and the worker's own token,
 * should it print it, becomes {@code <token>}.
 */
final class OutputTail {
  static final int MAX_LINES = 40;
  static final int MAX_LINE_CHARS = 500;
  static final int MAX_LINE_BYTES = MAX_LINE_CHARS * 4;

  private final String secret;
  private final ArrayDeque<String> lines = new ArrayDeque<>(MAX_LINES);

  OutputTail(String secret) {
    this.secret = secret;
  }

  /**
   * Reads {@code output} to its end, keeping its last lines and handing each cleaned line to {@code
   * onLine} (for debug logging).
   */
  void drain(InputStream output, Consumer<String> onLine) throws IOException {
    byte[] chunk = new byte[8192];
    byte[] line = new byte[MAX_LINE_BYTES];
    int length = 0;
    boolean cut = false;
    int read;
    while ((read = output.read(chunk)) != -1) {
      for (int i = 0; i < read; i++) {
        byte b = chunk[i];
        if (b == '\n') {
          onLine.accept(add(line, length, cut));
          length = 0;
          cut = false;
        } else if (length < line.length) {
          line[length++] = b;
        } else {
          cut = true;
        }
      }
    }
    if (length > 0 || cut) {
      onLine.accept(add(line, length, cut));
    }
  }

  synchronized List<String> lastLines() {
    return List.copyOf(lines);
  }

  private String add(byte[] bytes, int length, boolean cut) {
    String text = clean(decode(bytes, length), cut);
    synchronized (this) {
      if (lines.size() == MAX_LINES) {
        lines.removeFirst();
      }
      lines.addLast(text);
    }
    return text;
  }

  private static String decode(byte[] bytes, int length) {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    CharBuffer chars = CharBuffer.allocate(length + 1);
    decoder.decode(ByteBuffer.wrap(bytes, 0, length), chars, true);
    decoder.flush(chars);
    return chars.flip().toString();
  }

  private String clean(String raw, boolean cut) {
    String text = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
    if (secret != null && !secret.isEmpty() && text.contains(secret)) {
      text = text.replace(secret, "<token>");
    }
    StringBuilder out = new StringBuilder(Math.min(text.length(), MAX_LINE_CHARS));
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      out.append(
          c != '\t' && (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') ? '?' : c);
    }
    if (out.length() > MAX_LINE_CHARS || (cut && out.length() == MAX_LINE_CHARS)) {
      out.setLength(MAX_LINE_CHARS - 1);
      if (Character.isHighSurrogate(out.charAt(out.length() - 1))) {
        out.setLength(out.length() - 1);
      }
      out.append('…');
    } else if (cut) {
      out.append('…');
    }
    return out.toString();
  }
}
