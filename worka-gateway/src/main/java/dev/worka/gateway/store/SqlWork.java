package dev.worka.gateway.store;

import java.sql.Connection;

/** Work done on one connection inside a transaction. */
@FunctionalInterface
public interface SqlWork<T> {
  T apply(Connection connection) throws Exception;
}
