package dev.worka.gateway.run;

import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
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
    return Sql.one(
            c,
            "insert into run_events (run_id, step_id, entity, from_status, to_status, actor,"
                + " detail, trace_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
            rs -> rs.getLong(1),
            runId,
            stepId,
            entity,
            from,
            to,
            actor,
            detail == null ? null : detail.length() > 4000 ? detail.substring(0, 4000) : detail,
            traceId,
            at)
        .orElseThrow();
  }

  /**
   * Whether {@code actor} moved step {@code stepId} out of {@code running} (e.g. its agent's result
   * ended the attempt).
   */
  public static boolean movedOutOfRunningBy(Connection c, UUID stepId, String actor)
      throws SQLException {
    return Sql.one(
            c,
            "select 1 from run_events where step_id = ? and entity = 'step' and from_status = 'running'"
                + " and actor = ? limit 1",
            rs -> true,
            stepId,
            actor)
        .isPresent();
  }

  /** Events of a run with an id greater than {@code afterId}, oldest first. */
  public static List<RunEvent> of(Connection c, UUID runId, long afterId, int limit)
      throws SQLException {
    return Sql.list(
        c,
        "select * from run_events where run_id = ? and id > ? order by id limit ?",
        rs ->
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
                Sql.getInstant(rs, "created_at")),
        runId,
        afterId,
        limit);
  }
}
