package dev.worka.gateway.invocation;

import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@code skill_invocations} table: one row per mediated call, unique per (step, skill,
 * idempotency key). Its input and identity never change; only its outcome is filled in.
 */
public final class InvocationStore {
  private final InstantSource clock;

  public InvocationStore(InstantSource clock) {
    this.clock = clock;
  }

  /** A recorded invocation. */
  public record Invocation(
      UUID id,
      UUID runId,
      UUID stepId,
      int attempt,
      String agent,
      String skill,
      String idempotencyKey,
      UUID gateId,
      String policyStatus,
      String lockStatus,
      String inputJson,
      String outputJson,
      String upstreamRef,
      boolean dryRun,
      String status,
      String error,
      String cleaningJson,
      java.time.Instant createdAt) {}

  /** Appends a lock event of an invocation (acquired, replayed, conflict, released). */
  public void lockEvent(Connection c, Invocation i, String lockStatus, UUID gateId)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "insert into invocation_lock_events (invocation_id, run_id, step_id, skill, idempotency_key, lock_status,"
                + " gate_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setObject(1, i.id());
      ps.setObject(2, i.runId());
      ps.setObject(3, i.stepId());
      ps.setString(4, i.skill());
      ps.setString(5, i.idempotencyKey());
      ps.setString(6, lockStatus);
      ps.setObject(7, gateId);
      Sql.setInstant(ps, 8, clock.instant());
      ps.executeUpdate();
    }
  }

  /** The lock events of a run's invocations, by invocation id, oldest first. */
  public java.util.Map<UUID, List<String>> lockEventsOfRun(Connection c, UUID runId)
      throws SQLException {
    java.util.Map<UUID, List<String>> events = new java.util.LinkedHashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "select invocation_id, lock_status from invocation_lock_events where run_id = ? order by id")) {
      ps.setObject(1, runId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          events
              .computeIfAbsent(Sql.getUuid(rs, "invocation_id"), k -> new ArrayList<>())
              .add(rs.getString(2));
        }
      }
    }
    return events;
  }

  /**
   * Inserts a call's invocation as {@code started} (lock {@code acquired}) and its {@code acquired}
   * lock event, in one statement.
   */
  public void insertStarted(Connection c, Invocation i) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "with started as (insert into skill_invocations (id, run_id, step_id, attempt, agent, skill,"
                + " idempotency_key, gate_id, policy_status, lock_status, input, dry_run, status,"
                + " created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'acquired', ?, ?, 'started', ?)"
                + " returning id, run_id, step_id, skill, idempotency_key, gate_id, created_at)"
                + " insert into invocation_lock_events (invocation_id, run_id, step_id, skill, idempotency_key,"
                + " lock_status, gate_id, created_at) select id, run_id, step_id, skill, idempotency_key,"
                + " 'acquired', gate_id, created_at from started")) {
      ps.setObject(1, i.id());
      ps.setObject(2, i.runId());
      ps.setObject(3, i.stepId());
      ps.setInt(4, i.attempt());
      ps.setString(5, i.agent());
      ps.setString(6, i.skill());
      ps.setString(7, i.idempotencyKey());
      ps.setObject(8, i.gateId());
      ps.setString(9, i.policyStatus());
      Sql.setJson(ps, 10, i.inputJson());
      ps.setBoolean(11, i.dryRun());
      Sql.setInstant(ps, 12, clock.instant());
      ps.executeUpdate();
    }
  }

  /**
   * Records a started call's outcome and releases its lock (the {@code released} lock event), in
   * one statement: called on a connection in auto-commit, it is durable in one round trip. Does
   * nothing if the invocation is no longer {@code started}.
   */
  public void finish(
      Connection c,
      UUID id,
      String status,
      String outputJson,
      String upstreamRef,
      String error,
      String cleaningJson)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "with done as (update skill_invocations set status = ?, output = ?, upstream_ref = ?, error = ?,"
                + " cleaning = coalesce(?::jsonb, cleaning), lock_status = 'released', completed_at = ?"
                + " where id = ? and status = 'started'"
                + " returning id, run_id, step_id, skill, idempotency_key, gate_id, completed_at)"
                + " insert into invocation_lock_events (invocation_id, run_id, step_id, skill, idempotency_key,"
                + " lock_status, gate_id, created_at) select id, run_id, step_id, skill, idempotency_key,"
                + " 'released', gate_id, completed_at from done")) {
      ps.setString(1, status);
      Sql.setJson(ps, 2, outputJson);
      ps.setString(3, upstreamRef);
      ps.setString(4, error);
      ps.setString(5, cleaningJson);
      Sql.setInstant(ps, 6, clock.instant());
      ps.setObject(7, id);
      ps.executeUpdate();
    }
  }

  /**
   * Whether {@code i} was started longer than {@code callTimeout} ago (no call can still be waiting
   * on it).
   */
  java.time.Instant now() {
    return clock.instant();
  }

  public boolean olderThan(Invocation i, java.time.Duration callTimeout) {
    return i.createdAt() != null && i.createdAt().plus(callTimeout).isBefore(clock.instant());
  }

  /**
   * {@code started} → {@code unknown}: the call's outcome was never recorded and no Gateway is
   * still waiting on it. Returns whether this call made the change.
   */
  public boolean markUnknown(Connection c, UUID id, String why) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "update skill_invocations set status = 'unknown', error = ?, lock_status = 'released', completed_at = ?"
                + " where id = ? and status = 'started'")) {
      ps.setString(1, why);
      Sql.setInstant(ps, 2, clock.instant());
      ps.setObject(3, id);
      return ps.executeUpdate() == 1;
    }
  }

  /**
   * {@code unknown} → {@code started} under {@code attempt}: reconciliation found no effect, it is
   * performed now.
   */
  public boolean restart(Connection c, UUID id, int attempt, String why) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "update skill_invocations set status = 'started', attempt = ?, error = ?, lock_status = 'acquired',"
                + " completed_at = null where id = ? and status = 'unknown'")) {
      ps.setInt(1, attempt);
      ps.setString(2, why);
      ps.setObject(3, id);
      return ps.executeUpdate() == 1;
    }
  }

  /** {@code unknown} → {@code succeeded}: reconciliation found the effect upstream. */
  public boolean resolvePerformed(
      Connection c, UUID id, String outputJson, String upstreamRef, String cleaningJson, String why)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "update skill_invocations set status = 'succeeded', output = ?, upstream_ref = ?, error = ?,"
                + " cleaning = coalesce(?::jsonb, cleaning), completed_at = ? where id = ? and status = 'unknown'")) {
      Sql.setJson(ps, 1, outputJson);
      ps.setString(2, upstreamRef);
      ps.setString(3, why);
      ps.setString(4, cleaningJson);
      Sql.setInstant(ps, 5, clock.instant());
      ps.setObject(6, id);
      return ps.executeUpdate() == 1;
    }
  }

  /**
   * {@code unknown} → {@code failed}: an operator found no effect upstream; it is not performed
   * again.
   */
  boolean resolveNotPerformed(Connection c, UUID id, String why) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "update skill_invocations set status = 'failed', error = ?, completed_at = ? where id = ? and status = 'unknown'")) {
      ps.setString(1, why);
      Sql.setInstant(ps, 2, clock.instant());
      ps.setObject(3, id);
      return ps.executeUpdate() == 1;
    }
  }

  /**
   * Notes on an {@code unknown} invocation what its last reconciliation found, and when (it stays
   * unknown).
   */
  public void noteUnresolved(Connection c, UUID id, String why) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "update skill_invocations set error = ?, reconciled_at = ? where id = ? and status = 'unknown'")) {
      ps.setString(1, why);
      Sql.setInstant(ps, 2, clock.instant());
      ps.setObject(3, id);
      ps.executeUpdate();
    }
  }

  public Optional<Invocation> byId(Connection c, UUID id) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("select * from skill_invocations where id = ?")) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  public Optional<Invocation> find(Connection c, UUID stepId, String skill, String key)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "select * from skill_invocations where step_id = ? and skill = ? and idempotency_key = ?")) {
      ps.setObject(1, stepId);
      ps.setString(2, skill);
      ps.setString(3, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  /**
   * Counts one more call against the step's limit (on the step's row, which the caller has locked)
   * and the run's (on the run's count row, which stays locked until the caller commits: call it
   * late), in one statement; or says which limit is reached and counts nothing. The run is counted
   * only if the step could be.
   */
  public Optional<String> countCall(
      Connection c, UUID stepId, int maxPerStep, UUID runId, int maxPerRun) throws SQLException {
    boolean stepCounted;
    boolean runCounted;
    try (PreparedStatement ps =
        c.prepareStatement(
            "with step as (update steps set skill_calls = skill_calls + 1 where id = ? and skill_calls < ? returning 1),"
                + " run as (insert into run_call_counts as k (run_id, skill_calls) select ?, 1"
                + " where ? >= 1 and exists (select 1 from step)"
                + " on conflict (run_id) do update set skill_calls = k.skill_calls + 1 where k.skill_calls < ?"
                + " returning 1)"
                + " select exists (select 1 from step), exists (select 1 from run)")) {
      ps.setObject(1, stepId);
      ps.setInt(2, maxPerStep);
      ps.setObject(3, runId);
      ps.setInt(4, maxPerRun);
      ps.setInt(5, maxPerRun);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        stepCounted = rs.getBoolean(1);
        runCounted = rs.getBoolean(2);
      }
    }
    if (!stepCounted) {
      return Optional.of(
          "this step already made "
              + maxPerStep
              + " skill calls, the policy's max_skill_calls_per_step");
    }
    if (!runCounted) {
      try (PreparedStatement undo =
          c.prepareStatement("update steps set skill_calls = skill_calls - 1 where id = ?")) {
        undo.setObject(1, stepId);
        undo.executeUpdate();
      }
      return Optional.of(
          "this run already made "
              + maxPerRun
              + " skill calls, the policy's max_skill_calls_per_run");
    }
    return Optional.empty();
  }

  public List<Invocation> ofRun(Connection c, UUID runId) throws SQLException {
    List<Invocation> out = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "select * from skill_invocations where run_id = ? order by created_at, id")) {
      ps.setObject(1, runId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(read(rs));
        }
      }
    }
    return out;
  }

  static Invocation read(ResultSet rs) throws SQLException {
    return new Invocation(
        Sql.getUuid(rs, "id"),
        Sql.getUuid(rs, "run_id"),
        Sql.getUuid(rs, "step_id"),
        rs.getInt("attempt"),
        rs.getString("agent"),
        rs.getString("skill"),
        rs.getString("idempotency_key"),
        Sql.getUuid(rs, "gate_id"),
        rs.getString("policy_status"),
        rs.getString("lock_status"),
        rs.getString("input"),
        rs.getString("output"),
        rs.getString("upstream_ref"),
        rs.getBoolean("dry_run"),
        rs.getString("status"),
        rs.getString("error"),
        rs.getString("cleaning"),
        Sql.getInstant(rs, "created_at"));
  }
}
