package dev.worka.gateway.plan;

import java.text.Normalizer;

/**
 * How free text of a plan (summary, objective) is normalized before it is checked, hashed and
 * stored: unpaired surrogates become U+FFFD, control characters are removed (newline and tab are
 * kept where {@code multiline}), as are the bidirectional embedding, override and isolate controls
 * (U+202A–U+202E, U+2066–U+2069) that make text display differently from how it reads; then Unicode
 * NFC, then trimmed. Applying it twice gives the same text.
 */
final class PlanText {

  static String normalize(String raw, boolean multiline) {
    StringBuilder out = new StringBuilder(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < raw.length()
          && Character.isLowSurrogate(raw.charAt(i + 1))) {
        out.append(c).append(raw.charAt(++i));
      } else if (Character.isSurrogate(c)) {
        out.append('\uFFFD');
      } else if (multiline && (c == '\n' || c == '\t')) {
        out.append(c);
      } else if (!Character.isISOControl(c) && !isBidiControl(c)) {
        out.append(c);
      }
    }
    return Normalizer.normalize(out, Normalizer.Form.NFC).strip();
  }

  static boolean isBidiControl(char c) {
    return (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069');
  }

  /** UTF-8 length of {@code text}, counting no further than {@code limit + 1}. */
  static long utf8Length(String text, long limit) {
    long bytes = 0;
    for (int i = 0; i < text.length() && bytes <= limit; i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  private PlanText() {}
}
