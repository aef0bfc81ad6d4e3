package dev.worka.gateway.redaction;

import java.text.Normalizer;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Replaces secrets in text by {@value #REDACTED}: every configured credential (at least {@value
 * #MIN_SECRET_LENGTH} characters) wherever it appears, and every token of a {@linkplain
 * #TOKEN_FORMATS known format} — also when it is glued to other characters ({@code abcxoxb-…},
 * {@code token=ghp_…}, {@code "sk-ant-…"}, inside a URL): the formats are not anchored at a word
 * boundary, so a token is found wherever its prefix starts (a few more false positives, never a
 * token let through because of what precedes it).
 *
 * <p>{@link #redact} repeats until nothing is found: replacing one secret joins the text around it,
 * and a configured secret that overlaps {@value #REDACTED} could be completed by it. Text that does
 * not settle within a few passes is replaced whole. So what it returns never holds a configured
 * secret or a known-format token, and redacting it again changes nothing. The replacement holds no
 * markup character ({@code < > & @ ! | ^}), so redacting cannot complete a mention either.
 */
public final class Redactor {
  /** What a secret is replaced by. */
  public static final String REDACTED = "[redacted]";

  /**
   * Configured values shorter than this are not treated as secrets (they would redact ordinary
   * words).
   */
  public static final int MIN_SECRET_LENGTH = 8;

  private static final int MAX_PASSES = 8;

  /**
   * The token formats found in any text, none anchored at a word boundary. A PEM private key is
   * redacted to its {@code END} line, or to the end of the text when it has none (a cut key still
   * holds key material).
   */
  static final List<Pattern> TOKEN_FORMATS =
      List.of(
          Pattern.compile(
              "-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----(?:[\\s\\S]*?-----END [A-Z ]{0,40}PRIVATE KEY-----|[\\s\\S]*)"),
          Pattern.compile("xox[abposre]-[A-Za-z0-9-]{10,}"),
          Pattern.compile("xapp-[0-9]-[A-Za-z0-9-]{10,}"),
          Pattern.compile("gh[pousr]_[A-Za-z0-9]{30,}"),
          Pattern.compile("github_pat_[A-Za-z0-9_]{22,}"),
          Pattern.compile("sk-ant-[A-Za-z0-9_-]{20,}"),
          Pattern.compile("sk-[A-Za-z0-9_-]{32,}"),
          Pattern.compile("(?:AKIA|ASIA)[0-9A-Z]{16}"),
          Pattern.compile("eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}"),
          Pattern.compile("wk_[A-Za-z0-9_-]{32,}"));

  private static final Redactor TOKENS_ONLY = new Redactor(List.of());

  private final List<String> secrets;

  /**
   * @param secrets the Gateway's configured credentials; each (and its NFC form) is redacted
   *     wherever it appears. Values shorter than {@value #MIN_SECRET_LENGTH} characters, and values
   *     that are part of {@value #REDACTED} itself, are ignored.
   */
  public Redactor(Collection<String> secrets) {
    this.secrets =
        secrets.stream()
            .filter(Objects::nonNull)
            .flatMap(s -> Stream.of(s, Normalizer.normalize(s, Normalizer.Form.NFC)))
            .filter(s -> s.length() >= MIN_SECRET_LENGTH && !REDACTED.contains(s))
            .distinct()
            .sorted(Comparator.comparingInt(String::length).reversed())
            .toList();
  }

  /** A redactor of the known token formats only (no configured credentials). */
  static Redactor tokenFormats() {
    return TOKENS_ONLY;
  }

  /**
   * {@code text} with every configured secret and known-format token replaced, until none is left.
   */
  public String redact(String text) {
    if (text == null) {
      return null;
    }
    String out = text;
    for (int pass = 0; pass < MAX_PASSES; pass++) {
      String next = once(out);
      if (next.equals(out)) {
        return out;
      }
      out = next;
    }
    return REDACTED; // did not settle: keep nothing of it
  }

  /** Whether {@code text} holds a configured secret or a token of a known format. */
  boolean holdsSecret(String text) {
    return text != null && (secrets.stream().anyMatch(text::contains) || holdsToken(text));
  }

  /** Whether {@code text} holds a token of a known format. */
  public static boolean holdsToken(String text) {
    return text != null && TOKEN_FORMATS.stream().anyMatch(p -> p.matcher(text).find());
  }

  private String once(String text) {
    String out = text;
    for (String secret : secrets) {
      if (out.contains(secret)) {
        out = out.replace(secret, REDACTED);
      }
    }
    for (Pattern p : TOKEN_FORMATS) {
      Matcher m = p.matcher(out);
      if (m.find()) {
        out = m.replaceAll(Matcher.quoteReplacement(REDACTED));
      }
    }
    return out;
  }
}
