package dev.worka.gateway.store;

import dev.worka.gateway.error.WorkaException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Runs work in one transaction: commit on return, rollback on any exception. Side effects on the
 * outside world never happen inside {@link #inTransaction}: callers commit first, then act.
 */
public final class Transactions {
  private Transactions() {}

  public static <T> T inTransaction(DataSource dataSource, SqlWork<T> work) {
    try (Connection connection = dataSource.getConnection()) {
      boolean autoCommit = connection.getAutoCommit();
      connection.setAutoCommit(false);
      try {
        T result = work.apply(connection);
        connection.commit();
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        rollbackQuietly(connection, e);
        throw e;
      } catch (Exception e) {
        rollbackQuietly(connection, e);
        throw new WorkaException("transaction failed: " + e.getMessage(), e);
      } finally {
        connection.setAutoCommit(autoCommit);
      }
    } catch (SQLException e) {
      throw new StoreException("database transaction failed", e);
    }
  }

  /** One statement or a read that needs no transaction. */
  public static <T> T withConnection(DataSource dataSource, SqlWork<T> work) {
    try (Connection connection = dataSource.getConnection()) {
      return work.apply(connection);
    } catch (SQLException e) {
      throw new StoreException("database call failed", e);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new WorkaException("database call failed: " + e.getMessage(), e);
    }
  }

  private static void rollbackQuietly(Connection connection, Throwable cause) {
    try {
      connection.rollback();
    } catch (SQLException rollbackFailure) {
      cause.addSuppressed(rollbackFailure);
    }
  }
}
