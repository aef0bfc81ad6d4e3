package dev.worka.agents;

import java.time.Duration;

/** Waits between retries. Injected so tests record the backoff instead of sleeping. */
@FunctionalInterface
interface Pause {
  void pause(Duration duration) throws InterruptedException;

  Pause SLEEP = duration -> Thread.sleep(duration);
}
