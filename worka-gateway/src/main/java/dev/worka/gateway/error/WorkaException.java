package dev.worka.gateway.error;

/**
 * The root of Worka's unchecked exceptions for real failures. Subclasses carry the ids (run, step,
 * skill) of what failed in their message. {@link #retryable()} is data, not a guess from the
 * exception's class.
 */
public class WorkaException extends RuntimeException {
  private final boolean retryable;

  public WorkaException(String message) {
    this(message, null, false);
  }

  public WorkaException(String message, Throwable cause) {
    this(message, cause, false);
  }

  public WorkaException(String message, Throwable cause, boolean retryable) {
    super(message, cause);
    this.retryable = retryable;
  }

  /** Whether trying the same thing again later may succeed. */
  public boolean retryable() {
    return retryable;
  }
}
