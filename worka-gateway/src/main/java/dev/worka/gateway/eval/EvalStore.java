package dev.worka.gateway.eval;

import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** The {@code evals} table: one row per judged case. Rows are only inserted, never changed. */
public final class EvalStore {
  private EvalStore() {}

  /** One row: {@code expectedJson} and {@code actualJson} are JSON text (or null). */
  public record EvalRow(
      UUID id,
      String suite,
      String caseName,
      UUID runId,
      boolean passed,
      String expectedJson,
      String actualJson,
      Instant createdAt) {}

  /** Inserts a row on {@code c}; returns its id. */
  public static UUID insert(
      Connection c,
      String suite,
      String caseName,
      UUID runId,
      boolean passed,
      String expectedJson,
      String actualJson)
      throws SQLException {
    UUID id = UUID.randomUUID();
    Sql.update(
        c,
        "insert into evals (id, suite, case_name, run_id, passed, expected, actual)"
            + " values (?, ?, ?, ?, ?, ?, ?)",
        id,
        suite,
        caseName,
        runId,
        passed,
        Sql.json(expectedJson),
        Sql.json(actualJson));
    return id;
  }

  /** Rows newest first, only of {@code suite} and of {@code runId} where they are not null. */
  public static List<EvalRow> recent(Connection c, String suite, UUID runId, int limit)
      throws SQLException {
    StringBuilder sql =
        new StringBuilder(
            "select id, suite, case_name, run_id, passed, expected::text as expected,"
                + " actual::text as actual, created_at from evals where true");
    List<Object> params = new ArrayList<>();
    if (suite != null) {
      sql.append(" and suite = ?");
      params.add(suite);
    }
    if (runId != null) {
      sql.append(" and run_id = ?");
      params.add(runId);
    }
    sql.append(" order by created_at desc, id desc limit ?");
    params.add(limit);
    return Sql.list(c, sql.toString(), EvalStore::read, params.toArray());
  }

  /** Whether run {@code runId} exists (an eval row may only name a real run). */
  public static boolean runExists(Connection c, UUID runId) throws SQLException {
    return Sql.one(c, "select 1 from runs where id = ?", rs -> true, runId).isPresent();
  }

  private static EvalRow read(ResultSet rs) throws SQLException {
    return new EvalRow(
        Sql.getUuid(rs, "id"),
        rs.getString("suite"),
        rs.getString("case_name"),
        Sql.getUuid(rs, "run_id"),
        rs.getBoolean("passed"),
        rs.getString("expected"),
        rs.getString("actual"),
        Sql.getInstant(rs, "created_at"));
  }
}
