package dev.worka.gateway.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TaskKindTest {
  @Test
  void theNamesInTheTasksTableStayAsTheyAre() {
    assertEquals(
        List.of(
            "start_run",
            "execute_step",
            "advance_run",
            "deliver_run",
            "retry_step",
            "remember_run"),
        Arrays.stream(TaskKind.values()).map(TaskKind::sql).toList());
    assertEquals(
        List.of("start_run", "advance_run", "deliver_run", "retry_step", "remember_run"),
        TaskKind.CONTROL);
    assertEquals(List.of("execute_step"), TaskKind.EXECUTION);
  }

  @Test
  void aKindIsReadBackByItsName() {
    for (TaskKind kind : TaskKind.values()) {
      assertEquals(kind, TaskKind.fromSql(kind.sql()));
    }
  }

  @Test
  void anUnknownNameIsAnErrorNamingIt() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> TaskKind.fromSql("compact_run"));
    assertTrue(e.getMessage().contains("'compact_run'"), e.getMessage());
  }
}
