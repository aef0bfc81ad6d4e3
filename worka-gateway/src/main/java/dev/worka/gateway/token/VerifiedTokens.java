package dev.worka.gateway.token;

import java.time.InstantSource;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Worker tokens known to be good, by their exact text, until they expire: those this Gateway minted
 * itself ({@link TokenIssuer}) and those whose signature and claims it verified. An ES256 check
 * costs a third of a millisecond or more and a worker repeats its token on every call; a token this
 * process signed needs no check at all. Only the signature and claims checks are skipped: whether
 * the token's step attempt is still running is checked on every call by the caller. A text that
 * does not match exactly (one changed character) is not found and goes through the full check.
 * Bounded: past {@value #MAX} entries it starts afresh. Thread-safe.
 */
public final class VerifiedTokens {
  static final int MAX = 10_000;

  private final Map<String, WorkerClaims> byText = new ConcurrentHashMap<>();
  private final InstantSource clock;

  public VerifiedTokens(InstantSource clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** The claims of {@code token} if it is known good and not yet expired. */
  public Optional<WorkerClaims> find(String token) {
    WorkerClaims claims = token == null ? null : byText.get(token);
    if (claims == null) {
      return Optional.empty();
    }
    if (!claims.expiresAt().isAfter(clock.instant())) {
      byText.remove(token, claims);
      return Optional.empty();
    }
    return Optional.of(claims);
  }

  /** Remembers that {@code token} was signed by this Gateway's key and says {@code claims}. */
  public void remember(String token, WorkerClaims claims) {
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(claims, "claims");
    if (byText.size() >= MAX) {
      byText.clear();
    }
    byText.put(token, claims);
  }

  /** Forgets {@code token} (it failed a check). */
  public void forget(String token) {
    if (token != null) {
      byText.remove(token);
    }
  }
}
