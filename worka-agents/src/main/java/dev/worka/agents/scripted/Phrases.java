package dev.worka.agents.scripted;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The phrasings the scripted model understands, and the reader that turns text into an {@link
 * Intent}. Matching ignores case, reads curly quotes as straight ones, and tolerates trailing
 * punctuation, a leading Slack or {@code @worka} mention and a leading "please". Free text (a
 * title, a body, a comment) is taken from the original text, unchanged apart from the quotes around
 * it.
 *
 * <p>Requests (what people type; {@link #REQUEST_FORMS}) and objectives (what the planner writes
 * for workers) share one grammar, so a worker reads back exactly what the planner wrote.
 */
final class Phrases {

  /** The request forms, as the README and the scripted model's own answers list them. */
  static final String REQUEST_FORMS =
      "\"open an issue in OWNER/REPO titled TITLE\" (optionally \"with body BODY\" or \"saying"
          + " BODY\"); \"comment on OWNER/REPO#NUMBER: TEXT\"; \"summarize this thread\";"
          + " \"summarize this thread and file it as an issue in OWNER/REPO\" (optionally \"titled"
          + " TITLE\"); \"delete the repository OWNER/REPO\"";

  /** The objective forms workers understand: the ones the planner writes. */
  static final String OBJECTIVE_FORMS =
      "\"Open an issue in OWNER/REPO titled 'TITLE'\" (optionally \"with body BODY\" or \"with the"
          + " summary of step REF\"); \"Comment on OWNER/REPO#NUMBER: TEXT\"; \"Delete the"
          + " repository OWNER/REPO\"; \"Summarize this thread\"; \"Answer: QUESTION\"";

  private static final int FLAGS = Pattern.CASE_INSENSITIVE | Pattern.DOTALL;

  private static final String REPO_BARE =
      "(?<owner>[a-z0-9][a-z0-9-]*)/(?<repo>[a-z0-9_.-]*[a-z0-9_-])";
  private static final String REPO = "[\"'`]?" + REPO_BARE + "[\"'`]?";
  private static final String END = "[\\s.,;:!?]*";
  private static final String THREAD = "summari[sz]e\\s+(?:this|the)\\s+(?:slack\\s+)?thread";

  private static final Pattern LEADING =
      Pattern.compile(
          "\\s*(?:<@[a-z0-9]+(?:\\|[^>]*)?>|@[a-z0-9_-]+)?[\\s,:]*(?:please[\\s,]+)?", FLAGS);
  private static final Pattern OPEN_ISSUE =
      Pattern.compile(
          "(?:open|create|file)\\s+(?:a\\s+new\\s+|an?\\s+|new\\s+)?(?:github\\s+)?issue"
              + "\\s+(?:in|on|for)\\s+"
              + REPO
              + "(?<tail>.*)",
          FLAGS);
  private static final Pattern COMMENT =
      Pattern.compile(
          "(?:add\\s+a\\s+)?comment\\s+(?:on|to)\\s+"
              + REPO_BARE
              + "#(?<number>[1-9][0-9]{0,8})(?:\\s*[:,]|\\s+saying\\s*:?)\\s*(?<text>\\S.*)",
          FLAGS);
  private static final Pattern SUMMARIZE = Pattern.compile(THREAD + END, FLAGS);
  private static final Pattern SUMMARIZE_INTO_ISSUE =
      Pattern.compile(
          THREAD
              + "\\s*,?\\s+and\\s+(?:file|open|create)\\s+(?:it|this|that|the\\s+summary)\\s+as"
              + "\\s+(?:an?\\s+)?(?:new\\s+)?(?:github\\s+)?issue\\s+(?:in|on)\\s+"
              + REPO
              + "(?<tail>.*)",
          FLAGS);
  private static final Pattern DELETE_REPOSITORY =
      Pattern.compile(
          "delete\\s+(?:the\\s+)?(?:github\\s+)?(?:repository|repo)\\s+" + REPO + END, FLAGS);
  private static final Pattern ANSWER = Pattern.compile("answer\\s*:\\s*(?<question>.*)", FLAGS);

  private static final Pattern TITLED =
      Pattern.compile(
          "\\s*,?\\s+(?:titled|called|named|with\\s+(?:the\\s+)?title)\\s*:?\\s+(?<title>.+)",
          FLAGS);
  private static final String BODY =
      "\\s*,?\\s+(?:(?:with\\s+(?:the\\s+)?body|saying)\\s*:?\\s+(?<body>\\S.*)"
          + "|with\\s+the\\s+summary\\s+of\\s+(?:step\\s+)?(?<ref>[a-z][a-z0-9_-]{0,63}))";
  private static final Pattern QUOTED_TITLE =
      Pattern.compile("(?<q>[\"'])(?<title>.+?)\\k<q>(?:" + BODY + ")?" + END, FLAGS);
  private static final Pattern UNQUOTED_TITLE =
      Pattern.compile("(?<title>.+?)(?:" + BODY + ")?[\\s.,;:]*", FLAGS);

  private Phrases() {}

  /** Reads {@code text} (a request or an objective); never null, never throws. */
  static Intent read(String text) {
    Text all = Text.of(text == null ? "" : text.strip());
    Matcher leading = LEADING.matcher(all.normalized);
    Text t = leading.lookingAt() ? all.from(leading.end()) : all;

    Matcher m;
    if ((m = t.match(OPEN_ISSUE)) != null) {
      Title title = readTitle(t.group(m, "tail"));
      if (title != null) {
        return new Intent.OpenIssue(
            t.group(m, "owner"), t.group(m, "repo"), title.title, title.body, title.bodyFromStep);
      }
    } else if ((m = t.match(COMMENT)) != null) {
      return new Intent.CommentOnIssue(
          t.group(m, "owner"),
          t.group(m, "repo"),
          Integer.parseInt(t.group(m, "number")),
          unquote(t.group(m, "text").strip()));
    } else if (t.match(SUMMARIZE) != null) {
      return new Intent.SummarizeThread();
    } else if ((m = t.match(SUMMARIZE_INTO_ISSUE)) != null) {
      String tail = t.group(m, "tail");
      String title = null;
      if (!tail.matches(END)) {
        Title titled = readTitle(tail);
        if (titled == null || titled.body != null || titled.bodyFromStep != null) {
          return new Intent.Unrecognized(all.original);
        }
        title = titled.title;
      }
      return new Intent.SummarizeThreadIntoIssue(t.group(m, "owner"), t.group(m, "repo"), title);
    } else if ((m = t.match(DELETE_REPOSITORY)) != null) {
      return new Intent.DeleteRepository(t.group(m, "owner"), t.group(m, "repo"));
    } else if ((m = t.match(ANSWER)) != null) {
      return new Intent.Answer(t.group(m, "question").strip());
    }
    return new Intent.Unrecognized(all.original);
  }

  /** How the planner quotes a title in an objective: with a quote the title does not contain. */
  static String quote(String title) {
    return title.indexOf('\'') < 0 || title.indexOf('"') >= 0
        ? "'" + title + "'"
        : "\"" + title + "\"";
  }

  private record Title(String title, String body, String bodyFromStep) {}

  /** Reads ", titled TITLE [with body BODY | saying BODY | with the summary of step REF]". */
  private static Title readTitle(String tail) {
    Text t = Text.of(tail);
    Matcher titled = t.match(TITLED);
    if (titled == null) {
      return null;
    }
    Text rest = t.from(titled.start("title"));
    Matcher m = rest.match(QUOTED_TITLE);
    if (m == null) {
      m = rest.match(UNQUOTED_TITLE);
    }
    if (m == null) {
      return null;
    }
    String title = rest.group(m, "title").strip();
    String body = rest.group(m, "body");
    String ref = rest.group(m, "ref");
    if (title.isEmpty()) {
      return null;
    }
    return new Title(
        title,
        body == null ? null : unquote(body.strip()),
        ref == null ? null : ref.toLowerCase(Locale.ROOT));
  }

  /** {@code text} without one pair of surrounding quotes (straight or curly), if it has them. */
  static String unquote(String text) {
    if (text.length() >= 2) {
      char first = Text.straighten(text.charAt(0));
      char last = Text.straighten(text.charAt(text.length() - 1));
      if ((first == '"' || first == '\'') && first == last) {
        String inner = text.substring(1, text.length() - 1).strip();
        if (!inner.isEmpty()) {
          return inner;
        }
      }
    }
    return text;
  }

  /**
   * Text as typed and the same text with curly quotes and non-breaking spaces made plain, char for
   * char, so a match on the plain text cuts the same span out of the original.
   */
  private record Text(String original, String normalized) {
    static Text of(String original) {
      char[] chars = original.toCharArray();
      for (int i = 0; i < chars.length; i++) {
        chars[i] = straighten(chars[i]);
      }
      return new Text(original, new String(chars));
    }

    static char straighten(char c) {
      return switch (c) {
        case '\u201C', '\u201D', '\u201E', '\u201F', '\u00AB', '\u00BB' -> '"';
        case '\u2018', '\u2019', '\u201A', '\u201B' -> '\'';
        case '\u00A0', '\u2007', '\u202F' -> ' ';
        default -> c;
      };
    }

    Text from(int index) {
      return new Text(original.substring(index), normalized.substring(index));
    }

    /** The matcher if the whole text matches, else null. */
    Matcher match(Pattern pattern) {
      Matcher m = pattern.matcher(normalized);
      return m.matches() ? m : null;
    }

    /** The original text of a named group, or null if it did not take part. */
    String group(Matcher m, String name) {
      int start = m.start(name);
      return start < 0 ? null : original.substring(start, m.end(name));
    }
  }
}
