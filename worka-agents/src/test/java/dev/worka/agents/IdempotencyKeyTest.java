package dev.worka.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.protocol.Json;
import dev.worka.protocol.StepEnvelope;
import java.util.List;
import org.junit.jupiter.api.Test;

class IdempotencyKeyTest {
  private static StepEnvelope attempt(int attempt) {
    return new StepEnvelope(
        "run-1",
        "0b6f6a4e-3c1d-4a8e-9d55-0c6f2f7b9a10",
        "file",
        attempt,
        "ernest",
        StepEnvelope.ROLE_WORKER,
        "x",
        null,
        List.of(),
        List.of(),
        List.of(),
        null,
        null);
  }

  private static JsonNode json(String text) throws JsonProcessingException {
    return Json.LENIENT.readTree(text);
  }

  @Test
  void theSameCallInAnotherAttemptHasTheSameKeySoTheGatewayReplaysIt() throws Exception {
    String first =
        IdempotencyKey.of(
            attempt(1), "github.create_issue", json("{\"a\": 1, \"b\": [{\"y\": 2, \"x\": 1}]}"));
    String second =
        IdempotencyKey.of(
            attempt(2), "github.create_issue", json("{\"b\": [{\"x\": 1, \"y\": 2}], \"a\": 1}"));
    assertEquals(first, second);
    // The Gateway's rule for keys.
    assertTrue(first.matches("[A-Za-z0-9._:@/+=-]{1,200}"), first);
  }

  @Test
  void anotherCallHasAnotherKey() throws Exception {
    JsonNode input = json("{\"a\": 1}");
    String key = IdempotencyKey.of(attempt(1), "github.create_issue", input);
    assertNotEquals(key, IdempotencyKey.of(attempt(1), "github.add_issue_comment", input));
    assertNotEquals(key, IdempotencyKey.of(attempt(1), "github.create_issue", json("{\"a\": 2}")));
  }
}
