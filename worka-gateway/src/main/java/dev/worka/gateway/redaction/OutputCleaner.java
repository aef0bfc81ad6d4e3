package dev.worka.gateway.redaction;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.text.Normalizer;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Cleans untrusted output before it is stored or delivered (DESIGN §2.6). Every string, and every
 * object key, goes through these steps, in this order:
 *
 * <ol>
 *   <li>control characters (newline and tab kept) and Unicode format characters (zero-width and
 *       bidirectional overrides, which can hide text) are removed, then the text is NFC-normalized;
 *   <li>Slack broadcast mentions are neutralized: {@code <!channel>}, {@code <!here>}, {@code
 *       <!everyone>}, {@code <!subteam^…>} and {@code @channel}/{@code @here}/{@code @everyone}
 *       wherever they appear become {@code ＠channel} etc. (a full-width at sign: readable, notifies
 *       nobody), repeated until none is left; the text is NFC-normalized again (removing a closing
 *       {@code >} can bring a letter and a combining mark together);
 *   <li>secrets are redacted ({@link Redactor}): the Gateway's own configured credentials wherever
 *       they appear, and tokens of the formats it knows (Slack, GitHub, Anthropic/OpenAI keys, AWS
 *       access keys, JWTs — worker tokens included —, operator tokens and PEM private keys), also
 *       when glued to other characters, each replaced by {@code [redacted]}.
 * </ol>
 *
 * <p>Redaction runs last, so nothing after it can join text into a secret (neutralizing a mention
 * removes characters; an earlier order let a rewritten mention complete a configured secret). And
 * redaction cannot complete a mention: its replacement holds no markup character, a bare broadcast
 * is neutralized wherever it stands (not only after a non-word character, which a replacement could
 * change), and after the neutralization no {@code <!…} is followed by the {@code >} that would
 * close it, which removing text cannot add. So the result holds no secret, no known-format token
 * and no broadcast, and cleaning it again changes nothing ({@code OutputCleanerFuzzTest}).
 *
 * <p>It reports what it changed, by kind, so the step or invocation can record it.
 */
public final class OutputCleaner {
  static final String REDACTED = Redactor.REDACTED;

  private static final Pattern SLACK_BROADCAST =
      Pattern.compile("<!(channel|here|everyone)(?:\\|[^>]*)?>");
  private static final Pattern SLACK_GROUP = Pattern.compile("<!subteam\\^[^>|]*(?:\\|([^>]*))?>");
  private static final Pattern BARE_BROADCAST = Pattern.compile("@(channel|here|everyone)");
  private static final Pattern URL = Pattern.compile("(?i)\\b[a-z][a-z0-9+.-]*://\\S+");
  private static final Pattern REQUEST_ID = Pattern.compile("\\breq_[A-Za-z0-9_-]+");

  private final Redactor redactor;

  /**
   * @param secrets the Gateway's configured credentials; each is redacted wherever it appears
   */
  public OutputCleaner(Collection<String> secrets) {
    this.redactor = new Redactor(secrets);
  }

  /** The cleaned value and what was changed, by kind (e.g. {@code "secrets": 1}). */
  public record Cleaned(JsonNode value, Map<String, Integer> changes) {
    boolean changed() {
      return !changes.isEmpty();
    }
  }

  public Cleaned clean(JsonNode node) {
    Map<String, Integer> changes = new LinkedHashMap<>();
    JsonNode value = node == null ? null : walk(node, changes);
    return new Cleaned(value, Map.copyOf(changes));
  }

  /**
   * An upstream's own words about a failure (a provider's error message, a tool's error text) made
   * safe to show a worker and keep on the record, for every provider alike: cleaned like any output
   * (secrets, token formats, mentions, invisible characters), every URL (which may carry
   * credentials or name internal hosts) and provider request id replaced, one line, at most {@code
   * max} characters.
   */
  public String upstreamReason(String said, int max) {
    if (said == null) {
      return "";
    }
    String text = cleanText(said, new java.util.HashMap<>());
    text = URL.matcher(text).replaceAll("[url]");
    text = REQUEST_ID.matcher(text).replaceAll("[request id]");
    text = text.replaceAll("\\s+", " ").strip();
    return text.length() > max ? text.substring(0, max) + "…" : text;
  }

  /** Cleans one text; counts into {@code changes}. */
  public String cleanText(String s, Map<String, Integer> changes) {
    if (s == null) {
      return null;
    }
    String visible = visible(s);
    if (!visible.equals(s)) {
      changes.merge("invisible_characters", 1, Integer::sum);
    }
    String quiet = neutralize(visible);
    if (!quiet.equals(visible)) {
      changes.merge("broadcast_mentions", 1, Integer::sum);
      quiet = Normalizer.normalize(quiet, Normalizer.Form.NFC);
    }
    String out = redactor.redact(quiet);
    if (!out.equals(quiet)) {
      changes.merge("secrets", 1, Integer::sum);
    }
    return out;
  }

  private JsonNode walk(JsonNode node, Map<String, Integer> changes) {
    if (node.isTextual()) {
      return TextNode.valueOf(cleanText(node.asText(), changes));
    }
    if (node.isObject()) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      for (Map.Entry<String, JsonNode> e : node.properties()) {
        String key = cleanText(e.getKey(), changes);
        while (out.has(key)) { // two keys that clean to the same text both survive
          key = key + "_";
        }
        out.set(key, walk(e.getValue(), changes));
      }
      return out;
    }
    if (node.isArray()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      node.forEach(n -> out.add(walk(n, changes)));
      return out;
    }
    return node;
  }

  /**
   * Neutralizes broadcast and group mentions until none is left: a replacement must not be able to
   * complete a new mention with the text around it, so labels keep only letters, digits and {@code
   * _.-}, and the passes repeat until nothing changes. A bare {@code @here} is neutralized wherever
   * it stands: were it only after a non-word character, redacting the word before it (into {@code
   * [redacted]}) could make it live.
   */
  static String neutralize(String s) {
    String out = s;
    for (int pass = 0; pass < 16; pass++) {
      String next = SLACK_BROADCAST.matcher(out).replaceAll("＠$1");
      next = SLACK_GROUP.matcher(next).replaceAll(m -> "＠" + groupLabel(m.group(1)));
      next = BARE_BROADCAST.matcher(next).replaceAll("＠$1");
      if (next.equals(out)) {
        return out;
      }
      out = next;
    }
    // Unreachable in practice (each pass removes a '<!' or '@' it matched); refuse to return a
    // possibly live mention.
    return out.replace("<!", "‹!").replace("@", "＠");
  }

  private static String groupLabel(String label) {
    String safe = label == null ? "" : label.replaceAll("[^\\p{L}\\p{N}_.-]", "");
    return safe.isEmpty() ? "group" : safe;
  }

  /**
   * Removes control and format characters, then NFC-normalizes — in that order: removing a
   * character can bring a base and a combining mark together, which only a normalization after it
   * composes (NFC itself never introduces a control or format character), so the result is stable.
   */
  static String visible(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints()
        .filter(
            cp ->
                cp == '\n'
                    || cp == '\t'
                    || !(Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT))
        .forEach(b::appendCodePoint);
    return Normalizer.normalize(b, Normalizer.Form.NFC);
  }
}
