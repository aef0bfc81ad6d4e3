package dev.worka.gateway.store;

import dev.worka.gateway.error.WorkaException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.sql.DataSource;

/**
 * Runs work in one transaction: commit on return, rollback on any exception. Side effects on the
 * outside world never happen inside {@link #inTransaction}: callers commit first, then act.
 *
 * <p>Work holds one connection of the pool and does everything on it: code called inside {@link
 * #inTransaction} or {@link #withConnection} takes the caller's connection and never asks the pool
 * for a second one. A thread that holds one connection while it waits for another deadlocks once
 * every connection of the pool is held that way. With assertions enabled (as in the tests), such a
 * second borrow on the same thread is recorded with where it happened ({@link #secondBorrowsSeen});
 * without them nothing is checked and nothing costs.
 */
public final class Transactions {
  private Transactions() {}

  private static final boolean CHECKED = Transactions.class.desiredAssertionStatus();

  /** The pool this thread holds a connection of, while it does (only when {@link #CHECKED}). */
  private static final ThreadLocal<DataSource> HOLDING = new ThreadLocal<>();

  /** Second borrows seen since the last {@link #secondBorrowsSeen} (only when {@link #CHECKED}). */
  private static final Queue<Throwable> SECOND_BORROWS = new ConcurrentLinkedQueue<>();

  public static <T> T inTransaction(DataSource dataSource, SqlWork<T> work) {
    DataSource held = CHECKED ? borrowing(dataSource) : null;
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
    } finally {
      if (CHECKED) {
        HOLDING.set(held);
      }
    }
  }

  /** One statement or a read that needs no transaction. */
  public static <T> T withConnection(DataSource dataSource, SqlWork<T> work) {
    DataSource held = CHECKED ? borrowing(dataSource) : null;
    try (Connection connection = dataSource.getConnection()) {
      return work.apply(connection);
    } catch (SQLException e) {
      throw new StoreException("database call failed", e);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new WorkaException("database call failed: " + e.getMessage(), e);
    } finally {
      if (CHECKED) {
        HOLDING.set(held);
      }
    }
  }

  /**
   * Notes that this thread takes a connection of {@code pool}, recording a second borrow of a pool
   * it holds one of already; returns the pool it held before, to restore after.
   */
  @SuppressWarnings("ReferenceEquality") // the same pool object, not an equal one
  private static DataSource borrowing(DataSource pool) {
    DataSource held = HOLDING.get();
    if (held == pool) {
      SECOND_BORROWS.add(
          new IllegalStateException(
              "a second connection of the pool was asked for by a thread that holds one already"
                  + " (inside inTransaction/withConnection): pass the caller's connection instead"));
    }
    HOLDING.set(pool);
    return held;
  }

  /**
   * The second borrows recorded since the last call (each with the stack that asked), and forgets
   * them; always empty when assertions are disabled. Tests fail on any.
   */
  static List<Throwable> secondBorrowsSeen() {
    List<Throwable> seen = new ArrayList<>();
    for (Throwable t; (t = SECOND_BORROWS.poll()) != null; ) {
      seen.add(t);
    }
    return seen;
  }

  private static void rollbackQuietly(Connection connection, Throwable cause) {
    try {
      connection.rollback();
    } catch (SQLException rollbackFailure) {
      cause.addSuppressed(rollbackFailure);
    }
  }
}
