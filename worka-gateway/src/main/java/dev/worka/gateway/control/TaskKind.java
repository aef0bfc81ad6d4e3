package dev.worka.gateway.control;

import dev.worka.gateway.store.SqlName;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * The kinds of queue task that drive a run, with the name each has in {@code tasks.kind}, the loop
 * that claims it, and their idempotency keys. The queue itself knows kinds only as names; what a
 * kind means is decided here and in {@link Dispatcher}, which has a handler for every constant.
 */
public enum TaskKind implements SqlName {
  /** Move a received run to planning and queue its planner step. */
  START_RUN("start_run", Loop.CONTROL),

  /** Run one step attempt in a runtime. */
  EXECUTE_STEP("execute_step", Loop.EXECUTION),

  /** Look at a run's steps after one finished: queue ready steps, fail or deliver the run. */
  ADVANCE_RUN("advance_run", Loop.CONTROL),

  /** Compose and deliver the result of a run whose steps all succeeded. */
  DELIVER_RUN("deliver_run", Loop.CONTROL),

  /** Queue the next attempt of a step whose backoff is over (retry_wait → queued). */
  RETRY_STEP("retry_step", Loop.CONTROL),

  /** Remember what a succeeded run's steps did in their agents' memory (best-effort). */
  REMEMBER_RUN("remember_run", Loop.CONTROL);

  /** Which of the {@link Dispatcher}'s claim loops takes a kind. */
  enum Loop {
    /** Short database work, many at once, claimed ahead. */
    CONTROL,
    /** Step executions, each waiting for a worker, never claimed ahead. */
    EXECUTION
  }

  private final String sql;
  private final Loop loop;

  TaskKind(String sql, Loop loop) {
    this.sql = sql;
    this.loop = loop;
  }

  /** The kind's name in {@code tasks.kind}. */
  @Override
  public String sql() {
    return sql;
  }

  /** The {@link #sql} name, so that a message spelling the value reads as before. */
  @Override
  public String toString() {
    return sql;
  }

  /** The kind named {@code sql} in {@code tasks.kind}; an unknown name is an error naming it. */
  static TaskKind fromSql(String sql) {
    return SqlName.fromSql(TaskKind.class, "task kind", "tasks.kind", sql);
  }

  /** The names of the kinds the {@code loop} claims. */
  static List<String> claimedBy(Loop loop) {
    return Arrays.stream(values()).filter(k -> k.loop == loop).map(TaskKind::sql).toList();
  }

  static final List<String> CONTROL = claimedBy(Loop.CONTROL);
  static final List<String> EXECUTION = claimedBy(Loop.EXECUTION);

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

  static String rememberKey(UUID run) {
    return "remember:" + run;
  }
}
