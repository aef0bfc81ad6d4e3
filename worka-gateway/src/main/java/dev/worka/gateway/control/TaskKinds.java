package dev.worka.gateway.control;

import java.util.List;
import java.util.UUID;

/** The kinds of queue task that drive a run, and their idempotency keys. */
public final class TaskKinds {
  /** Move a received run to planning and queue its planner step. */
  public static final String START_RUN = "start_run";

  /** Run one step attempt in a runtime. */
  public static final String EXECUTE_STEP = "execute_step";

  /** Look at a run's steps after one finished: queue ready steps, fail or deliver the run. */
  public static final String ADVANCE_RUN = "advance_run";

  /** Compose and deliver the result of a run whose steps all succeeded. */
  public static final String DELIVER_RUN = "deliver_run";

  /** Queue the next attempt of a step whose backoff is over (retry_wait → queued). */
  public static final String RETRY_STEP = "retry_step";

  static final List<String> CONTROL = List.of(START_RUN, ADVANCE_RUN, DELIVER_RUN, RETRY_STEP);
  static final List<String> EXECUTION = List.of(EXECUTE_STEP);

  static String startKey(UUID run) {
    return "start:" + run;
  }

  public static String executeKey(UUID step, int attempt) {
    return "execute:" + step + ":" + attempt;
  }

  /** One advance per finished attempt (several finishing at once each get theirs). */
  public static String advanceKey(UUID run, UUID step, int attempt) {
    return "advance:" + run + ":" + step + ":" + attempt;
  }

  /**
   * One retry per failed attempt: a duplicate is never enqueued, a late one finds the step moved
   * on.
   */
  static String retryKey(UUID step, int failedAttempt) {
    return "retry:" + step + ":" + failedAttempt;
  }

  /**
   * The attempt an {@link #executeKey} or a {@link #retryKey} names (the number after its last
   * colon).
   */
  static int attemptOf(String key) {
    int colon = key.lastIndexOf(':');
    if (colon < 0 || !(key.startsWith("execute:") || key.startsWith("retry:"))) {
      throw new IllegalArgumentException("not an execute or retry key: " + key);
    }
    return Integer.parseInt(key.substring(colon + 1));
  }

  static String deliverKey(UUID run) {
    return "deliver:" + run;
  }

  private TaskKinds() {}
}
