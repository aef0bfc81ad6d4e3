package dev.worka.gateway.run;

import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** The append-only {@code run_events} table. */
public final class RunEvents {
  private RunEvents() {}

  static long append(
      Connection c,
      UUID runId,
      UUID stepId,
      String entity,
      String from,
      String to,
      String actor,
      String detail,
      String traceId,
      Instant at)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "insert into run_events (run_id, step_id, entity, from_status, to_status, actor,"
                + " detail, trace_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning id")) {
      ps.setObject(1, runId);
      ps.setObject(2, stepId);
      ps.setString(3, entity);
      ps.setString(4, from);
      ps.setString(5, to);
      ps.setString(6, actor);
      ps.setString(
          7, detail == null ? null : detail.length() > 4000 ? detail.substring(0, 4000) : detail);
      ps.setString(8, traceId);
      Sql.setInstant(ps, 9, at);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Events of a run with an id greater than {@code afterId}, oldest first. */
  public static List<RunEvent> of(Connection c, UUID runId, long afterId, int limit)
      throws SQLException {
    List<RunEvent> events = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "select * from run_events where run_id = ? and id > ? order by id limit ?")) {
      ps.setObject(1, runId);
      ps.setLong(2, afterId);
      ps.setInt(3, limit);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          events.add(
              new RunEvent(
                  rs.getLong("id"),
                  Sql.getUuid(rs, "run_id"),
                  Sql.getUuid(rs, "step_id"),
                  rs.getString("entity"),
                  rs.getString("from_status"),
                  rs.getString("to_status"),
                  rs.getString("actor"),
                  rs.getString("detail"),
                  rs.getString("trace_id"),
                  Sql.getInstant(rs, "created_at")));
        }
      }
    }
    return events;
  }
}
