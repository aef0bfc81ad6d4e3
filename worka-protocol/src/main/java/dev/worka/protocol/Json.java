package dev.worka.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The two JSON mappers of the protocol. {@link #STRICT} is for reading what the other side may have
 * forged (the Gateway reading agent bodies): unknown fields, duplicate keys, trailing tokens and
 * deep nesting are errors. {@link #LENIENT} is for reading what a newer Gateway may have extended
 * (agents reading envelopes): unknown fields are ignored.
 */
public final class Json {
  /** Deepest nesting accepted in any body; deeper input is a validation error, not a crash. */
  public static final int MAX_NESTING_DEPTH = 64;

  public static final ObjectMapper STRICT = build(true);
  public static final ObjectMapper LENIENT = build(false);

  private static ObjectMapper build(boolean strict) {
    var factory =
        JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, strict)
            .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, strict)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();
    factory
        .getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(MAX_NESTING_DEPTH)
                .maxStringLength(4 * 1024 * 1024)
                .maxNumberLength(100)
                .build());
    return factory;
  }

  /** JSON text of a value the caller built; a value that cannot be written is a bug. */
  public static String write(Object value) {
    try {
      return STRICT.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "cannot write " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }

  /**
   * Reads JSON text that was written by this side (e.g. a stored column), leniently; null stays
   * null. Text that does not parse is a bug, not bad input — parse outside input with {@link
   * #STRICT} and handle its errors.
   */
  public static JsonNode parse(String json) {
    if (json == null) {
      return null;
    }
    try {
      return LENIENT.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored JSON is unreadable: " + e.getOriginalMessage(), e);
    }
  }

  private Json() {}
}
