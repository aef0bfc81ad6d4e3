package dev.worka.gateway.audit;

import dev.worka.gateway.store.SqlName;
import java.util.Arrays;

/**
 * The actions a gate decides about, with the name each has in {@code gates.action}. Stable: the
 * names appear in the operator API ({@code GET /v1/gates?action=}, the run story) and the CLI, and
 * each gate's hash covers its action's name.
 */
public enum GateAction implements SqlName {
  /** A planner submitted a plan. */
  PLAN_SUBMIT("plan.submit"),

  /** A worker asked for a skill. */
  SKILL_INVOKE("skill.invoke"),

  /**
   * A worker called the model through the Gateway's proxy ({@code /v1/agent/model/v1/messages}).
   */
  MODEL_INVOKE("model.invoke"),

  /** A worker's request named a run, step or agent other than its token's. */
  IDENTITY("agent.identity"),

  /** A worker used a token whose step attempt is no longer running. */
  TOKEN_USE("agent.token"),

  /** A worker asked for its context, posted a result or heartbeat without the right. */
  AGENT_CALL("agent.call"),

  /**
   * Someone asked for a run (Slack, GitHub, the API or the CLI): the policy's {@code ingress} and
   * its quotas decide. A refusal is a deny gate with no run id, the requester as subject ({@code
   * slack:U…}, {@code github:login}, {@code api:name}, {@code cli:name}); an allowed request leaves
   * no gate, its run row is the record (requester, source, pinned policy manifest).
   */
  RUN_CREATE("run.create"),

  /**
   * An operator resolved a skill call whose outcome was unknown ({@code POST
   * /v1/invocations/{id}/resolve}).
   */
  INVOCATION_RESOLVE("invocation.resolve"),

  /**
   * A manifest uploaded through the operator API ({@code PUT /v1/policy}, {@code worka policy
   * apply}): allowed when it became the active version, denied when the host refused it (a launch
   * spec it does not allow). Subject {@code operator}; no run.
   */
  POLICY_APPLY("policy.apply"),

  /**
   * Worka posts one of its own answers (an acknowledgement, a result or refusal) to Slack or
   * GitHub: one gate per attempt to post, before it; subject {@code worka}, the place in the
   * reason.
   */
  DELIVERY_POST("delivery.post"),

  /**
   * An operator forgot a memory ({@code DELETE /v1/memories/{id}}, {@code worka memory forget}):
   * subject {@code operator}, the memory's run and step, its id and agent in the reason (never its
   * text). Recorded before the store deletes it.
   */
  MEMORY_FORGET("memory.forget"),

  /**
   * A worker's call of a skill whose policy asks for approval was held (deny: not performed) as an
   * approval request bound to its run, step, skill, input digest and policy version; subject the
   * agent.
   */
  APPROVAL_REQUEST("approval.request"),

  /**
   * Someone decided an approval request: allow (approved) or deny (denied, or refused because the
   * decider is not one of its named approvers); subject the decider's verified identity ({@code
   * operator}, {@code slack:U…}, {@code github:login}).
   */
  APPROVAL_DECIDE("approval.decide"),

  /** An approval request expired undecided; its step failed with {@code approval_expired}. */
  APPROVAL_EXPIRE("approval.expire");

  private final String sql;

  GateAction(String sql) {
    this.sql = sql;
  }

  /** The action's name in {@code gates.action}. */
  @Override
  public String sql() {
    return sql;
  }

  /** The {@link #sql} name, so that a message spelling the value reads as before. */
  @Override
  public String toString() {
    return sql;
  }

  /** Whether {@code sql} names an action. */
  static boolean known(String sql) {
    return Arrays.stream(values()).anyMatch(a -> a.sql.equals(sql));
  }

  /**
   * The action named {@code sql} in {@code gates.action}; an unknown name is an error naming it.
   */
  static GateAction fromSql(String sql) {
    return SqlName.fromSql(GateAction.class, "gate action", "gates.action", sql);
  }
}
