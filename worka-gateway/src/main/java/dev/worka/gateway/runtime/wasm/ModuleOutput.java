package dev.worka.gateway.runtime.wasm;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;

/**
 * What a module writes: its stdout kept whole (it is the step's result) and, of stdout and stderr
 * together, the last lines for burn diagnostics — each stream held to {@code capBytes}; a write
 * past it stops the module ({@link LimitExceeded} {@code output}). Lines are cleaned as the process
 * runtime cleans them: control characters other than tab become {@code ?}, and the step's own
 * token, should the module print it, becomes {@code <token>}.
 */
final class ModuleOutput {
  static final int MAX_LINES = 40;
  static final int MAX_LINE_CHARS = 500;

  private final String token;
  private final long capBytes;
  private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
  private final ArrayDeque<String> lines = new ArrayDeque<>(MAX_LINES);
  final OutputStream out;
  final OutputStream err;

  ModuleOutput(String token, long capBytes) {
    this.token = token;
    this.capBytes = capBytes;
    this.out = new Stream("stdout", true);
    this.err = new Stream("stderr", false);
  }

  /** Everything the module wrote to stdout. */
  synchronized byte[] stdout() {
    return stdout.toByteArray();
  }

  /** The last lines written (a partial last line of either stream included). */
  synchronized List<String> lastLines() {
    List<String> all = new java.util.ArrayList<>(lines);
    for (OutputStream s : List.of(out, err)) {
      String partial = ((Stream) s).partial();
      if (!partial.isEmpty()) {
        all.add(partial);
      }
    }
    return List.copyOf(all.subList(Math.max(0, all.size() - MAX_LINES), all.size()));
  }

  /** Adds a line of the runtime's own (why the module ended). */
  synchronized void note(String line) {
    add(line);
  }

  private void add(String line) {
    if (lines.size() == MAX_LINES) {
      lines.removeFirst();
    }
    lines.addLast(line);
  }

  private String clean(byte[] bytes, int length) {
    String text = new String(bytes, 0, length, StandardCharsets.UTF_8);
    if (text.length() > MAX_LINE_CHARS) {
      text = text.substring(0, MAX_LINE_CHARS) + "…";
    }
    StringBuilder cleaned = new StringBuilder(text.length());
    text.codePoints()
        .forEach(c -> cleaned.appendCodePoint(Character.isISOControl(c) && c != '\t' ? '?' : c));
    return token.isEmpty() ? cleaned.toString() : cleaned.toString().replace(token, "<token>");
  }

  private final class Stream extends OutputStream {
    private final String name;
    private final boolean keep;
    private final byte[] line = new byte[MAX_LINE_CHARS * 4];
    private int length;
    private long written;

    Stream(String name, boolean keep) {
      this.name = name;
      this.keep = keep;
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      synchronized (ModuleOutput.this) {
        if (written + len > capBytes) {
          throw new LimitExceeded(
              "output",
              "the module wrote more than " + capBytes + " bytes to " + name + ", its limit");
        }
        written += len;
        if (keep) {
          stdout.write(b, off, len);
        }
        for (int i = off; i < off + len; i++) {
          if (b[i] == '\n') {
            add(clean(line, length));
            length = 0;
          } else if (length < line.length) {
            line[length++] = b[i];
          }
        }
      }
    }

    String partial() {
      return length == 0 ? "" : clean(line, length);
    }
  }
}
