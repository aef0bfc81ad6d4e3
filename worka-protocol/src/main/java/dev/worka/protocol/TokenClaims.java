package dev.worka.protocol;

/** Claim names of a step-scoped worker token (a JWT signed by the Gateway, DESIGN §5). */
public final class TokenClaims {
  public static final String ISSUER = "iss";
  public static final String AUDIENCE = "aud";
  public static final String SUBJECT = "sub";
  public static final String RUN_ID = "run_id";
  public static final String STEP_ID = "step_id";
  public static final String ATTEMPT = "attempt";
  public static final String JWT_ID = "jti";
  public static final String ISSUED_AT = "iat";
  public static final String EXPIRES_AT = "exp";

  /** The audience every worker token carries. */
  public static final String WORKER_AUDIENCE = "worka-agent";

  private TokenClaims() {}
}
