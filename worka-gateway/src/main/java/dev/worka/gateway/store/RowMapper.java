package dev.worka.gateway.store;

import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Reads the row a result is positioned on into a value; {@link Sql#one} and {@link Sql#list} call
 * it once per row. Read columns only: never move the cursor.
 */
@FunctionalInterface
public interface RowMapper<T> {
  T map(ResultSet row) throws SQLException;
}
