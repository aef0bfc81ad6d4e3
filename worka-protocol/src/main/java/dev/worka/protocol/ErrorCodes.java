package dev.worka.protocol;

/** Stable error codes of the {@code "error"} field of every error body. Never renamed. */
public final class ErrorCodes {
  public static final String UNAUTHORIZED = "unauthorized";
  /** A webhook's signature (GitHub's X-Hub-Signature-256, Slack's v0) is missing, wrong or stale. */
  public static final String SIGNATURE_INVALID = "signature_invalid";
  public static final String TOKEN_EXPIRED = "token_expired";
  public static final String TOKEN_INVALID = "token_invalid";
  public static final String STEP_NOT_RUNNING = "step_not_running";
  public static final String FORBIDDEN = "forbidden";
  public static final String POLICY_DENIED = "policy_denied";
  public static final String IDENTITY_MISMATCH = "identity_mismatch";
  public static final String NOT_FOUND = "not_found";
  public static final String CONFLICT = "conflict";
  public static final String IDEMPOTENCY_CONFLICT = "idempotency_conflict";
  public static final String RESULT_ALREADY_SUBMITTED = "result_already_submitted";
  public static final String ILLEGAL_STATE = "illegal_state";
  public static final String TOO_LARGE = "too_large";
  public static final String INVALID_BODY = "invalid_body";
  public static final String INVALID_PLAN = "invalid_plan";
  /** An upstream's answer does not match the skill's output schema (it is not passed on). */
  public static final String INVALID_OUTPUT = "invalid_output";
  public static final String INVALID_POLICY = "invalid_policy";
  /** {@code PUT /v1/policy}: the manifest names a launch spec (command, image, module) the host does not allow. */
  public static final String LAUNCH_NOT_ALLOWED = "launch_not_allowed";
  public static final String SKILL_UNAVAILABLE = "skill_unavailable";
  public static final String UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type";
  public static final String METHOD_NOT_ALLOWED = "method_not_allowed";
  public static final String UNAVAILABLE = "unavailable";
  public static final String INTERNAL = "internal";

  private ErrorCodes() {}
}
