package dev.worka.gateway.run;

import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@code runs} table. Every status change is a compare-and-set update written with its {@code
 * run_events} row on the caller's connection, so both commit together.
 */
public final class RunStore {
  private final InstantSource clock;

  public RunStore(InstantSource clock) {
    this.clock = clock;
  }

  /** What a new run is made of. */
  public record NewRun(
      String source,
      String text,
      String requester,
      String slackChannel,
      String slackUser,
      String slackThreadTs,
      String deliveryJson,
      String idempotencyKey,
      String requestHash,
      String traceId,
      UUID policyManifestId,
      Instant deadline) {}

  /** Inserts a run in {@code received} with its first event. */
  public Run insert(Connection c, NewRun n, String actor) throws SQLException {
    UUID id = UUID.randomUUID();
    Instant now = clock.instant();
    try (PreparedStatement ps =
        c.prepareStatement(
            "insert into runs (id, status, source, text, requester, slack_channel, slack_user,"
                + " slack_thread_ts, delivery, idempotency_key, request_hash, trace_id,"
                + " policy_manifest_id, deadline, created_at, updated_at)"
                + " values (?, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setObject(1, id);
      ps.setString(2, n.source());
      ps.setString(3, n.text());
      ps.setString(4, n.requester());
      ps.setString(5, n.slackChannel());
      ps.setString(6, n.slackUser());
      ps.setString(7, n.slackThreadTs());
      Sql.setJson(ps, 8, n.deliveryJson() == null ? "{}" : n.deliveryJson());
      ps.setString(9, n.idempotencyKey());
      ps.setString(10, n.requestHash());
      ps.setString(11, n.traceId());
      ps.setObject(12, n.policyManifestId());
      Sql.setInstant(ps, 13, n.deadline());
      Sql.setInstant(ps, 14, now);
      Sql.setInstant(ps, 15, now);
      ps.executeUpdate();
    }
    RunEvents.append(
        c, id, null, "run", null, RunStatus.RECEIVED.sql(), actor, "run created", n.traceId(), now);
    RunNotifications.owe(c, id, RunNotifications.ACK, n.source(), now);
    return find(c, id).orElseThrow();
  }

  /**
   * Moves a run from {@code from} to {@code to} if it is still in {@code from}. {@code error} and
   * {@code resultJson}, when non-null, are stored with the move.
   */
  public Transition transition(
      Connection c,
      UUID runId,
      RunStatus from,
      RunStatus to,
      String actor,
      String detail,
      String error,
      String resultJson)
      throws SQLException {
    if (!RunStatus.MACHINE.allows(from, to)) {
      return new Transition.Illegal(from.sql(), to.sql());
    }
    Instant now = clock.instant();
    String traceId;
    try (PreparedStatement ps =
        c.prepareStatement(
            "update runs set status = ?, version = version + 1, updated_at = ?,"
                + " error = coalesce(?, error), result = coalesce(?::jsonb, result),"
                + " completed_at = case when ? then ? else completed_at end"
                + " where id = ? and status = ? returning trace_id, source")) {
      ps.setString(1, to.sql());
      Sql.setInstant(ps, 2, now);
      ps.setString(3, error);
      ps.setString(4, resultJson);
      ps.setBoolean(5, to.terminal());
      Sql.setInstant(ps, 6, now);
      ps.setObject(7, runId);
      ps.setString(8, from.sql());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return new Transition.LostRace(
              find(c, runId).map(r -> r.status().sql()).orElse("missing"));
        }
        traceId = rs.getString(1);
        if (to.terminal()) {
          RunNotifications.owe(c, runId, RunNotifications.RESULT, rs.getString(2), now);
        }
      }
    }
    long event =
        RunEvents.append(c, runId, null, "run", from.sql(), to.sql(), actor, detail, traceId, now);
    return new Transition.Applied(event);
  }

  public Optional<Run> find(Connection c, UUID id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("select * from runs where id = ?")) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  /** Locks the run's row for the rest of the transaction (serializes run-level decisions). */
  public Optional<Run> lock(Connection c, UUID id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("select * from runs where id = ? for update")) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  /**
   * Locks the run's row FOR SHARE for the rest of the transaction: its status cannot change (a
   * cancellation waits) while other transactions that share it proceed. Never update a row locked
   * this way in the same transaction: two sharers upgrading would deadlock.
   */
  public Optional<Run> lockShared(Connection c, UUID id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("select * from runs where id = ? for share")) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  public Optional<Run> findByIdempotencyKey(Connection c, String key) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("select * from runs where idempotency_key = ?")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  /** The class of the advisory locks that serialize the run-creation decisions of one requester. */
  private static final int REQUESTER_LOCK_CLASS = 0x574b_5243; // "WKRC"

  /**
   * In the caller's transaction, until it ends: waits for, then holds, the right to decide on new
   * runs of {@code requester} of {@code source} (null: the operator itself), so two requests of one
   * requester never both take the last place of a quota.
   */
  public void lockRequester(Connection c, String source, String requester) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("select pg_advisory_xact_lock(?, hashtext(?))")) {
      ps.setInt(1, REQUESTER_LOCK_CLASS);
      ps.setString(2, source + ":" + (requester == null ? "" : requester));
      ps.execute();
    }
  }

  /**
   * What {@code ingress.quotas} count for one requester of one source: runs created since {@code
   * since} (and the oldest of them, from which the hourly quota frees a place), and runs that have
   * not ended. {@code requester} null is the operator acting as itself.
   */
  public record RequesterRuns(int inWindow, Instant oldestInWindow, int notEnded) {}

  public RequesterRuns requesterRuns(Connection c, String source, String requester, Instant since)
      throws SQLException {
    String who = requester == null ? "" : requester;
    try (PreparedStatement ps =
        c.prepareStatement(
            "select count(*) filter (where created_at > ?) as in_window,"
                + " min(created_at) filter (where created_at > ?) as oldest_in_window,"
                + " count(*) filter (where status in ('received', 'planning', 'running', 'delivering'))"
                + " as not_ended"
                + " from runs where source = ? and coalesce(requester, '') = ?"
                + " and (created_at > ? or status in ('received', 'planning', 'running', 'delivering'))")) {
      Sql.setInstant(ps, 1, since);
      Sql.setInstant(ps, 2, since);
      ps.setString(3, source);
      ps.setString(4, who);
      Sql.setInstant(ps, 5, since);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new RequesterRuns(
            rs.getInt("in_window"), Sql.getInstant(rs, "oldest_in_window"), rs.getInt("not_ended"));
      }
    }
  }

  /** Newest first; {@code status} may be null for all. */
  public List<Run> list(Connection c, RunStatus status, int limit) throws SQLException {
    String sql =
        status == null
            ? "select * from runs order by created_at desc, id desc limit ?"
            : "select * from runs where status = ? order by created_at desc, id desc limit ?";
    List<Run> runs = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      if (status != null) {
        ps.setString(i++, status.sql());
      }
      ps.setInt(i, limit);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          runs.add(read(rs));
        }
      }
    }
    return runs;
  }

  private static Run read(ResultSet rs) throws SQLException {
    return new Run(
        Sql.getUuid(rs, "id"),
        RunStatus.fromSql(rs.getString("status")),
        rs.getString("source"),
        rs.getString("text"),
        rs.getString("requester"),
        rs.getString("slack_channel"),
        rs.getString("slack_user"),
        rs.getString("slack_thread_ts"),
        rs.getString("delivery"),
        rs.getString("idempotency_key"),
        rs.getString("request_hash"),
        rs.getString("trace_id"),
        Sql.getUuid(rs, "policy_manifest_id"),
        rs.getString("result"),
        rs.getString("error"),
        Sql.getInstant(rs, "deadline"),
        Sql.getInstant(rs, "created_at"),
        Sql.getInstant(rs, "updated_at"),
        Sql.getInstant(rs, "completed_at"));
  }
}
