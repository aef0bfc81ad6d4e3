package dev.worka.gateway.skill.slack;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Makes text safe to post to Slack (Worka's answers and {@code slack.post_message}): after {@link
 * #inert} no part of it is Slack markup, so it notifies nobody and disguises no link, and it stays
 * readable. Posted with {@code parse=none} and {@code link_names=false}, so Slack itself adds no
 * markup to it either.
 *
 * <ol>
 *   <li>broadcasts ({@code <!channel>}, {@code <!here>}, {@code <!everyone>}, {@code <!group>}) and
 *       user-group mentions ({@code <!subteam^S…|@devs>}) become plain {@code @\u200bchannel},
 *       {@code @\u200bdevs} (a zero-width space after the at sign: it reads as it did);
 *   <li>{@code &}, {@code <} and {@code >} are escaped as Slack's formatting reference asks (<code>
 *       &amp;amp; &amp;lt; &amp;gt;</code>): every other {@code <…>} — user mentions {@code
 *       <@U…>}/{@code <@W…>}, channel links {@code <#C…>}, {@code <url|label>} links whose label
 *       hides the URL, dates — is shown as the text it is, its URL visible;
 *   <li>bare {@code @channel}, {@code @here}, {@code @everyone} get the zero-width space too (they
 *       are no broadcast with {@code link_names=false}; this holds if a client parses them anyway).
 * </ol>
 *
 * <p>Apply it once, to the text as written (escaping is not idempotent: <code>&amp;amp;</code> is
 * escaped again).
 */
public final class SlackText {
  private static final Pattern BROADCAST =
      Pattern.compile("<!(channel|here|everyone|group)(?:\\|[^>]*)?>", Pattern.CASE_INSENSITIVE);
  private static final Pattern GROUP_MENTION =
      Pattern.compile("<!subteam\\^[^>|]*(?:\\|@?([^>]*))?>");
  private static final Pattern BARE_BROADCAST =
      Pattern.compile("@(?=(?:channel|here|everyone)\\b)", Pattern.CASE_INSENSITIVE);

  private SlackText() {}

  /** {@code text} with nothing left that Slack would read as markup. */
  public static String inert(String text) {
    if (text == null) {
      return null;
    }
    String t =
        BROADCAST
            .matcher(text)
            .replaceAll(m -> "@\u200b" + m.group(1).toLowerCase(java.util.Locale.ROOT));
    t =
        GROUP_MENTION
            .matcher(t)
            .replaceAll(
                m ->
                    Matcher.quoteReplacement(
                        "@\u200b"
                            + (m.group(1) == null || m.group(1).isBlank() ? "group" : m.group(1))));
    t = escape(t);
    return BARE_BROADCAST.matcher(t).replaceAll("@\u200b");
  }

  /** Slack's escaping of the three characters that make markup: {@code & < >}. */
  static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
