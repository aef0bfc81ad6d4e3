package dev.worka.gateway.audit;

import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Writes and reads gates and burns. Writes go on the caller's connection (its transaction). */
public final class AuditLog {
  private final InstantSource clock;

  public AuditLog(InstantSource clock) {
    this.clock = clock;
  }

  /** The facts of a decision; {@link #recordGate} stamps id and time. */
  public record Decision(
      String action,
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
    long length;
    String prevHash;
    try (PreparedStatement ps =
            c.prepareStatement(
                "select length, head_hash from audit_chain where id = 1 for update");
        ResultSet rs = ps.executeQuery()) {
      if (!rs.next()) {
        throw new IllegalStateException(
            "the audit chain head is missing (migration V3 not applied?)");
      }
      length = rs.getLong(1);
      prevHash = rs.getString(2);
    }
    Gate unhashed =
        new Gate(
            id,
            truncate(d.action(), 100),
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
            length + 1,
            prevHash,
            null);
    Gate gate = withHash(unhashed, GateChain.hash(unhashed));
    // The gate and the chain's new head in one statement (one round trip under the head's lock).
    try (PreparedStatement ps =
        c.prepareStatement(
            "with gate as (insert into gates (id, action, status, subject, run_id, step_id, attempt, skill,"
                + " reason, policy_manifest_id, trace_id, created_at, chain_index, prev_hash, hash)"
                + " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning chain_index, hash)"
                + " update audit_chain set length = gate.chain_index, head_hash = gate.hash from gate"
                + " where audit_chain.id = 1")) {
      ps.setObject(1, gate.id());
      ps.setString(2, gate.action());
      ps.setString(3, gate.status().sql());
      ps.setString(4, gate.subject());
      ps.setObject(5, gate.runId());
      ps.setObject(6, gate.stepId());
      ps.setObject(7, gate.attempt());
      ps.setString(8, gate.skill());
      ps.setString(9, gate.reason());
      ps.setObject(10, gate.policyManifestId());
      ps.setString(11, gate.traceId());
      Sql.setInstant(ps, 12, gate.createdAt());
      ps.setLong(13, gate.chainIndex());
      ps.setString(14, gate.prevHash());
      ps.setString(15, gate.hash());
      if (ps.executeUpdate() != 1) {
        throw new IllegalStateException(
            "the audit chain head is missing (migration V3 not applied?)");
      }
    }
    return gate;
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
      String kind,
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
    try (PreparedStatement ps =
        c.prepareStatement(
            "insert into burns (id, run_id, step_id, agent, attempt, kind, reason, diagnostics,"
                + " created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setObject(1, burn.id());
      ps.setObject(2, burn.runId());
      ps.setObject(3, burn.stepId());
      ps.setString(4, burn.agent());
      ps.setObject(5, burn.attempt());
      ps.setString(6, burn.kind());
      ps.setString(7, burn.reason());
      Sql.setJson(ps, 8, burn.diagnosticsJson());
      Sql.setInstant(ps, 9, burn.createdAt());
      ps.executeUpdate();
    }
    return burn;
  }

  /** Whether the Gateway denied any request of this step attempt (a deny gate names it). */
  public boolean deniedDuring(Connection c, UUID stepId, int attempt) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "select exists (select 1 from gates where step_id = ? and attempt = ? and status ="
                + " 'deny')")) {
      ps.setObject(1, stepId);
      ps.setInt(2, attempt);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  public List<Gate> gatesOfRun(Connection c, UUID runId) throws SQLException {
    List<Gate> gates = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement("select * from gates where run_id = ? order by seq")) {
      ps.setObject(1, runId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          gates.add(readGate(rs));
        }
      }
    }
    return gates;
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
    List<Gate> gates = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
      for (int i = 0; i < params.size(); i++) {
        ps.setObject(i + 1, params.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          gates.add(readGate(rs));
        }
      }
    }
    return gates;
  }

  static Gate readGate(ResultSet rs) throws SQLException {
    Object index = rs.getObject("chain_index");
    return new Gate(
        Sql.getUuid(rs, "id"),
        rs.getString("action"),
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
    List<Burn> burns = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement("select * from burns where run_id = ? order by created_at, id")) {
      ps.setObject(1, runId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          burns.add(
              new Burn(
                  Sql.getUuid(rs, "id"),
                  Sql.getUuid(rs, "run_id"),
                  Sql.getUuid(rs, "step_id"),
                  rs.getString("agent"),
                  (Integer) rs.getObject("attempt"),
                  rs.getString("kind"),
                  rs.getString("reason"),
                  rs.getString("diagnostics"),
                  Sql.getInstant(rs, "created_at")));
        }
      }
    }
    return burns;
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
