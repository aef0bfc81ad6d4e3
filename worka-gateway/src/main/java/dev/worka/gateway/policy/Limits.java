package dev.worka.gateway.policy;

import java.time.Duration;
import java.util.Objects;

/**
 * The manifest's {@code limits:}. Every value is bounded on both sides, so a typo cannot turn a
 * limit off. {@code retryBackoff} and {@code retryBackoffMax} shape the wait before another attempt
 * of a failed step: a random delay in [0, min(retryBackoffMax, retryBackoff·2^(n-1))] after attempt
 * n (exponential backoff with full jitter).
 */
public record Limits(
    int maxSteps,
    int maxSkillCallsPerStep,
    int maxSkillCallsPerRun,
    Duration stepTimeout,
    int maxAttempts,
    Duration runDeadline,
    int maxConcurrentSteps,
    Duration retryBackoff,
    Duration retryBackoffMax,
    int maxModelTokensPerRun) {

  static final int MAX_STEPS = 64; // the plan schema's maxItems
  static final int MAX_SKILL_CALLS_PER_STEP = 10_000;
  static final int MAX_SKILL_CALLS_PER_RUN = 100_000;
  static final int MAX_ATTEMPTS = 10;
  static final int MAX_CONCURRENT_STEPS = 64;
  static final Duration MIN_DURATION = Duration.ofSeconds(1);
  static final Duration MAX_STEP_TIMEOUT = Duration.ofHours(24);
  static final Duration MAX_RUN_DEADLINE = Duration.ofDays(7);
  static final Duration MIN_RETRY_BACKOFF = Duration.ofMillis(1);
  static final Duration MAX_RETRY_BACKOFF = Duration.ofHours(1);
  static final int MAX_MODEL_TOKENS_PER_RUN = 1_000_000_000;

  /**
   * Model tokens (input + output, as the provider's {@code usage} counts them) all steps of a run
   * may spend through the Gateway's model route, unless the manifest says otherwise.
   */
  public static final int DEFAULT_MAX_MODEL_TOKENS_PER_RUN = 200_000;

  /** The first retry waits up to this long (full jitter), each next one up to twice as long. */
  public static final Duration DEFAULT_RETRY_BACKOFF = Duration.ofSeconds(1);

  /** No retry waits longer than this. */
  public static final Duration DEFAULT_RETRY_BACKOFF_MAX = Duration.ofSeconds(60);

  // after the bounds above: static fields initialize in order
  /** The limits of a manifest that does not state them. */
  public static final Limits DEFAULTS =
      new Limits(
          8,
          50,
          200,
          Duration.ofMinutes(2),
          3,
          Duration.ofMinutes(15),
          4,
          DEFAULT_RETRY_BACKOFF,
          DEFAULT_RETRY_BACKOFF_MAX,
          DEFAULT_MAX_MODEL_TOKENS_PER_RUN);

  /** The limits before the model token budget could be stated: it takes the default. */
  public Limits(
      int maxSteps,
      int maxSkillCallsPerStep,
      int maxSkillCallsPerRun,
      Duration stepTimeout,
      int maxAttempts,
      Duration runDeadline,
      int maxConcurrentSteps,
      Duration retryBackoff,
      Duration retryBackoffMax) {
    this(
        maxSteps,
        maxSkillCallsPerStep,
        maxSkillCallsPerRun,
        stepTimeout,
        maxAttempts,
        runDeadline,
        maxConcurrentSteps,
        retryBackoff,
        retryBackoffMax,
        DEFAULT_MAX_MODEL_TOKENS_PER_RUN);
  }

  /** The limits before retry backoff could be stated: it takes the defaults. */
  public Limits(
      int maxSteps,
      int maxSkillCallsPerStep,
      int maxSkillCallsPerRun,
      Duration stepTimeout,
      int maxAttempts,
      Duration runDeadline,
      int maxConcurrentSteps) {
    this(
        maxSteps,
        maxSkillCallsPerStep,
        maxSkillCallsPerRun,
        stepTimeout,
        maxAttempts,
        runDeadline,
        maxConcurrentSteps,
        DEFAULT_RETRY_BACKOFF,
        DEFAULT_RETRY_BACKOFF_MAX);
  }

  public Limits {
    between("max_steps", maxSteps, MAX_STEPS);
    between("max_skill_calls_per_step", maxSkillCallsPerStep, MAX_SKILL_CALLS_PER_STEP);
    between("max_skill_calls_per_run", maxSkillCallsPerRun, MAX_SKILL_CALLS_PER_RUN);
    between("max_attempts", maxAttempts, MAX_ATTEMPTS);
    between("max_concurrent_steps", maxConcurrentSteps, MAX_CONCURRENT_STEPS);
    between("max_model_tokens_per_run", maxModelTokensPerRun, MAX_MODEL_TOKENS_PER_RUN);
    between("step_timeout", stepTimeout, MAX_STEP_TIMEOUT);
    between("run_deadline", runDeadline, MAX_RUN_DEADLINE);
    between("retry_backoff", retryBackoff, MIN_RETRY_BACKOFF, MAX_RETRY_BACKOFF);
    between("retry_backoff_max", retryBackoffMax, MIN_RETRY_BACKOFF, MAX_RETRY_BACKOFF);
    if (retryBackoff.compareTo(retryBackoffMax) > 0) {
      throw new IllegalArgumentException(
          "retry_backoff " + retryBackoff + " is longer than retry_backoff_max " + retryBackoffMax);
    }
    if (maxSkillCallsPerStep > maxSkillCallsPerRun) {
      throw new IllegalArgumentException(
          "max_skill_calls_per_step "
              + maxSkillCallsPerStep
              + " exceeds max_skill_calls_per_run "
              + maxSkillCallsPerRun);
    }
    if (stepTimeout.compareTo(runDeadline) > 0) {
      throw new IllegalArgumentException(
          "step_timeout " + stepTimeout + " is longer than run_deadline " + runDeadline);
    }
  }

  private static void between(String field, int value, int max) {
    if (value < 1 || value > max) {
      throw new IllegalArgumentException(field + " must be 1.." + max + ", got " + value);
    }
  }

  private static void between(String field, Duration value, Duration max) {
    between(field, value, MIN_DURATION, max);
  }

  private static void between(String field, Duration value, Duration min, Duration max) {
    Objects.requireNonNull(value, field);
    if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw new IllegalArgumentException(
          field + " must be between " + min + " and " + max + ", got " + value);
    }
  }
}
