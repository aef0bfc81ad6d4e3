package dev.worka.gateway.delivery;

import dev.worka.gateway.redaction.Redactor;
import dev.worka.gateway.run.Run;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The short reason a public answer (a Slack reply, a GitHub comment) gives for a run that was
 * refused, failed or was cancelled. A run's {@link Run#error} is written for operators: it can hold
 * what an upstream answered (an error body, a URL with credentials), a stack trace, SQL, the ids of
 * steps and invocations, paths on the Gateway's host. The requester — and everyone else who can
 * read the thread or the issue — gets only the start of it, cleaned:
 *
 * <ol>
 *   <li>secrets are redacted ({@link Redactor}: the Gateway's credentials and known token formats),
 *       first and again after the steps below (removing characters can join text into one);
 *   <li>only the first line is kept, without control and format characters, and it is cut where an
 *       upstream body ({@code {…}}, an HTML or XML document), a stack frame ({@code at a.b.C.m(…)},
 *       {@code Caused by:}), an exception class ({@code java.io.IOException}, {@code
 *       PSQLException:}) or SQL ({@code select … from}, {@code insert into}, {@code ERROR:}, {@code
 *       SQLSTATE}, a violated constraint) begins;
 *   <li>a URL becomes its scheme and host ({@code https://api.github.com/…}): no user, password,
 *       port, path or query; {@code password=…}, {@code token: …}, {@code Bearer …} and the like
 *       lose their value;
 *   <li>every id (UUID) other than the run's own becomes {@code …}, and so does an absolute path;
 *   <li>it is cut to {@value #MAX_LENGTH} characters at a word boundary; what was cut off is marked
 *       with {@code …}.
 * </ol>
 *
 * <p>The whole error stays on the run for operators ({@code worka runs show RUN}).
 */
public final class PublicReason {
  /** The longest reason a public answer carries. */
  public static final int MAX_LENGTH = 300;

  /** Said when nothing of the reason can be shown. */
  static final String WITHHELD = "the reason is in the run's record for operators";

  private static final Pattern SEE_BURNS =
      Pattern.compile("\\s*— see the burns of run [0-9a-fA-F-]{36}");
  private static final Pattern CUT =
      Pattern.compile(
          String.join(
              "|",
              "\\{", // a JSON body
              "(?i:<(?:!doctype|html|head|body|\\?xml))", // an HTML or XML document
              "\\bat\\s+[\\w$]+(?:\\.[\\w$<>]+)+\\(", // a stack frame
              "\\bCaused by:",
              "\\b(?:[a-z][a-z0-9_]*\\.)+[A-Z][\\w$]*(?:Exception|Error|Throwable)\\b", // a
              // qualified
              // exception
              // class
              "\\b[A-Z][\\w$]*(?:Exception|Error|Throwable):", // an exception class with its
              // message
              "(?i:\\bselect\\s.{0,200}?\\sfrom\\s|\\binsert\\s+into\\s|\\bupdate\\s+\\S+\\s+set\\s|\\bdelete\\s+from\\s"
                  + "|\\bSQLSTATE\\b|\\bviolates\\s+\\S+(?:\\s+key)?\\s+constraint|\\brelation\\s+\")",
              "\\b(?:ERROR|FATAL|PANIC):\\s")); // PostgreSQL's message severities
  // Not anchored at a word boundary: a URL glued to a word is found too (its scheme is then
  // longer).
  private static final Pattern URL =
      Pattern.compile("[A-Za-z][A-Za-z0-9+.-]{0,20}://[^\\s\"'<>`]+");
  private static final Pattern KEY_VALUE =
      Pattern.compile(
          "(?i)\\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|authorization|cookie)(\\s*[=:]\\s*)(?!\\[redacted\\]|(?:bearer|basic)\\s)[^\\s,;&]+");
  private static final Pattern BEARER =
      Pattern.compile("(?i)\\b(bearer|basic)\\s+(?!\\[redacted\\])[A-Za-z0-9._~+/=-]{8,}");
  private static final Pattern ID =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  private static final Pattern PATH =
      Pattern.compile("(?<![\\w.:/~-])(?:~|/(?:[\\w.-]+/)*[\\w.-]+)/[\\w.-]+/?");
  private static final Pattern TRAILING = Pattern.compile("[\\s:;,(\\[{—–-]+$");

  private PublicReason() {}

  /** How a run that did not succeed ended, as an answer says it: "failed", "was refused", … */
  public static String ending(Run run) {
    return switch (run.status()) {
      case REJECTED -> "was refused";
      case CANCELLED -> "was cancelled";
      case FAILED -> "failed";
      default -> "ended " + run.status().sql();
    };
  }

  /** The public reason for {@code run}'s outcome, or null when the run recorded none. */
  public static String of(Run run, Redactor redactor) {
    return of(run.error(), run.id(), redactor);
  }

  static String of(String error, UUID runId, Redactor redactor) {
    if (error == null || error.isBlank()) {
      return null;
    }
    String t = SEE_BURNS.matcher(redactor.redact(error.strip())).replaceAll("");
    boolean cut = false;
    int newline = t.indexOf('\n');
    if (newline < 0) {
      newline = t.indexOf('\r');
    }
    if (newline >= 0) {
      t = t.substring(0, newline);
      cut = true;
    }
    t = visible(t);
    Matcher body = CUT.matcher(t);
    if (body.find()) {
      t = t.substring(0, body.start());
      cut = true;
    }
    t =
        URL.matcher(t)
            .replaceAll(
                m -> {
                  String url = m.group();
                  // One punctuation mark after a URL is the sentence's.
                  int end =
                      ".,:;!?)]}".indexOf(url.charAt(url.length() - 1)) >= 0
                          ? url.length() - 1
                          : url.length();
                  return Matcher.quoteReplacement(site(url.substring(0, end)) + url.substring(end));
                });
    t =
        BEARER
            .matcher(t)
            .replaceAll(m -> Matcher.quoteReplacement(m.group(1) + " " + Redactor.REDACTED));
    t =
        KEY_VALUE
            .matcher(t)
            .replaceAll(m -> Matcher.quoteReplacement(m.group(1) + m.group(2) + Redactor.REDACTED));
    String own = runId == null ? "" : runId.toString();
    t = ID.matcher(t).replaceAll(m -> m.group().equalsIgnoreCase(own) ? m.group() : "…");
    t = PATH.matcher(t).replaceAll("…");
    // Again, last: removing characters above can join what was apart into a secret.
    t = TRAILING.matcher(redactor.redact(t).strip()).replaceAll("");
    if (t.length() > MAX_LENGTH) {
      int space = t.lastIndexOf(' ', MAX_LENGTH);
      t =
          TRAILING
              .matcher(t.substring(0, space > MAX_LENGTH / 2 ? space : MAX_LENGTH))
              .replaceAll("");
      cut = true;
    }
    if (t.isBlank()) {
      return WITHHELD;
    }
    return cut ? t + " …" : t;
  }

  /** {@code text} without control and format characters (a tab becomes a space). */
  private static String visible(String text) {
    StringBuilder b = new StringBuilder(text.length());
    text.codePoints()
        .forEach(
            cp -> {
              if (cp == '\t') {
                b.append(' ');
              } else if (!Character.isISOControl(cp) && Character.getType(cp) != Character.FORMAT) {
                b.appendCodePoint(cp);
              }
            });
    return b.toString();
  }

  /**
   * Scheme and host of {@code url}, with {@code /…} when it had more: no credentials, port, path or
   * query.
   */
  private static String site(String url) {
    int scheme = url.indexOf("://");
    String rest = url.substring(scheme + 3);
    int authorityEnd = 0;
    while (authorityEnd < rest.length() && "/?#".indexOf(rest.charAt(authorityEnd)) < 0) {
      authorityEnd++;
    }
    String authority = rest.substring(0, authorityEnd);
    String host = authority.substring(authority.lastIndexOf('@') + 1);
    if (host.startsWith("[")) {
      host = "[…]"; // an IP literal: nothing a requester needs
    } else if (host.indexOf(':') >= 0) {
      host = host.substring(0, host.indexOf(':'));
    }
    String site = url.substring(0, scheme).toLowerCase(Locale.ROOT) + "://" + host;
    return rest.length() > authorityEnd + 1 ? site + "/…" : site;
  }
}
