package dev.worka.gateway.store;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * How every repository talks SQL: run one statement on the caller's connection ({@link #one},
 * {@link #list}, {@link #update}, {@link #execute}) with its parameters bound by position, and the
 * conversions between Java values and PostgreSQL columns. The SQL itself stays plain text in the
 * repository that owns the table; there is no reflection and no mapping by name beyond what a
 * {@link RowMapper} reads.
 *
 * <p>A parameter is bound by its Java type: {@link String}, {@link UUID}, {@link Integer}, {@link
 * Long}, {@link Boolean}, {@link Instant} (as {@code timestamptz}), a {@link java.sql.Array} (see
 * {@link #uuidArray}, {@link #textArray}), or JSON text wrapped by {@link #json}. A null is an
 * untyped SQL NULL (PostgreSQL takes its type from where it stands). Anything else is refused.
 */
public final class Sql {
  private Sql() {}

  /**
   * The first row of {@code sql}'s result read by {@code mapper} ({@code sql} selects by a key, or
   * says {@code limit 1}); empty when there is no row, or when {@code mapper} read a null.
   */
  public static <T> Optional<T> one(Connection c, String sql, RowMapper<T> mapper, Object... params)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, params);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.ofNullable(mapper.map(rs)) : Optional.empty();
      }
    }
  }

  /** Every row of {@code sql}'s result read by {@code mapper}, in the result's order. */
  public static <T> List<T> list(Connection c, String sql, RowMapper<T> mapper, Object... params)
      throws SQLException {
    return collect(c, sql, mapper, new ArrayList<>(), params);
  }

  /** As {@link #list}, into {@code rows} (e.g. a set); returns {@code rows}. */
  public static <T, C extends Collection<? super T>> C collect(
      Connection c, String sql, RowMapper<T> mapper, C rows, Object... params) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, params);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(mapper.map(rs));
        }
      }
      return rows;
    }
  }

  /**
   * Runs an insert, update or delete without {@code returning}; returns how many rows it changed.
   */
  public static int update(Connection c, String sql, Object... params) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, params);
      return ps.executeUpdate();
    }
  }

  /**
   * Runs a statement whose result nobody reads, e.g. {@code select pg_advisory_xact_lock(?)}: its
   * effect is the point.
   */
  public static void execute(Connection c, String sql, Object... params) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, params);
      ps.execute();
    }
  }

  /**
   * A JSON parameter (text PostgreSQL parses where it stands, e.g. into a {@code jsonb} column).
   */
  public static Object json(String text) {
    return text == null ? null : new JsonText(text);
  }

  private record JsonText(String text) {}

  /** Binds {@code params} to {@code ps} by position, each by its Java type (see the class doc). */
  private static void bind(PreparedStatement ps, Object[] params) throws SQLException {
    for (int i = 0; i < params.length; i++) {
      int index = i + 1;
      switch (params[i]) {
        case null -> ps.setNull(index, Types.OTHER);
        case String s -> ps.setString(index, s);
        case UUID u -> ps.setObject(index, u);
        case Integer n -> ps.setInt(index, n);
        case Long n -> ps.setLong(index, n);
        case Boolean b -> ps.setBoolean(index, b);
        case Instant t -> setInstant(ps, index, t);
        case JsonText j -> ps.setObject(index, j.text(), Types.OTHER);
        case Array a -> ps.setArray(index, a);
        default ->
            throw new IllegalArgumentException(
                "SQL parameter "
                    + index
                    + " is a "
                    + params[i].getClass().getName()
                    + ", which Sql does not bind (pass its SQL form)");
      }
    }
  }

  static void setInstant(PreparedStatement ps, int index, Instant value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      ps.setObject(index, OffsetDateTime.ofInstant(value, ZoneOffset.UTC));
    }
  }

  public static Instant getInstant(ResultSet rs, String column) throws SQLException {
    Timestamp ts = rs.getTimestamp(column);
    return ts == null ? null : ts.toInstant();
  }

  static void setJson(PreparedStatement ps, int index, String json) throws SQLException {
    if (json == null) {
      ps.setNull(index, Types.OTHER);
    } else {
      ps.setObject(index, json, Types.OTHER);
    }
  }

  public static UUID getUuid(ResultSet rs, String column) throws SQLException {
    return rs.getObject(column, UUID.class);
  }

  public static Array uuidArray(Connection c, Collection<UUID> values) throws SQLException {
    return c.createArrayOf("uuid", values.toArray());
  }

  public static Array textArray(Connection c, Collection<String> values) throws SQLException {
    return c.createArrayOf("text", values.toArray());
  }

  public static List<UUID> getUuids(ResultSet rs, String column) throws SQLException {
    Array array = rs.getArray(column);
    List<UUID> out = new ArrayList<>();
    if (array != null) {
      for (Object o : (Object[]) array.getArray()) {
        out.add((UUID) o);
      }
    }
    return out;
  }

  public static List<String> getStrings(ResultSet rs, String column) throws SQLException {
    Array array = rs.getArray(column);
    List<String> out = new ArrayList<>();
    if (array != null) {
      for (Object o : (Object[]) array.getArray()) {
        out.add((String) o);
      }
    }
    return out;
  }
}
