package dev.worka.gateway.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.NullValue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A skill's JSON input as the values CEL evaluates: objects become maps, arrays lists, integers
 * {@code long} (an integer beyond 64 bits becomes a {@code double}, as JSON readers commonly do),
 * other numbers {@code double}, strings and booleans themselves, and {@code null} CEL's null. Maps
 * and lists are unmodifiable: a program is shared by every call, its inputs never are.
 */
final class CelValues {
  /**
   * Deeper input is refused (a deny), so neither this conversion nor CEL's equality can recurse
   * without bound.
   */
  static final int MAX_DEPTH = 64;

  /** Thrown for input that has no CEL value; its message becomes the deny reason. */
  static final class NotConvertible extends Exception {
    private static final long serialVersionUID = 1L;

    NotConvertible(String message) {
      super(message, null, false, false);
    }
  }

  static Map<String, Object> object(ObjectNode node) throws NotConvertible {
    return object(node, 0);
  }

  private static Map<String, Object> object(ObjectNode node, int depth) throws NotConvertible {
    Map<String, Object> out = HashMap.newHashMap(node.size());
    for (Map.Entry<String, JsonNode> field : node.properties()) {
      out.put(field.getKey(), value(field.getValue(), depth + 1));
    }
    return Collections.unmodifiableMap(out);
  }

  private static List<Object> array(ArrayNode node, int depth) throws NotConvertible {
    List<Object> out = new ArrayList<>(node.size());
    for (JsonNode item : node) {
      out.add(value(item, depth + 1));
    }
    return Collections.unmodifiableList(out);
  }

  private static Object value(JsonNode node, int depth) throws NotConvertible {
    if (depth > MAX_DEPTH) {
      throw new NotConvertible("the input nests deeper than " + MAX_DEPTH + " levels");
    }
    return switch (node.getNodeType()) {
      case OBJECT -> object((ObjectNode) node, depth);
      case ARRAY -> array((ArrayNode) node, depth);
      case STRING -> node.textValue();
      case BOOLEAN -> node.booleanValue();
      case NULL -> NullValue.NULL_VALUE;
      case NUMBER -> {
        if (node.isIntegralNumber() && node.canConvertToLong()) {
          yield node.longValue();
        }
        yield node.doubleValue();
      }
      case BINARY, POJO, MISSING ->
          throw new NotConvertible(
              "the input holds a value JSON cannot carry (" + node.getNodeType() + ")");
    };
  }

  private CelValues() {}
}
