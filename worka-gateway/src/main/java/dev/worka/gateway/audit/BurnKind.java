package dev.worka.gateway.audit;

import dev.worka.gateway.store.SqlName;

/** What kind of failure a burn records, with its name in {@code burns.kind} and the run story. */
public enum BurnKind implements SqlName {
  /** A step attempt, or a run, passed its deadline. */
  TIMEOUT("timeout"),
  /** A worker exited without a result. */
  CRASH("crash"),
  /** A worker's output did not match its step's schema. */
  INVALID_OUTPUT("invalid_output"),
  /** The policy refused what a worker asked (a plan, too many denied calls). */
  POLICY("policy"),
  /** A worker reached one of its resource limits (memory, pids, disk, …) and was stopped. */
  RESOURCE("resource"),
  /** A step could not be started (no such agent in the run's policy, no runtime). */
  DISPATCH("dispatch"),
  /** A step attempt's worker is gone (its Gateway died while it ran). */
  LOST("lost"),
  /** A run was cancelled while the step ran. */
  CANCELLED("cancelled"),
  /** A worker reported its step failed. */
  FAILED("failed"),
  /** Answering where the request came from (Slack, GitHub) failed for good. */
  DELIVERY("delivery"),
  /** A call of the step waited for approval and nobody named decided before it expired. */
  APPROVAL_EXPIRED("approval_expired");

  private final String sql;

  BurnKind(String sql) {
    this.sql = sql;
  }

  /** The kind's name in {@code burns.kind} (and in the run story's {@code burns[].kind}). */
  @Override
  public String sql() {
    return sql;
  }

  /** The {@link #sql} name, so that a message spelling the value reads as before. */
  @Override
  public String toString() {
    return sql;
  }

  /** The kind named {@code sql} in {@code burns.kind}; an unknown name is an error naming it. */
  static BurnKind fromSql(String sql) {
    return SqlName.fromSql(BurnKind.class, "burn kind", "burns.kind", sql);
  }
}
