package dev.worka.gateway.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.worka.gateway.error.WorkaException;
import dev.worka.protocol.TokenClaims;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.Objects;
import java.util.UUID;

/**
 * Mints one step-scoped worker token per step attempt: ES256 over exactly the claims of {@link
 * TokenClaims} ({@code iss}, {@code aud}, {@code sub} = agent, {@code run_id}, {@code step_id},
 * {@code attempt}, {@code jti}, {@code iat}, {@code exp}). Thread-safe.
 */
public final class TokenIssuer {
  private final SigningKeys keys;
  private final String issuer;
  private final InstantSource clock;
  private final JWSHeader header;
  private final VerifiedTokens known;

  public TokenIssuer(SigningKeys keys, String issuer, InstantSource clock) {
    this(keys, issuer, clock, null);
  }

  /**
   * An issuer that also tells {@code known} (when not null) of every token it mints, so that this
   * Gateway's own agent API accepts them without checking their signature again.
   */
  public TokenIssuer(SigningKeys keys, String issuer, InstantSource clock, VerifiedTokens known) {
    this.known = known;
    this.keys = Objects.requireNonNull(keys, "keys");
    this.issuer = Objects.requireNonNull(issuer, "issuer");
    if (issuer.isBlank()) {
      throw new IllegalArgumentException("issuer must not be blank");
    }
    this.clock = Objects.requireNonNull(clock, "clock");
    this.header =
        new JWSHeader.Builder(JWSAlgorithm.ES256)
            .type(JOSEObjectType.JWT)
            .keyID(keys.keyId())
            .build();
  }

  /**
   * A token for attempt {@code attempt} of step {@code stepId} of run {@code runId}, worked by
   * {@code agent}, valid until {@code expiresAt} (rounded down to whole seconds; pass the step
   * attempt's deadline).
   *
   * @throws IllegalArgumentException when an argument is malformed or {@code expiresAt} is not at
   *     least a second after now
   */
  public IssuedToken mint(String agent, UUID runId, UUID stepId, int attempt, Instant expiresAt) {
    Objects.requireNonNull(agent, "agent");
    if (!WorkerClaims.AGENT_NAME.matcher(agent).matches()) {
      throw new IllegalArgumentException(
          "agent must match " + WorkerClaims.AGENT_NAME.pattern() + ", was '" + agent + "'");
    }
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(stepId, "stepId");
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be at least 1, was " + attempt);
    }
    Objects.requireNonNull(expiresAt, "expiresAt");
    Instant issuedAt = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant expires = expiresAt.truncatedTo(ChronoUnit.SECONDS);
    if (!expires.isAfter(issuedAt)) {
      throw new IllegalArgumentException(
          "expiresAt " + expiresAt + " must be at least a second after now (" + issuedAt + ")");
    }
    String jti = UUID.randomUUID().toString();
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .issuer(issuer)
            .audience(TokenClaims.WORKER_AUDIENCE)
            .subject(agent)
            .claim(TokenClaims.RUN_ID, runId.toString())
            .claim(TokenClaims.STEP_ID, stepId.toString())
            .claim(TokenClaims.ATTEMPT, attempt)
            .jwtID(jti)
            .issueTime(Date.from(issuedAt))
            .expirationTime(Date.from(expires))
            .build();
    SignedJWT jwt = new SignedJWT(header, claims);
    try {
      jwt.sign(keys.signer());
    } catch (JOSEException e) {
      throw new WorkaException(
          "cannot sign the worker token for run " + runId + " step " + stepId + ": " + e, e);
    }
    String token = jwt.serialize();
    if (known != null) {
      known.remember(
          token, new WorkerClaims(agent, runId, stepId, attempt, jti, issuedAt, expires));
    }
    return new IssuedToken(token, jti, expires);
  }

  @Override
  public String toString() {
    return "TokenIssuer[iss=" + issuer + ", kid=" + keys.keyId() + "]";
  }
}
