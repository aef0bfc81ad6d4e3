package dev.worka.gateway.token;

import java.time.Instant;
import java.util.Objects;

/**
 * A freshly minted worker token. {@code expiresAt} is the {@code exp} claim (whole seconds, never
 * later than asked). {@link #toString()} leaves the token out, so the record is safe to log.
 */
public record IssuedToken(String token, String jti, Instant expiresAt) {
  public IssuedToken {
    Objects.requireNonNull(token, "token");
    if (token.isBlank()) {
      throw new IllegalArgumentException("token must not be blank");
    }
    Objects.requireNonNull(jti, "jti");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }

  @Override
  public String toString() {
    return "IssuedToken[jti=" + jti + ", expiresAt=" + expiresAt + ", token=<redacted>]";
  }
}
