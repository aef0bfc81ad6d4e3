package dev.worka.gateway.delivery;

import dev.worka.gateway.error.WorkaException;

/** A notification could not be sent; {@link #retryable()} says whether trying again may help. */
public class NotificationFailedException extends WorkaException {
  public NotificationFailedException(String message, boolean retryable, Throwable cause) {
    super(message, cause, retryable);
  }

  public NotificationFailedException(String message, boolean retryable) {
    this(message, retryable, null);
  }
}
