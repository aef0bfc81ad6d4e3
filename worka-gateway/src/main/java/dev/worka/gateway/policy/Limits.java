package dev.worka.gateway.policy;

import java.time.Duration;
import java.util.Objects;

/**
 * The manifest's {@code limits:}. Every value is bounded on both sides, so a typo cannot turn a
 * limit off.
 */
public record Limits(
    int maxSteps,
    int maxSkillCallsPerStep,
    int maxSkillCallsPerRun,
    Duration stepTimeout,
    int maxAttempts,
    Duration runDeadline,
    int maxConcurrentSteps) {

  static final int MAX_STEPS = 64; // the plan schema's maxItems
  static final int MAX_SKILL_CALLS_PER_STEP = 10_000;
  static final int MAX_SKILL_CALLS_PER_RUN = 100_000;
  static final int MAX_ATTEMPTS = 10;
  static final int MAX_CONCURRENT_STEPS = 64;
  static final Duration MIN_DURATION = Duration.ofSeconds(1);
  static final Duration MAX_STEP_TIMEOUT = Duration.ofHours(24);
  static final Duration MAX_RUN_DEADLINE = Duration.ofDays(7);

  // after the bounds above: static fields initialize in order
  /** The limits of a manifest that does not state them. */
  public static final Limits DEFAULTS =
      new Limits(8, 50, 200, Duration.ofSeconds(120), 3, Duration.ofMinutes(15), 4);

  public Limits {
    between("max_steps", maxSteps, MAX_STEPS);
    between("max_skill_calls_per_step", maxSkillCallsPerStep, MAX_SKILL_CALLS_PER_STEP);
    between("max_skill_calls_per_run", maxSkillCallsPerRun, MAX_SKILL_CALLS_PER_RUN);
    between("max_attempts", maxAttempts, MAX_ATTEMPTS);
    between("max_concurrent_steps", maxConcurrentSteps, MAX_CONCURRENT_STEPS);
    between("step_timeout", stepTimeout, MAX_STEP_TIMEOUT);
    between("run_deadline", runDeadline, MAX_RUN_DEADLINE);
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
    Objects.requireNonNull(value, field);
    if (value.compareTo(MIN_DURATION) < 0 || value.compareTo(max) > 0) {
      throw new IllegalArgumentException(
          field + " must be between " + MIN_DURATION + " and " + max + ", got " + value);
    }
  }
}
