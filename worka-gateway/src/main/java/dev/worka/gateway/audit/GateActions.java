package dev.worka.gateway.audit;

/** The actions a gate decides about. Stable: they appear in the operator API. */
public final class GateActions {
  /** A planner submitted a plan. */
  public static final String PLAN_SUBMIT = "plan.submit";
  /** A worker asked for a skill. */
  public static final String SKILL_INVOKE = "skill.invoke";
  /** A worker called the model through the Gateway's proxy ({@code /v1/agent/model/v1/messages}). */
  public static final String MODEL_INVOKE = "model.invoke";
  /** A worker's request named a run, step or agent other than its token's. */
  public static final String IDENTITY = "agent.identity";
  /** A worker used a token whose step attempt is no longer running. */
  public static final String TOKEN_USE = "agent.token";
  /** A worker asked for its context, posted a result or heartbeat without the right. */
  public static final String AGENT_CALL = "agent.call";

  /** An operator resolved a skill call whose outcome was unknown ({@code POST /v1/invocations/{id}/resolve}). */
  public static final String INVOCATION_RESOLVE = "invocation.resolve";

  /**
   * Worka posts one of its own answers (an acknowledgement, a result or refusal) to Slack or
   * GitHub: one gate per attempt to post, before it; subject {@code worka}, the place in the reason.
   */
  public static final String DELIVERY_POST = "delivery.post";

  private GateActions() {}
}
