package dev.worka.gateway.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The names gates and burns are stored and shown with: contracts of DESIGN.md and the API. */
class VocabularyTest {
  @Test
  void gateActionsKeepTheirNames() {
    assertEquals(
        List.of(
            "plan.submit",
            "skill.invoke",
            "model.invoke",
            "agent.identity",
            "agent.token",
            "agent.call",
            "run.create",
            "invocation.resolve",
            "policy.apply",
            "delivery.post",
            "memory.forget",
            "approval.request",
            "approval.decide",
            "approval.expire"),
        Arrays.stream(GateAction.values()).map(GateAction::sql).toList());
    for (GateAction action : GateAction.values()) {
      assertEquals(action, GateAction.fromSql(action.sql()));
      assertTrue(GateAction.known(action.sql()));
    }
  }

  @Test
  void burnKindsKeepTheirNames() {
    assertEquals(
        List.of(
            "timeout",
            "crash",
            "invalid_output",
            "policy",
            "resource",
            "dispatch",
            "lost",
            "cancelled",
            "failed",
            "delivery",
            "approval_expired"),
        Arrays.stream(BurnKind.values()).map(BurnKind::sql).toList());
    for (BurnKind kind : BurnKind.values()) {
      assertEquals(kind, BurnKind.fromSql(kind.sql()));
    }
  }

  @Test
  void anUnknownNameReadFromTheDatabaseIsAnErrorNamingIt() {
    IllegalStateException action =
        assertThrows(IllegalStateException.class, () -> GateAction.fromSql("skill.forgive"));
    assertTrue(action.getMessage().contains("'skill.forgive'"), action.getMessage());
    assertTrue(!GateAction.known("skill.forgive"));
    IllegalStateException burn =
        assertThrows(IllegalStateException.class, () -> BurnKind.fromSql("meltdown"));
    assertTrue(burn.getMessage().contains("'meltdown'"), burn.getMessage());
  }
}
