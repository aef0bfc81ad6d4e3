package dev.worka.gateway.console;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Bounds wrong operator tokens per client address: after {@value #MAX_FAILURES} failures within
 * {@link #WINDOW}, sign-in from that address is refused until the oldest failure leaves the window
 * (the token is compared in constant time anyway; this makes guessing it online hopeless).
 */
final class SignInLimiter {
  static final int MAX_FAILURES = 10;
  static final Duration WINDOW = Duration.ofMinutes(5);

  /** Addresses remembered at most; beyond it the oldest failures are forgotten first. */
  private static final int MAX_ADDRESSES = 10_000;

  private final InstantSource clock;
  private final Map<String, Deque<Instant>> failures = new HashMap<>();

  SignInLimiter(InstantSource clock) {
    this.clock = clock;
  }

  /** How long {@code address} must wait before trying again, or empty if it may try now. */
  synchronized Optional<Duration> wait(String address) {
    Instant now = clock.instant();
    Deque<Instant> seen = failures.get(address);
    if (seen == null) {
      return Optional.empty();
    }
    prune(seen, now);
    if (seen.isEmpty()) {
      failures.remove(address);
      return Optional.empty();
    }
    if (seen.size() < MAX_FAILURES) {
      return Optional.empty();
    }
    Duration left = Duration.between(now, seen.peekFirst().plus(WINDOW));
    return Optional.of(left.isNegative() ? Duration.ZERO : left);
  }

  /** Records a wrong token from {@code address}. */
  synchronized void failed(String address) {
    Instant now = clock.instant();
    if (failures.size() >= MAX_ADDRESSES && !failures.containsKey(address)) {
      failures.values().removeIf(d -> prune(d, now));
      if (failures.size() >= MAX_ADDRESSES) {
        failures.clear();
      }
    }
    Deque<Instant> seen = failures.computeIfAbsent(address, a -> new ArrayDeque<>());
    prune(seen, now);
    seen.addLast(now);
  }

  /** Drops failures older than the window; true if none is left. */
  private static boolean prune(Deque<Instant> seen, Instant now) {
    while (!seen.isEmpty() && !seen.peekFirst().plus(WINDOW).isAfter(now)) {
      seen.removeFirst();
    }
    return seen.isEmpty();
  }
}
