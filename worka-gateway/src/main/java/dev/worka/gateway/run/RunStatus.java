package dev.worka.gateway.run;

import java.util.Locale;

/** The states of a run (DESIGN §4). */
public enum RunStatus {
  RECEIVED,
  PLANNING,
  RUNNING,
  DELIVERING,
  SUCCEEDED,
  FAILED,
  REJECTED,
  CANCELLED;

  /**
   * received → planning → running → delivering → succeeded; any non-terminal → failed | rejected |
   * cancelled.
   */
  public static final StateMachine<RunStatus> MACHINE =
      StateMachine.builder(RunStatus.class)
          .terminal(SUCCEEDED, FAILED, REJECTED, CANCELLED)
          .move(RECEIVED, PLANNING)
          .move(PLANNING, RUNNING)
          .move(RUNNING, DELIVERING)
          .move(DELIVERING, SUCCEEDED)
          .fromAnyNonTerminal(FAILED, REJECTED, CANCELLED)
          .build();

  public boolean terminal() {
    return MACHINE.isTerminal(this);
  }

  public String sql() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static RunStatus fromSql(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
