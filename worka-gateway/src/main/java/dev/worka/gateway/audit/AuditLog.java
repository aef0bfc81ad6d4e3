package dev.worka.gateway.audit;

import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.telemetry.Tracing;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** Writes and reads gates and burns. Writes go on the caller's connection (its transaction). */
public final class AuditLog {
  private final InstantSource clock;
  private final Tracing tracing;

  public AuditLog(InstantSource clock) {
    this(clock, Tracing.off());
  }

  /** An audit log whose gates are also short spans of their run's trace ({@code tracing}). */
  public AuditLog(InstantSource clock, Tracing tracing) {
    this.clock = clock;
    this.tracing = tracing;
  }

  /** The facts of a decision; {@link #recordGate} stamps id and time. */
  public record Decision(
      GateAction action,
      GateStatus status,
      String subject,
      UUID runId,
      UUID stepId,
      Integer attempt,
      String skill,
      String reason,
      UUID policyManifestId,
      String traceId) {}

  /**
   * Appends a gate to the chain on the caller's transaction: locks the chain head (serializing
   * appends), hashes the gate's content with the previous hash, inserts it and moves the head.
   */
  public Gate recordGate(Connection c, Decision d) throws SQLException {
    return recordGate(c, d, UUID.randomUUID());
  }

  /**
   * As {@link #recordGate(Connection, Decision)}, with the gate's id chosen by the caller (who
   * wrote rows referring to it earlier in the same transaction). Call it last before commit: it
   * takes the chain head's lock, which every gate in every run waits for.
   */
  public Gate recordGate(Connection c, Decision d, UUID id) throws SQLException {
    ChainHead head =
        chainHead(c, Lock.UPDATE)
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "the audit chain head is missing (migration V3 not applied?)"));
    Gate unhashed =
        new Gate(
            id,
            d.action(),
            d.status(),
            truncate(d.subject(), 200),
            d.runId(),
            d.stepId(),
            d.attempt(),
            d.skill() == null ? null : truncate(d.skill(), 200),
            truncate(d.reason(), 4000),
            d.policyManifestId(),
            d.traceId(),
            clock.instant().truncatedTo(ChronoUnit.MICROS),
            head.length() + 1,
            head.hash(),
            null);
    Gate gate = withHash(unhashed, GateChain.hash(unhashed));
    // The gate and the chain's new head in one statement (one round trip under the head's lock).
    int moved =
        Sql.update(
            c,
            "with gate as (insert into gates (id, action, status, subject, run_id, step_id, attempt, skill,"
                + " reason, policy_manifest_id, trace_id, created_at, chain_index, prev_hash, hash)"
                + " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning chain_index, hash)"
                + " update audit_chain set length = gate.chain_index, head_hash = gate.hash from gate"
                + " where audit_chain.id = 1",
            gate.id(),
            gate.action().sql(),
            gate.status().sql(),
            gate.subject(),
            gate.runId(),
            gate.stepId(),
            gate.attempt(),
            gate.skill(),
            gate.reason(),
            gate.policyManifestId(),
            gate.traceId(),
            gate.createdAt(),
            gate.chainIndex(),
            gate.prevHash(),
            gate.hash());
    if (moved != 1) {
      throw new IllegalStateException(
          "the audit chain head is missing (migration V3 not applied?)");
    }
    tracing.gate(
        gate.traceId(),
        gate.runId(),
        gate.stepId(),
        gate.attempt(),
        gate.action().sql(),
        gate.status().sql(),
        gate.reason(),
        gate.id(),
        gate.chainIndex(),
        gate.subject(),
        gate.skill());
    tracing.metrics().gate(gate.action().sql(), gate.status().sql());
    return gate;
  }

  /** The chain's head: how many gates it holds and the last one's hash. */
  record ChainHead(long length, String hash) {}

  private static final Map<Lock, String> CHAIN_HEAD =
      Lock.statements("select length, head_hash from audit_chain where id = 1");

  /** The chain's head row, read with {@code lock} ({@link Lock#UPDATE}: appends wait). */
  static Optional<ChainHead> chainHead(Connection c, Lock lock) throws SQLException {
    return Sql.one(c, CHAIN_HEAD.get(lock), rs -> new ChainHead(rs.getLong(1), rs.getString(2)));
  }

  private static Gate withHash(Gate g, String hash) {
    return new Gate(
        g.id(),
        g.action(),
        g.status(),
        g.subject(),
        g.runId(),
        g.stepId(),
        g.attempt(),
        g.skill(),
        g.reason(),
        g.policyManifestId(),
        g.traceId(),
        g.createdAt(),
        g.chainIndex(),
        g.prevHash(),
        hash);
  }

  public Burn recordBurn(
      Connection c,
      UUID runId,
      UUID stepId,
      String agent,
      Integer attempt,
      BurnKind kind,
      String reason,
      String diagnosticsJson)
      throws SQLException {
    Burn burn =
        new Burn(
            UUID.randomUUID(),
            runId,
            stepId,
            agent == null ? null : truncate(agent, 200),
            attempt,
            kind,
            truncate(reason, 4000),
            diagnosticsJson,
            clock.instant());
    Sql.update(
        c,
        "insert into burns (id, run_id, step_id, agent, attempt, kind, reason, diagnostics,"
            + " created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        burn.id(),
        burn.runId(),
        burn.stepId(),
        burn.agent(),
        burn.attempt(),
        burn.kind().sql(),
        burn.reason(),
        Sql.json(burn.diagnosticsJson()),
        burn.createdAt());
    return burn;
  }

  /** Whether the Gateway denied any request of this step attempt (a deny gate names it). */
  public boolean deniedDuring(Connection c, UUID stepId, int attempt) throws SQLException {
    return Sql.one(
            c,
            "select exists (select 1 from gates where step_id = ? and attempt = ? and status ="
                + " 'deny')",
            rs -> rs.getBoolean(1),
            stepId,
            attempt)
        .orElseThrow();
  }

  /** How many requests of this step attempt the Gateway denied (deny gates that name it). */
  public int denialsDuring(Connection c, UUID stepId, int attempt) throws SQLException {
    return Sql.one(
            c,
            "select count(*) from gates where step_id = ? and attempt = ? and status = 'deny'",
            rs -> rs.getInt(1),
            stepId,
            attempt)
        .orElseThrow();
  }

  public List<Gate> gatesOfRun(Connection c, UUID runId) throws SQLException {
    return Sql.list(
        c, "select * from gates where run_id = ? order by seq", AuditLog::readGate, runId);
  }

  /**
   * The newest gates first, filtered by {@code action}, {@code status} and {@code subject} where
   * they are not null; at most {@code limit}, older than the gate {@code before} when it is not
   * null (paging). Gates without a run (refused {@code run.create} requests) are found only this
   * way.
   */
  public static List<Gate> recent(
      Connection c, String action, GateStatus status, String subject, UUID before, int limit)
      throws SQLException {
    StringBuilder sql = new StringBuilder("select * from gates where true");
    List<Object> params = new ArrayList<>();
    if (action != null) {
      sql.append(" and action = ?");
      params.add(action);
    }
    if (status != null) {
      sql.append(" and status = ?");
      params.add(status.sql());
    }
    if (subject != null) {
      sql.append(" and subject = ?");
      params.add(subject);
    }
    if (before != null) {
      sql.append(" and seq < (select seq from gates where id = ?)");
      params.add(before);
    }
    sql.append(" order by seq desc limit ?");
    params.add(limit);
    return Sql.list(c, sql.toString(), AuditLog::readGate, params.toArray());
  }

  static Gate readGate(ResultSet rs) throws SQLException {
    Object index = rs.getObject("chain_index");
    return new Gate(
        Sql.getUuid(rs, "id"),
        GateAction.fromSql(rs.getString("action")),
        GateStatus.valueOf(rs.getString("status").toUpperCase(java.util.Locale.ROOT)),
        rs.getString("subject"),
        Sql.getUuid(rs, "run_id"),
        Sql.getUuid(rs, "step_id"),
        (Integer) rs.getObject("attempt"),
        rs.getString("skill"),
        rs.getString("reason"),
        Sql.getUuid(rs, "policy_manifest_id"),
        rs.getString("trace_id"),
        Sql.getInstant(rs, "created_at"),
        index == null ? 0 : ((Number) index).longValue(),
        rs.getString("prev_hash"),
        rs.getString("hash"));
  }

  public List<Burn> burnsOfRun(Connection c, UUID runId) throws SQLException {
    return Sql.list(
        c,
        "select * from burns where run_id = ? order by created_at, id",
        rs ->
            new Burn(
                Sql.getUuid(rs, "id"),
                Sql.getUuid(rs, "run_id"),
                Sql.getUuid(rs, "step_id"),
                rs.getString("agent"),
                (Integer) rs.getObject("attempt"),
                BurnKind.fromSql(rs.getString("kind")),
                rs.getString("reason"),
                rs.getString("diagnostics"),
                Sql.getInstant(rs, "created_at")),
        runId);
  }

  /**
   * Bounded, storable text: NUL (which PostgreSQL text cannot hold) is removed and other control
   * characters but newline and tab are shown as a backslash-u escape, so a hostile value can
   * neither break the insert nor forge lines in what an operator reads.
   */
  static String truncate(String s, int max) {
    if (s == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(Math.min(s.length(), max + 16));
    for (int i = 0; i < s.length() && b.length() < max; i++) {
      char ch = s.charAt(i);
      if (ch == 0) {
        continue;
      }
      if (Character.isISOControl(ch) && ch != '\n' && ch != '\t') {
        b.append(String.format("\\u%04x", (int) ch));
      } else {
        b.append(ch);
      }
    }
    return b.length() < max || s.length() <= max ? b.toString() : b.substring(0, max - 1) + "…";
  }
}
