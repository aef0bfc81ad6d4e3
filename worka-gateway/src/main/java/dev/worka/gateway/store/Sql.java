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
import java.util.UUID;

/** Conversions between Java values and PostgreSQL parameters/columns used by every repository. */
public final class Sql {
  private Sql() {}

  public static void setInstant(PreparedStatement ps, int index, Instant value)
      throws SQLException {
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

  public static void setJson(PreparedStatement ps, int index, String json) throws SQLException {
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
