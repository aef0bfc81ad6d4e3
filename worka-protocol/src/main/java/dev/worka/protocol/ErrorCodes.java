package dev.worka.protocol;

/** Stable error codes of the {@code "error"} field of every error body. Never renamed. */
public final class ErrorCodes {
  public static final String UNAUTHORIZED = "unauthorized";

  /**
   * A webhook's signature (GitHub's X-Hub-Signature-256, Slack's v0) is missing, wrong or stale.
   */
  public static final String SIGNATURE_INVALID = "signature_invalid";

  public static final String TOKEN_EXPIRED = "token_expired";
  public static final String TOKEN_INVALID = "token_invalid";
  public static final String STEP_NOT_RUNNING = "step_not_running";
  public static final String FORBIDDEN = "forbidden";
  public static final String POLICY_DENIED = "policy_denied";

  /**
   * A request to start a run came from someone the policy's {@code ingress} section does not let
   * start runs; no run was created, the refusal is a {@code run.create} deny gate.
   */
  public static final String INGRESS_DENIED = "ingress_denied";

  /**
   * A requester is over a quota of the policy's {@code ingress.quotas} (runs per hour, runs at
   * once); no run was created, the refusal is a {@code run.create} deny gate.
   */
  public static final String QUOTA_EXCEEDED = "quota_exceeded";

  public static final String IDENTITY_MISMATCH = "identity_mismatch";
  public static final String NOT_FOUND = "not_found";
  public static final String CONFLICT = "conflict";

  /**
   * An idempotency key used again with another input (a run's {@code Idempotency-Key}, a skill
   * call's {@code idempotency_key}): a key stands for one input, never for another's answer.
   */
  public static final String IDEMPOTENCY_CONFLICT = "idempotency_conflict";

  /** A planner submitted a plan that differs from the one already accepted for its run. */
  public static final String PLAN_CONFLICT = "plan_conflict";

  /** An MCP request whose {@code Host} is not one of the Gateway's own names (DNS rebinding). */
  public static final String HOST_NOT_ALLOWED = "host_not_allowed";

  /** An MCP request whose {@code Origin} is not the Gateway's own (a web page; DNS rebinding). */
  public static final String ORIGIN_NOT_ALLOWED = "origin_not_allowed";

  public static final String RESULT_ALREADY_SUBMITTED = "result_already_submitted";
  public static final String ILLEGAL_STATE = "illegal_state";
  public static final String TOO_LARGE = "too_large";
  public static final String INVALID_BODY = "invalid_body";
  public static final String INVALID_PLAN = "invalid_plan";

  /** An upstream's answer does not match the skill's output schema (it is not passed on). */
  public static final String INVALID_OUTPUT = "invalid_output";

  public static final String INVALID_POLICY = "invalid_policy";

  /**
   * {@code PUT /v1/policy}: the manifest names a launch spec (command, image, module) the host does
   * not allow.
   */
  public static final String LAUNCH_NOT_ALLOWED = "launch_not_allowed";

  public static final String SKILL_UNAVAILABLE = "skill_unavailable";
  public static final String UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type";
  public static final String METHOD_NOT_ALLOWED = "method_not_allowed";
  public static final String UNAVAILABLE = "unavailable";
  public static final String INTERNAL = "internal";

  // The model route (POST /v1/agent/model/v1/messages).
  /**
   * A model request holds content or fields the Gateway does not pass on (a fetchable source, a
   * server tool, …).
   */
  public static final String CONTENT_REFUSED = "content_refused";

  /** Too many calls of the step are under way at once; retry when one has ended. */
  public static final String TOO_MANY_REQUESTS = "too_many_requests";

  /** The upstream refused the request itself as invalid (its cleaned reason is in the message). */
  public static final String UPSTREAM_REJECTED = "upstream_rejected";

  // Approvals (the policy's skills.SKILL.approval).
  /**
   * A worker's skill call waits for a person's approval: nothing was performed. Over REST the
   * answer is {@code 202} with this as its {@code status}; over MCP a tool error with this code.
   */
  public static final String AWAITING_APPROVAL = "awaiting_approval";

  /** An approval was already approved or denied: a second decision changes nothing. */
  public static final String APPROVAL_DECIDED = "approval_decided";

  /** An approval expired before this decision: its step failed with {@code approval_expired}. */
  public static final String APPROVAL_EXPIRED = "approval_expired";

  /** The decider is not one of the approval's named approvers (recorded as a deny gate). */
  public static final String NOT_AN_APPROVER = "not_an_approver";

  private ErrorCodes() {}
}
