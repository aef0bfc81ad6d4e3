package dev.worka.gateway.runtime;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a worker of one step attempt ended. {@code lastLines} are the last lines the worker wrote to
 * stdout/stderr (bounded, cleaned of control characters), for burn diagnostics; {@code ran} is how
 * long it ran by the runtime's clock.
 */
public sealed interface AttemptOutcome
    permits AttemptOutcome.Exited,
        AttemptOutcome.TimedOut,
        AttemptOutcome.Stopped,
        AttemptOutcome.LimitReached,
        AttemptOutcome.FailedToStart {

  /** The worker exited by itself with {@code exitCode} (its leftover children were killed). */
  record Exited(int exitCode, List<String> lastLines, Duration ran) implements AttemptOutcome {
    public Exited {
      lastLines = lines(lastLines);
      ran = duration(ran);
    }
  }

  /** The deadline passed; the worker and everything it started were killed. */
  record TimedOut(List<String> lastLines, Duration ran) implements AttemptOutcome {
    public TimedOut {
      lastLines = lines(lastLines);
      ran = duration(ran);
    }
  }

  /** The worker was stopped on request (run cancelled, Gateway shutting down). */
  record Stopped(String reason, List<String> lastLines, Duration ran) implements AttemptOutcome {
    public Stopped {
      Objects.requireNonNull(reason, "reason");
      lastLines = lines(lastLines);
      ran = duration(ran);
    }
  }

  /**
   * The worker reached one of its resource limits and was stopped (with everything it started).
   * {@code limit} names it: {@code memory}, {@code cpu}, {@code pids}, {@code disk}, {@code
   * open_files} (the manifest's {@code resources} keys), {@code connections} (through the Gateway
   * relay) or {@code output} (what it wrote); {@code detail} says what was seen, in words an
   * operator can act on.
   */
  record LimitReached(String limit, String detail, List<String> lastLines, Duration ran)
      implements AttemptOutcome {
    public LimitReached {
      Objects.requireNonNull(limit, "limit");
      if (!LIMITS.contains(limit)) {
        throw new IllegalArgumentException("limit must be one of " + LIMITS + ", was " + limit);
      }
      Objects.requireNonNull(detail, "detail");
      lastLines = lines(lastLines);
      ran = duration(ran);
    }

    /** The names a {@code limit} may have. */
    public static final List<String> LIMITS =
        List.of("memory", "cpu", "pids", "disk", "open_files", "connections", "output");
  }

  /**
   * The worker never ran; {@code reason} says why in words an operator can act on. {@code
   * retryable} false: another attempt would fail the same way until the operator acts (a wasm
   * module whose bytes are not the ones the policy pins), so the step is not retried.
   */
  record FailedToStart(String reason, boolean retryable) implements AttemptOutcome {
    public FailedToStart {
      Objects.requireNonNull(reason, "reason");
      if (reason.isBlank()) {
        throw new IllegalArgumentException("reason must not be blank");
      }
    }

    /** A worker that did not start this time; another attempt may. */
    public FailedToStart(String reason) {
      this(reason, true);
    }
  }

  private static List<String> lines(List<String> lines) {
    return List.copyOf(Objects.requireNonNull(lines, "lastLines"));
  }

  private static Duration duration(Duration ran) {
    Objects.requireNonNull(ran, "ran");
    if (ran.isNegative()) {
      throw new IllegalArgumentException("ran must not be negative, was " + ran);
    }
    return ran;
  }
}
