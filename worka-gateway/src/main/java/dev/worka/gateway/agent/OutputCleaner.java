package dev.worka.gateway.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.text.Normalizer;
import java.util.Map;

/**
 * Cleans untrusted output before it is stored or delivered: strings are NFC-normalized and
 * stripped of control characters (newline and tab kept) and Unicode format characters (zero-width
 * and bidirectional overrides, which can hide text). Returns what it changed so callers can
 * record it. Secret redaction and broadcast-mention neutralization belong here too (they arrive
 * with the policy-layer work; see docs/security-model.md).
 */
final class OutputCleaner {
  /** The cleaned value and how many strings were changed. */
  record Cleaned(JsonNode value, int changedStrings) {}

  Cleaned clean(JsonNode node) {
    int[] changed = new int[1];
    JsonNode value = node == null ? null : walk(node, changed);
    return new Cleaned(value, changed[0]);
  }

  String cleanText(String s) {
    return s == null ? null : text(s);
  }

  private JsonNode walk(JsonNode node, int[] changed) {
    if (node.isTextual()) {
      String cleaned = text(node.asText());
      if (!cleaned.equals(node.asText())) {
        changed[0]++;
      }
      return TextNode.valueOf(cleaned);
    }
    if (node.isObject()) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      for (Map.Entry<String, JsonNode> e : node.properties()) {
        String key = text(e.getKey());
        if (!key.equals(e.getKey())) {
          changed[0]++;
        }
        out.set(key, walk(e.getValue(), changed));
      }
      return out;
    }
    if (node.isArray()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      node.forEach(n -> out.add(walk(n, changed)));
      return out;
    }
    return node;
  }

  static String text(String s) {
    String n = Normalizer.normalize(s, Normalizer.Form.NFC);
    StringBuilder b = new StringBuilder(n.length());
    n.codePoints()
        .filter(cp -> cp == '\n' || cp == '\t' || !(Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT))
        .forEach(b::appendCodePoint);
    return b.toString();
  }
}
