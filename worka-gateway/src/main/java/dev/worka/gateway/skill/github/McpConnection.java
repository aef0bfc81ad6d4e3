package dev.worka.gateway.skill.github;

import dev.worka.gateway.skill.SkillDefinition;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps at most one {@link McpSession} with the GitHub MCP server open. It connects once at
 * construction (bounded by the connect timeout); a server that is down leaves it without a session
 * and with a reason saying what to check ({@link #downReason()}), never a failed or hung Gateway
 * start. It connects again lazily — on the next use — no sooner than a back-off that doubles from
 * {@link #INITIAL_BACKOFF} to {@link #MAX_BACKOFF} after each failed attempt. A broken session
 * ({@link #drop}) is closed and opened again on the next use, without waiting.
 *
 * <p>Thread-safe: one thread connects at a time; the others either wait for it (a call) or go on
 * without a session (an availability check).
 */
final class McpConnection implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(McpConnection.class);

  static final Duration INITIAL_BACKOFF = Duration.ofSeconds(1);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(60);

  private final GithubMcpEndpoint endpoint;
  private final Duration connectTimeout;
  private final Duration callTimeout;
  private final InstantSource clock;
  private final FailureClassifier failures;
  private final List<SkillDefinition> skills;
  private final ReentrantLock connecting = new ReentrantLock();

  private volatile McpSession session;
  private volatile String downReason;
  private volatile Instant nextAttempt = Instant.MIN;
  private volatile boolean closed;
  private Duration backoff = INITIAL_BACKOFF; // guarded by connecting

  /**
   * Connects once; a failure leaves it down with the reason, to be tried again later.
   *
   * @param skills the skills whose tools the log line of a new session sums up
   */
  McpConnection(
      GithubMcpEndpoint endpoint,
      Duration connectTimeout,
      Duration callTimeout,
      InstantSource clock,
      FailureClassifier failures,
      List<SkillDefinition> skills) {
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
    this.callTimeout = Objects.requireNonNull(callTimeout, "callTimeout");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.failures = Objects.requireNonNull(failures, "failures");
    this.skills = List.copyOf(skills);
    this.downReason = endpoint.describe() + " has not been connected yet";
    connectIfDue(true);
  }

  /**
   * The session, connecting first when there is none and an attempt is due; null when down (then
   * {@link #downReason()} says why). With {@code wait}, waits for a connection under way elsewhere
   * (a call); without, does not (an availability check).
   */
  McpSession connectIfDue(boolean wait) {
    McpSession s = session;
    if (s != null || closed) {
      return s;
    }
    if (clock.instant().isBefore(nextAttempt)) {
      return null;
    }
    boolean locked;
    try {
      locked =
          wait
              ? connecting.tryLock(connectTimeout.toMillis() * 2 + 1000, TimeUnit.MILLISECONDS)
              : connecting.tryLock();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return session;
    }
    if (!locked) {
      return session;
    }
    try {
      if (session != null || closed || clock.instant().isBefore(nextAttempt)) {
        return session;
      }
      try {
        McpSession opened =
            McpSession.open(endpoint, connectTimeout, callTimeout, failures::redact);
        session = opened;
        backoff = INITIAL_BACKOFF;
        downReason = null;
        log.info(
            "GitHub MCP: connected to {} ({}), {} tools; {}",
            endpoint.describe(),
            opened.serverName(),
            opened.toolCount(),
            opened.summary(skills));
        return opened;
      } catch (RuntimeException e) {
        Instant retry = clock.instant().plus(backoff);
        downReason =
            endpoint.describe()
                + " "
                + failures.connectFailure(e)
                + "; "
                + endpoint.whatToCheck()
                + " (retried on the next use after "
                + retry
                + ")";
        nextAttempt = retry;
        backoff =
            backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
                ? MAX_BACKOFF
                : backoff.multipliedBy(2);
        log.warn("GitHub MCP: {}", downReason);
        return null;
      }
    } finally {
      connecting.unlock();
    }
  }

  /** Why there is no session; null while there is one. */
  String downReason() {
    return downReason;
  }

  /** Whether a session is open now. */
  boolean connected() {
    return session != null;
  }

  /** Forgets {@code broken} (if it is still the session) so that the next use connects again. */
  void drop(McpSession broken, String why) {
    connecting.lock();
    try {
      if (session == broken) {
        session = null;
        downReason = endpoint.describe() + " " + why + "; " + endpoint.whatToCheck();
        nextAttempt = Instant.MIN;
        log.warn("GitHub MCP: dropping the session: {}", downReason);
        Thread.ofVirtual().name("github-mcp-close").start(broken::close);
      }
    } finally {
      connecting.unlock();
    }
  }

  /** Ends the session; for stdio, the child process and its descendants. Idempotent. */
  @Override
  public void close() {
    closed = true;
    connecting.lock();
    try {
      McpSession s = session;
      session = null;
      downReason = "the GitHub provider is closed";
      if (s != null) {
        s.close();
      }
    } finally {
      connecting.unlock();
    }
  }
}
