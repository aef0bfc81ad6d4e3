package dev.worka.gateway.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.Writer;

/**
 * What the CLI prints is partly written by others: a run's text comes from whoever asked (a Slack
 * or GitHub stranger), summaries, outputs and errors from agents and upstreams. Printed raw, an
 * {@code ESC} sequence in it could rewrite the operator's terminal (clear it, move the cursor over
 * earlier lines, set the window title, plant an OSC 8 link, or on some terminals answer queries
 * into the input), and a bidi control could make text read differently from what it is.
 *
 * <p>So every character the CLI writes goes through {@link #escape}: C0 controls other than line
 * feed and tab, DEL, the C1 controls (which some terminals also obey: {@code U+009B} is CSI) and
 * the invisible bidi and formatting characters are shown as {@code \x1b} / {@code \u202e}; all
 * other text is unchanged. {@link #oneLine} also turns the line breaks of a value printed on one
 * line into spaces, so outside text cannot forge lines of the CLI's own.
 */
final class TerminalText {
  private TerminalText() {}

  /** {@code text} with every control character shown as an escape (line feeds and tabs kept). */
  static String escape(String text) {
    if (text == null) {
      return null;
    }
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (isUnsafe(c)) {
        if (out == null) {
          out = new StringBuilder(text.length() + 16).append(text, 0, i);
        }
        out.append(shown(c));
      } else if (out != null) {
        out.append(c);
      }
    }
    return out == null ? text : out.toString();
  }

  /** {@code text} for a one-line slot: line breaks (CR, LF and Unicode's) become spaces. */
  static String oneLine(String text) {
    if (text == null) {
      return null;
    }
    return text.replace("\r\n", " ")
        .replace('\n', ' ')
        .replace('\r', ' ')
        .replace('\u2028', ' ')
        .replace('\u2029', ' ')
        .replace('\u0085', ' ');
  }

  static boolean isUnsafe(char c) {
    return (c < 0x20 && c != '\n' && c != '\t')
        || (c >= 0x7f && c <= 0x9f)
        || c == '\u061c' // Arabic letter mark
        || (c >= '\u200b' && c <= '\u200f') // zero-width characters, LRM, RLM
        || (c >= '\u2028' && c <= '\u202e') // line/paragraph separators, LRE…RLO
        || (c >= '\u2060' && c <= '\u2069') // word joiner, invisible operators, LRI…PDI
        || c == '\ufeff';
  }

  private static String shown(char c) {
    return c <= 0xff ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c);
  }

  /** A writer that escapes everything written through it. */
  static final class Escaping extends FilterWriter {
    Escaping(Writer out) {
      super(out);
    }

    @Override
    public void write(int c) throws IOException {
      if (isUnsafe((char) c)) {
        out.write(shown((char) c));
      } else {
        out.write(c);
      }
    }

    @Override
    public void write(char[] buffer, int offset, int length) throws IOException {
      write(new String(buffer, offset, length), 0, length);
    }

    @Override
    public void write(String text, int offset, int length) throws IOException {
      String escaped = escape(text.substring(offset, offset + length));
      out.write(escaped, 0, escaped.length());
    }
  }
}
