package dev.worka.gateway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Wrong operator tokens are bounded per address and window. */
class SignInLimiterTest {
  @Test
  void tenWrongTokensFromOneAddressWaitUntilTheOldestLeavesTheWindow() {
    SettableClock clock = new SettableClock();
    SignInLimiter limiter = new SignInLimiter(clock);
    for (int i = 0; i < SignInLimiter.MAX_FAILURES; i++) {
      assertTrue(limiter.wait("10.0.0.1").isEmpty(), "try " + i);
      limiter.failed("10.0.0.1");
      clock.advance(Duration.ofSeconds(1));
    }
    Optional<Duration> wait = limiter.wait("10.0.0.1");
    assertEquals(Optional.of(SignInLimiter.WINDOW.minusSeconds(SignInLimiter.MAX_FAILURES)), wait);
    assertTrue(limiter.wait("10.0.0.2").isEmpty(), "another address is not held up");
    clock.advance(wait.orElseThrow());
    assertTrue(limiter.wait("10.0.0.1").isEmpty(), "the oldest failure left the window");
  }
}
