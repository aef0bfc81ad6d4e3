package dev.worka.gateway.run;

import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@code run_refusals} table (append-only): requests from an external event (a Slack event or
 * command, a GitHub comment) that were refused a run, by the idempotency key the run would have
 * had, with the gate that recorded the refusal. A retry or replay of the same signed event finds it
 * and is answered with the same refusal, without a second gate: what a replayed delivery can write
 * is bounded by the events that really happened.
 */
public final class RunRefusals {
  private RunRefusals() {}

  /** Why a request got no run; the stable error code of its answer. */
  public enum Kind {
    INGRESS_DENIED("ingress_denied"),
    QUOTA_EXCEEDED("quota_exceeded");

    private final String sql;

    Kind(String sql) {
      this.sql = sql;
    }

    public String sql() {
      return sql;
    }

    static Kind fromSql(String s) {
      for (Kind k : values()) {
        if (k.sql.equals(s)) {
          return k;
        }
      }
      throw new IllegalStateException("unknown refusal kind " + s);
    }
  }

  /** A recorded refusal, with its gate's reason. */
  public record Refusal(
      String idempotencyKey, UUID gateId, Kind kind, String reason, Instant createdAt) {}

  public static Optional<Refusal> find(Connection c, String idempotencyKey) throws SQLException {
    return Sql.one(
        c,
        "select r.idempotency_key, r.gate_id, r.kind, g.reason, r.created_at from run_refusals r"
            + " join gates g on g.id = r.gate_id where r.idempotency_key = ?",
        rs ->
            new Refusal(
                rs.getString(1),
                Sql.getUuid(rs, "gate_id"),
                Kind.fromSql(rs.getString(3)),
                rs.getString(4),
                Sql.getInstant(rs, "created_at")),
        idempotencyKey);
  }

  /**
   * Records the refusal; a second one of the same key fails the transaction (a unique violation).
   */
  public static void record(
      Connection c, String idempotencyKey, UUID gateId, Kind kind, Instant now)
      throws SQLException {
    Sql.update(
        c,
        "insert into run_refusals (idempotency_key, gate_id, kind, created_at) values (?, ?, ?, ?)",
        idempotencyKey,
        gateId,
        kind.sql(),
        now);
  }
}
