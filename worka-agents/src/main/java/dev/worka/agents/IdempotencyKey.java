package dev.worka.agents;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.StepEnvelope;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The idempotency key of a skill call: the step id and a hash of the skill and its input (object
 * keys sorted). The same call from the same step gets the same key in every attempt, so when an
 * attempt dies after a side effect and the next one asks again, the Gateway replays the recorded
 * output instead of acting twice; a retried HTTP request is safe for the same reason.
 */
final class IdempotencyKey {
  private IdempotencyKey() {}

  static String of(StepEnvelope step, String skill, JsonNode input) {
    String scope =
        step.stepId() != null ? step.stepId() : step.runId() != null ? step.runId() : "step";
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    sha256.update((skill + "\n" + canonical(input)).getBytes(StandardCharsets.UTF_8));
    return scope + ":" + HexFormat.of().formatHex(sha256.digest(), 0, 16);
  }

  /** The JSON text of {@code node} with every object's keys in sorted order. */
  static String canonical(JsonNode node) {
    return sorted(node).toString();
  }

  private static JsonNode sorted(JsonNode node) {
    if (node == null) {
      return JsonNodeFactory.instance.nullNode();
    }
    if (node.isObject()) {
      Map<String, JsonNode> fields = new TreeMap<>();
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        fields.put(field.getKey(), sorted(field.getValue()));
      }
      ObjectNode copy = JsonNodeFactory.instance.objectNode();
      fields.forEach(copy::set);
      return copy;
    }
    if (node.isArray()) {
      ArrayNode copy = JsonNodeFactory.instance.arrayNode();
      node.forEach(element -> copy.add(sorted(element)));
      return copy;
    }
    return node;
  }
}
