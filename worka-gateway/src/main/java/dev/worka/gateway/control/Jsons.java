package dev.worka.gateway.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.protocol.Json;

/** JSON text for jsonb columns. */
final class Jsons {
  private Jsons() {}

  static String write(Object value) {
    try {
      return Json.STRICT.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  static JsonNode read(String json) {
    if (json == null) {
      return null;
    }
    try {
      return Json.LENIENT.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored JSON is unreadable", e);
    }
  }
}
