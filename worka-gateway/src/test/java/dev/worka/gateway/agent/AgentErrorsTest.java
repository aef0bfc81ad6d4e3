package dev.worka.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.mediation.Refusal;
import dev.worka.protocol.ErrorBody;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The agent protocol's answer to each refusal, as a table: the statuses and codes DESIGN §5 pins
 * (401 ended token, 403 policy, 409 conflict, 422 invalid body, …), the same for REST and MCP.
 */
class AgentErrorsTest {
  private static final UUID GATE = UUID.randomUUID();
  private static final String G = GATE.toString();

  record Row(Refusal refusal, int status, ErrorBody body, Map<String, String> headers) {}

  private static final List<Row> TABLE =
      List.of(
          new Row(
              new Refusal.AttemptEnded("ended", GATE),
              401,
              new ErrorBody("step_not_running", "ended", G, "ended", null),
              Map.of()),
          new Row(
              new Refusal.AttemptEnded("ended again", null),
              401,
              new ErrorBody("step_not_running", "ended again", null, "ended again", null),
              Map.of()),
          new Row(
              new Refusal.IdentityMismatch("not yours", GATE),
              403,
              new ErrorBody("identity_mismatch", "not yours", G, "not yours", null),
              Map.of()),
          new Row(
              new Refusal.Denied("no grant", GATE),
              403,
              new ErrorBody("policy_denied", "no grant", G, "no grant", null),
              Map.of()),
          new Row(
              new Refusal.LimitReached("limit", GATE),
              403,
              new ErrorBody("policy_denied", "limit", G, "limit", null),
              Map.of()),
          new Row(
              new Refusal.SkillUnavailable("off", GATE),
              403,
              new ErrorBody("skill_unavailable", "off", G, "off", null),
              Map.of()),
          new Row(
              new Refusal.InvalidInput("bad", GATE, List.of("v")),
              422,
              new ErrorBody("invalid_body", "bad", G, "bad", List.of("v")),
              Map.of()),
          new Row(
              new Refusal.InvalidInput("invalid result", null, List.of("v")),
              422,
              new ErrorBody("invalid_body", "invalid result", null, null, List.of("v")),
              Map.of()),
          new Row(
              new Refusal.KeyConflict("key reused", GATE),
              409,
              new ErrorBody("idempotency_conflict", "key reused", G, "key reused", null),
              Map.of()),
          new Row(
              new Refusal.Conflict("in progress", GATE, "gate reason"),
              409,
              new ErrorBody("conflict", "in progress", G, "gate reason", null),
              Map.of()),
          new Row(
              new Refusal.Conflict("not planning"),
              409,
              ErrorBody.of("conflict", "not planning"),
              Map.of()),
          new Row(
              new Refusal.NotAdmitted("full", true),
              503,
              ErrorBody.of("unavailable", "full"),
              Map.of("Retry-After", "1")),
          new Row(
              new Refusal.NotAdmitted("interrupted", false),
              503,
              ErrorBody.of("unavailable", "interrupted"),
              Map.of()),
          new Row(
              new Refusal.UpstreamFailed("failed upstream"),
              502,
              ErrorBody.of("unavailable", "failed upstream"),
              Map.of()),
          new Row(
              new Refusal.OutputInvalid("odd output", List.of("$.number")),
              502,
              new ErrorBody("invalid_output", "odd output", null, null, List.of("$.number")),
              Map.of()),
          new Row(
              new Refusal.OutputTooLarge("too big"),
              502,
              ErrorBody.of("too_large", "too big"),
              Map.of()));

  @Test
  void eachRefusalHasItsStatusAndErrorBody() {
    for (Row row : TABLE) {
      ApiException answer = AgentErrors.of(row.refusal());
      assertEquals(row.status(), answer.status(), row.refusal().toString());
      assertEquals(row.body(), answer.body(), row.refusal().toString());
      assertEquals(row.headers(), answer.headers(), row.refusal().toString());
    }
  }

  @Test
  void theTableCoversEveryKindOfRefusal() {
    assertEquals(
        java.util.Arrays.stream(Refusal.class.getPermittedSubclasses())
            .map(Class::getSimpleName)
            .collect(java.util.stream.Collectors.toSet()),
        TABLE.stream()
            .map(r -> r.refusal().getClass().getSimpleName())
            .collect(java.util.stream.Collectors.toSet()));
  }
}
