package dev.worka.gateway.audit;

/** The actions a gate decides about. Stable: they appear in the operator API. */
public final class GateActions {
  /** A planner submitted a plan. */
  public static final String PLAN_SUBMIT = "plan.submit";

  /** A worker asked for a skill. */
  public static final String SKILL_INVOKE = "skill.invoke";

  /**
   * A worker called the model through the Gateway's proxy ({@code /v1/agent/model/v1/messages}).
   */
  public static final String MODEL_INVOKE = "model.invoke";

  /** A worker's request named a run, step or agent other than its token's. */
  public static final String IDENTITY = "agent.identity";

  /** A worker used a token whose step attempt is no longer running. */
  public static final String TOKEN_USE = "agent.token";

  /** A worker asked for its context, posted a result or heartbeat without the right. */
  public static final String AGENT_CALL = "agent.call";

  /**
   * Someone asked for a run (Slack, GitHub, the API or the CLI): the policy's {@code ingress} and
   * its quotas decide. A refusal is a deny gate with no run id, the requester as subject ({@code
   * slack:U…}, {@code github:login}, {@code api:name}, {@code cli:name}); an allowed request leaves
   * no gate, its run row is the record (requester, source, pinned policy manifest).
   */
  public static final String RUN_CREATE = "run.create";

  /**
   * An operator resolved a skill call whose outcome was unknown ({@code POST
   * /v1/invocations/{id}/resolve}).
   */
  public static final String INVOCATION_RESOLVE = "invocation.resolve";

  /**
   * A manifest uploaded through the operator API ({@code PUT /v1/policy}, {@code worka policy
   * apply}): allowed when it became the active version, denied when the host refused it (a launch
   * spec it does not allow). Subject {@code operator}; no run.
   */
  public static final String POLICY_APPLY = "policy.apply";

  /**
   * Worka posts one of its own answers (an acknowledgement, a result or refusal) to Slack or
   * GitHub: one gate per attempt to post, before it; subject {@code worka}, the place in the
   * reason.
   */
  public static final String DELIVERY_POST = "delivery.post";

  private GateActions() {}
}
