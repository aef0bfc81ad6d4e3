package dev.worka.gateway;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a starting Gateway opened, closed in reverse order: the last opened first. A close that
 * fails is logged and the others still run. Not thread-safe: the Gateway opens and closes from one
 * thread.
 */
final class CloseInReverse implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CloseInReverse.class);

  private final Deque<AutoCloseable> opened = new ArrayDeque<>();

  /** Closes {@code c} before everything added earlier. */
  void add(AutoCloseable c) {
    opened.push(c);
  }

  /** Closes everything added, the last first; idempotent. */
  @Override
  public void close() {
    while (!opened.isEmpty()) {
      AutoCloseable c = opened.pop();
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", c.getClass().getSimpleName(), e.getMessage());
      }
    }
  }
}
