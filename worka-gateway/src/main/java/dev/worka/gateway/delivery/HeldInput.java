package dev.worka.gateway.delivery;

import dev.worka.gateway.redaction.Redactor;
import dev.worka.protocol.Json;

/**
 * The input of a held call as an approval request shows it to people (a Slack message, a GitHub
 * comment): pretty JSON, the Gateway's secrets redacted, cut after {@link #MAX_CHARS} characters
 * (never inside a surrogate pair) with a note where the whole input is. Each channel then makes it
 * inert in its own markup.
 */
public final class HeldInput {
  /** How much of a held call's input an approval request shows. */
  public static final int MAX_CHARS = 2000;

  private HeldInput() {}

  /** {@code inputJson} as shown to approvers (see the class comment). */
  public static String shown(String inputJson, Redactor redactor) {
    String input = redactor.redact(pretty(inputJson));
    if (input.length() <= MAX_CHARS) {
      return input;
    }
    int end = MAX_CHARS;
    if (Character.isHighSurrogate(input.charAt(end - 1))) {
      end--;
    }
    return input.substring(0, end) + "\n… (cut; the whole input: worka approvals list)";
  }

  private static String pretty(String json) {
    try {
      return Json.STRICT.writerWithDefaultPrettyPrinter().writeValueAsString(Json.parse(json));
    } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
      return json; // shown as stored
    }
  }
}
