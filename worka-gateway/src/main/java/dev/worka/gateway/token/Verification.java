package dev.worka.gateway.token;

import java.util.Objects;

/** The outcome of checking a presented worker token: verified claims, or why not. */
public sealed interface Verification permits Verification.Verified, Verification.Rejected {

  /** The token is ours, intact, current and well-formed. */
  record Verified(WorkerClaims claims) implements Verification {
    public Verified {
      Objects.requireNonNull(claims, "claims");
    }
  }

  /**
   * The token is refused. {@code code} is one of {@link dev.worka.protocol.ErrorCodes#UNAUTHORIZED}
   * (no token), {@link dev.worka.protocol.ErrorCodes#TOKEN_EXPIRED} or {@link
   * dev.worka.protocol.ErrorCodes#TOKEN_INVALID}; {@code reason} says precisely what was wrong and
   * may be shown to the worker (it never contains key material or the token).
   */
  record Rejected(String code, String reason) implements Verification {
    public Rejected {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(reason, "reason");
      if (code.isBlank()) {
        throw new IllegalArgumentException("code must not be blank");
      }
    }
  }
}
