package dev.worka.gateway.run;

import java.util.Locale;

/** The states of a step (DESIGN §4). */
public enum StepStatus {
  PENDING,
  QUEUED,
  RUNNING,
  RETRY_WAIT,
  AWAITING_APPROVAL,
  SUCCEEDED,
  FAILED,
  TIMED_OUT,
  CANCELLED;

  /**
   * pending → queued → running → succeeded; running → retry_wait → queued; running →
   * awaiting_approval → queued; any non-terminal → failed | timed_out | cancelled.
   */
  public static final StateMachine<StepStatus> MACHINE =
      StateMachine.builder(StepStatus.class)
          .terminal(SUCCEEDED, FAILED, TIMED_OUT, CANCELLED)
          .move(PENDING, QUEUED)
          .move(QUEUED, RUNNING)
          .move(RUNNING, SUCCEEDED)
          .move(RUNNING, RETRY_WAIT)
          .move(RETRY_WAIT, QUEUED)
          .move(RUNNING, AWAITING_APPROVAL)
          .move(AWAITING_APPROVAL, QUEUED)
          .fromAnyNonTerminal(FAILED, TIMED_OUT, CANCELLED)
          .build();

  public boolean terminal() {
    return MACHINE.isTerminal(this);
  }

  public String sql() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static StepStatus fromSql(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
