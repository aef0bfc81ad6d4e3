package dev.worka.gateway.store;

import dev.worka.gateway.error.WorkaException;
import java.sql.SQLException;

/** A database operation failed. Connection-level failures are retryable. */
public final class StoreException extends WorkaException {
  public StoreException(String message, Throwable cause) {
    super(message + ": " + (cause == null ? "" : cause.getMessage()), cause, isTransient(cause));
  }

  private static boolean isTransient(Throwable cause) {
    if (cause instanceof SQLException e) {
      String state = e.getSQLState();
      // 08 = connection exception, 57P = operator intervention (shutdown), 40 = rollback
      // (serialization)
      return state != null
          && (state.startsWith("08") || state.startsWith("57P") || state.startsWith("40"));
    }
    return cause instanceof java.sql.SQLTransientException;
  }
}
