package dev.worka.gateway.invocation;

import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Sql;
import java.sql.Connection;
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
    Sql.update(
        c,
        "insert into invocation_lock_events (invocation_id, run_id, step_id, skill, idempotency_key, lock_status,"
            + " gate_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
        i.id(),
        i.runId(),
        i.stepId(),
        i.skill(),
        i.idempotencyKey(),
        lockStatus,
        gateId,
        clock.instant());
  }

  /** The lock events of a run's invocations, by invocation id, oldest first. */
  public java.util.Map<UUID, List<String>> lockEventsOfRun(Connection c, UUID runId)
      throws SQLException {
    java.util.Map<UUID, List<String>> events = new java.util.LinkedHashMap<>();
    for (LockEvent e :
        Sql.list(
            c,
            "select invocation_id, lock_status from invocation_lock_events where run_id = ? order by id",
            rs -> new LockEvent(Sql.getUuid(rs, "invocation_id"), rs.getString(2)),
            runId)) {
      events.computeIfAbsent(e.invocationId(), k -> new ArrayList<>()).add(e.lockStatus());
    }
    return events;
  }

  private record LockEvent(UUID invocationId, String lockStatus) {}

  /**
   * Inserts a call's invocation as {@code started} (lock {@code acquired}) and its {@code acquired}
   * lock event, in one statement.
   */
  public void insertStarted(Connection c, Invocation i) throws SQLException {
    Sql.update(
        c,
        "with started as (insert into skill_invocations (id, run_id, step_id, attempt, agent, skill,"
            + " idempotency_key, gate_id, policy_status, lock_status, input, dry_run, status,"
            + " created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'acquired', ?, ?, 'started', ?)"
            + " returning id, run_id, step_id, skill, idempotency_key, gate_id, created_at)"
            + " insert into invocation_lock_events (invocation_id, run_id, step_id, skill, idempotency_key,"
            + " lock_status, gate_id, created_at) select id, run_id, step_id, skill, idempotency_key,"
            + " 'acquired', gate_id, created_at from started",
        i.id(),
        i.runId(),
        i.stepId(),
        i.attempt(),
        i.agent(),
        i.skill(),
        i.idempotencyKey(),
        i.gateId(),
        i.policyStatus(),
        Sql.json(i.inputJson()),
        i.dryRun(),
        clock.instant());
  }

  /**
   * Records a started call's outcome and releases its lock (the {@code released} lock event), with
   * its evidence ({@link Evidence}: an {@code effect}'s upstream reference — a read's names what
   * was read, not an effect —, an output above {@link Evidence#LARGE_OUTPUT_BYTES}) — in one
   * statement: called on a connection in auto-commit, it is durable in one round trip. Does nothing
   * if the invocation is no longer {@code started}.
   */
  public void finish(
      Connection c,
      UUID id,
      String status,
      String outputJson,
      String upstreamRef,
      boolean effect,
      String error,
      String cleaningJson)
      throws SQLException {
    Sql.update(
        c,
        "with done as (update skill_invocations set status = ?, output = ?, upstream_ref = ?, error = ?,"
            + " cleaning = coalesce(?::jsonb, cleaning), lock_status = 'released', completed_at = ?"
            + " where id = ? and status = 'started'"
            + " returning id, run_id, step_id, skill, idempotency_key, gate_id, completed_at),"
            + Evidence.FROM_DONE
            + " insert into invocation_lock_events (invocation_id, run_id, step_id, skill, idempotency_key,"
            + " lock_status, gate_id, created_at) select id, run_id, step_id, skill, idempotency_key,"
            + " 'released', gate_id, completed_at from done",
        Evidence.parameters(
            effect ? upstreamRef : null,
            outputJson,
            status,
            Sql.json(outputJson),
            upstreamRef,
            error,
            cleaningJson,
            clock.instant(),
            id));
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
    return Sql.update(
            c,
            "update skill_invocations set status = 'unknown', error = ?, lock_status = 'released', completed_at = ?"
                + " where id = ? and status = 'started'",
            why,
            clock.instant(),
            id)
        == 1;
  }

  /**
   * {@code unknown} → {@code started} under {@code attempt}: reconciliation found no effect, it is
   * performed now.
   */
  public boolean restart(Connection c, UUID id, int attempt, String why) throws SQLException {
    return Sql.update(
            c,
            "update skill_invocations set status = 'started', attempt = ?, error = ?, lock_status = 'acquired',"
                + " completed_at = null where id = ? and status = 'unknown'",
            attempt,
            why,
            id)
        == 1;
  }

  /**
   * {@code unknown} → {@code succeeded}: reconciliation (or an operator) found the effect upstream;
   * its evidence ({@link Evidence}) is recorded in the same statement.
   */
  public boolean resolvePerformed(
      Connection c, UUID id, String outputJson, String upstreamRef, String cleaningJson, String why)
      throws SQLException {
    return Sql.one(
                c,
                "with done as (update skill_invocations set status = 'succeeded', output = ?,"
                    + " upstream_ref = ?, error = ?, cleaning = coalesce(?::jsonb, cleaning),"
                    + " completed_at = ? where id = ? and status = 'unknown'"
                    + " returning id, run_id, step_id, skill, completed_at),"
                    + Evidence.FROM_DONE
                    + " select count(*) from done",
                rs -> rs.getLong(1),
                Evidence.parameters(
                    upstreamRef,
                    outputJson,
                    Sql.json(outputJson),
                    upstreamRef,
                    why,
                    cleaningJson,
                    clock.instant(),
                    id))
            .orElse(0L)
        == 1;
  }

  /**
   * {@code unknown} → {@code failed}: an operator found no effect upstream; it is not performed
   * again.
   */
  boolean resolveNotPerformed(Connection c, UUID id, String why) throws SQLException {
    return Sql.update(
            c,
            "update skill_invocations set status = 'failed', error = ?, completed_at = ? where id = ? and status = 'unknown'",
            why,
            clock.instant(),
            id)
        == 1;
  }

  /**
   * Notes on an {@code unknown} invocation what its last reconciliation found, and when (it stays
   * unknown).
   */
  public void noteUnresolved(Connection c, UUID id, String why) throws SQLException {
    Sql.update(
        c,
        "update skill_invocations set error = ?, reconciled_at = ? where id = ? and status = 'unknown'",
        why,
        clock.instant(),
        id);
  }

  public Optional<Invocation> byId(Connection c, UUID id) throws SQLException {
    return Sql.one(c, "select * from skill_invocations where id = ?", InvocationStore::read, id);
  }

  public Optional<Invocation> find(Connection c, UUID stepId, String skill, String key)
      throws SQLException {
    return Sql.one(
        c,
        "select * from skill_invocations where step_id = ? and skill = ? and idempotency_key = ?",
        InvocationStore::read,
        stepId,
        skill,
        key);
  }

  /**
   * Counts one more call against the step's limit (on the step's row, which the caller has locked:
   * {@link StepStore#countSkillCall}) and the run's (on the run's count row, which stays locked
   * until the caller commits: call it late); or says which limit is reached and counts nothing. The
   * run is counted only if the step could be.
   */
  public Optional<String> countCall(
      Connection c, UUID stepId, int maxPerStep, UUID runId, int maxPerRun) throws SQLException {
    if (!StepStore.countSkillCall(c, stepId, maxPerStep)) {
      return Optional.of(
          "this step already made "
              + maxPerStep
              + " skill calls, the policy's max_skill_calls_per_step");
    }
    boolean runCounted =
        Sql.update(
                c,
                "insert into run_call_counts as k (run_id, skill_calls) select ?, 1 where ? >= 1"
                    + " on conflict (run_id) do update set skill_calls = k.skill_calls + 1"
                    + " where k.skill_calls < ?",
                runId,
                maxPerRun,
                maxPerRun)
            == 1;
    if (!runCounted) {
      StepStore.uncountSkillCall(c, stepId);
      return Optional.of(
          "this run already made "
              + maxPerRun
              + " skill calls, the policy's max_skill_calls_per_run");
    }
    return Optional.empty();
  }

  public List<Invocation> ofRun(Connection c, UUID runId) throws SQLException {
    return Sql.list(
        c,
        "select * from skill_invocations where run_id = ? order by created_at, id",
        InvocationStore::read,
        runId);
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
