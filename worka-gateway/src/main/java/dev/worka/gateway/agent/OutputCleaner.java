package dev.worka.gateway.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.text.Normalizer;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cleans untrusted output before it is stored or delivered (DESIGN §2.6). Every string, and every
 * object key, is:
 *
 * <ol>
 *   <li>NFC-normalized, stripped of control characters (newline and tab kept) and of Unicode format
 *       characters (zero-width and bidirectional overrides, which can hide text);
 *   <li>redacted of secrets: the Gateway's own configured credentials wherever they appear, and
 *       common token formats (Slack, GitHub, Anthropic/OpenAI keys, AWS access keys, JWTs — worker
 *       tokens included — and PEM private keys), each replaced by {@code [redacted]};
 *   <li>rid of Slack broadcast mentions: {@code <!channel>}, {@code <!here>}, {@code <!everyone>},
 *       {@code <!subteam^…>} and bare {@code @channel}/{@code @here}/{@code @everyone} become
 *       {@code ＠channel} etc. (a full-width at sign: readable, notifies nobody).
 * </ol>
 *
 * <p>It reports what it changed, by kind, so the step or invocation can record it.
 */
final class OutputCleaner {
  static final String REDACTED = "[redacted]";
  private static final int MIN_SECRET_LENGTH = 8;

  private static final List<Pattern> TOKEN_FORMATS = List.of(
      Pattern.compile("-----BEGIN [A-Z ]*PRIVATE KEY-----[\\s\\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
      Pattern.compile("\\bxox[abposre]-[A-Za-z0-9-]{10,}"),
      Pattern.compile("\\bxapp-[0-9]-[A-Za-z0-9-]{10,}"),
      Pattern.compile("\\bgh[pousr]_[A-Za-z0-9]{30,}"),
      Pattern.compile("\\bgithub_pat_[A-Za-z0-9_]{22,}"),
      Pattern.compile("\\bsk-ant-[A-Za-z0-9_-]{20,}"),
      Pattern.compile("\\bsk-[A-Za-z0-9_-]{32,}"),
      Pattern.compile("\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b"),
      Pattern.compile("\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}"),
      Pattern.compile("\\bwk_[A-Za-z0-9_-]{32,}"));
  private static final Pattern SLACK_BROADCAST = Pattern.compile("<!(channel|here|everyone)(?:\\|[^>]*)?>");
  private static final Pattern SLACK_GROUP = Pattern.compile("<!subteam\\^[^>|]*(?:\\|([^>]*))?>");
  private static final Pattern BARE_BROADCAST = Pattern.compile("(?<!\\w)@(channel|here|everyone)\\b");

  private final List<String> secrets;

  /** @param secrets the Gateway's configured credentials; each is redacted wherever it appears */
  OutputCleaner(Collection<String> secrets) {
    this.secrets = secrets.stream()
        .filter(s -> s != null && s.length() >= MIN_SECRET_LENGTH)
        .distinct()
        .sorted(Comparator.comparingInt(String::length).reversed())
        .toList();
  }

  /** The cleaned value and what was changed, by kind (e.g. {@code "secrets": 1}). */
  record Cleaned(JsonNode value, Map<String, Integer> changes) {
    boolean changed() {
      return !changes.isEmpty();
    }
  }

  Cleaned clean(JsonNode node) {
    Map<String, Integer> changes = new LinkedHashMap<>();
    JsonNode value = node == null ? null : walk(node, changes);
    return new Cleaned(value, Map.copyOf(changes));
  }

  /** Cleans one text; counts into {@code changes}. */
  String cleanText(String s, Map<String, Integer> changes) {
    if (s == null) {
      return null;
    }
    String visible = visible(s);
    if (!visible.equals(s)) {
      changes.merge("invisible_characters", 1, Integer::sum);
    }
    // Neutralizing a mention joins the text around it, and that can complete a secret; redacting
    // can join text too. So both run until neither changes anything (each pass only shrinks what
    // they match, so a few passes suffice).
    String out = visible;
    boolean redacted = false;
    boolean quieted = false;
    for (int pass = 0; pass < 8; pass++) {
      String quiet = neutralize(out);
      quieted |= !quiet.equals(out);
      String unsecret = redact(quiet);
      redacted |= !unsecret.equals(quiet);
      if (unsecret.equals(out)) {
        break;
      }
      out = unsecret;
    }
    if (redacted) {
      changes.merge("secrets", 1, Integer::sum);
    }
    if (quieted) {
      changes.merge("broadcast_mentions", 1, Integer::sum);
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

  private String redact(String s) {
    String out = s;
    for (String secret : secrets) {
      if (out.contains(secret)) {
        out = out.replace(secret, REDACTED);
      }
    }
    for (Pattern p : TOKEN_FORMATS) {
      Matcher m = p.matcher(out);
      if (m.find()) {
        out = m.replaceAll(REDACTED);
      }
    }
    return out;
  }

  /**
   * Neutralizes broadcast and group mentions until none is left: a replacement must not be able to
   * complete a new mention with the text around it, so labels keep only letters, digits and
   * {@code _.-}, and the passes repeat until nothing changes.
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
        .filter(cp -> cp == '\n' || cp == '\t' || !(Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT))
        .forEach(b::appendCodePoint);
    return Normalizer.normalize(b, Normalizer.Form.NFC);
  }
}
