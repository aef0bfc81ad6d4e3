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

  /**
   * One recorded policy replay summed up from its rows (suite {@code policy-replay}, docs/policy-
   * replay.md): when it ran (its first row), the candidate's SHA-256, how many decisions it decided
   * again and what they came to, the changes per action, subject (the recorded gate's: an agent or
   * requester; null without a gate) and skill, and a few examples of each change.
   */
  public record Replay(
      String replayId,
      Instant at,
      String candidateSha256,
      long decisions,
      long unchanged,
      long allowToDeny,
      long denyToAllow,
      long notReplayable,
      List<ReplayGroup> changes,
      List<ReplayExample> examples) {}

  /** The changed decisions of one action, subject and skill in a replay. */
  public record ReplayGroup(
      String action, String subject, String skill, long allowToDeny, long denyToAllow) {}

  /** One changed decision: what was recorded, what the candidate decides, and why. */
  public record ReplayExample(
      String change,
      UUID runId,
      String action,
      String subject,
      String skill,
      String recorded,
      String recordedReason,
      String candidate,
      String candidateReason) {}

  /** The action of a replay row, from its case name ({@code replay ID ACTION [SKILL] …}). */
  private static final String ACTION = "split_part(e.case_name, ' ', 3)";

  private static final String SKILL =
      "case when split_part(e.case_name, ' ', 4) in ('gate', 'plan', 'run', '') then null"
          + " else split_part(e.case_name, ' ', 4) end";

  private static final String GATE =
      " left join gates g on g.id = case when e.expected->>'gate_id'"
          + " ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
          + " then (e.expected->>'gate_id')::uuid end";

  /**
   * The newest {@code limit} replays recorded under {@code suite}, newest first, each with up to
   * {@code examples} examples of each change (allow → deny, deny → allow).
   */
  public static List<Replay> replays(Connection c, String suite, int limit, int examples)
      throws SQLException {
    record Head(
        String id, Instant at, String sha, long n, long same, long a2d, long d2a, long not) {}
    List<Head> heads =
        Sql.list(
            c,
            "select e.actual->>'replay_id' as replay_id, min(e.created_at) as at,"
                + " min(e.actual->>'candidate_sha256') as sha, count(*) as n,"
                + " count(*) filter (where e.actual->>'change' = 'unchanged') as same,"
                + " count(*) filter (where e.actual->>'change' = 'allow_to_deny') as a2d,"
                + " count(*) filter (where e.actual->>'change' = 'deny_to_allow') as d2a,"
                + " count(*) filter (where e.actual->>'change' = 'not_replayable') as nr"
                + " from evals e where e.suite = ? and e.actual->>'replay_id' is not null"
                + " group by 1 order by at desc, 1 limit ?",
            rs ->
                new Head(
                    rs.getString("replay_id"),
                    Sql.getInstant(rs, "at"),
                    rs.getString("sha"),
                    rs.getLong("n"),
                    rs.getLong("same"),
                    rs.getLong("a2d"),
                    rs.getLong("d2a"),
                    rs.getLong("nr")),
            suite,
            limit);
    List<Replay> out = new ArrayList<>();
    for (Head h : heads) {
      List<ReplayGroup> groups =
          Sql.list(
              c,
              "select "
                  + ACTION
                  + " as action, g.subject, "
                  + SKILL
                  + " as skill,"
                  + " count(*) filter (where e.actual->>'change' = 'allow_to_deny') as a2d,"
                  + " count(*) filter (where e.actual->>'change' = 'deny_to_allow') as d2a"
                  + " from evals e"
                  + GATE
                  + " where e.suite = ? and e.actual->>'replay_id' = ?"
                  + " and e.actual->>'change' in ('allow_to_deny', 'deny_to_allow')"
                  + " group by 1, 2, 3 order by 1, 2, 3",
              rs ->
                  new ReplayGroup(
                      rs.getString("action"),
                      rs.getString("subject"),
                      rs.getString("skill"),
                      rs.getLong("a2d"),
                      rs.getLong("d2a")),
              suite,
              h.id());
      List<ReplayExample> shown =
          Sql.list(
              c,
              "select * from (select e.actual->>'change' as change, e.run_id, "
                  + ACTION
                  + " as action, g.subject, "
                  + SKILL
                  + " as skill, e.expected->>'decision' as recorded,"
                  + " e.expected->>'reason' as recorded_reason,"
                  + " e.actual->>'decision' as candidate, e.actual->>'reason' as candidate_reason,"
                  + " row_number() over (partition by e.actual->>'change'"
                  + " order by e.created_at, e.id) as nth"
                  + " from evals e"
                  + GATE
                  + " where e.suite = ? and e.actual->>'replay_id' = ?"
                  + " and e.actual->>'change' in ('allow_to_deny', 'deny_to_allow')) x"
                  + " where nth <= ? order by change, nth",
              rs ->
                  new ReplayExample(
                      rs.getString("change"),
                      Sql.getUuid(rs, "run_id"),
                      rs.getString("action"),
                      rs.getString("subject"),
                      rs.getString("skill"),
                      rs.getString("recorded"),
                      rs.getString("recorded_reason"),
                      rs.getString("candidate"),
                      rs.getString("candidate_reason")),
              suite,
              h.id(),
              examples);
      out.add(
          new Replay(
              h.id(), h.at(), h.sha(), h.n(), h.same(), h.a2d(), h.d2a(), h.not(), groups, shown));
    }
    return out;
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
