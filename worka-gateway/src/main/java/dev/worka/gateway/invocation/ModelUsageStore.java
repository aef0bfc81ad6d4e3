package dev.worka.gateway.invocation;

import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The {@code model_usage} table (append-only): one row per model call the Gateway proxied, with the
 * tokens the provider's {@code usage} counted; and {@code model_reservations} (append-only): the
 * tokens (input ceiling plus max_tokens) each call may still use. A run's token budget is checked
 * against the sum of its usage rows plus the reservations not yet released by a usage row, one
 * decision of the run at a time ({@link #lockBudget}).
 */
public final class ModelUsageStore {
  /**
   * How long a call counts as under way without its usage row (for {@code
   * WORKA_MODEL_CALLS_PER_STEP}): longer than a model call can take (connect + request timeouts of
   * {@code AnthropicMessages}), so only a call whose Gateway died mid-call stops being under way,
   * and only once it would have ended anyway. Its reservation keeps counting against the budget
   * after that, as spent: the provider may have served and billed it.
   */
  static final Duration RESERVATION_LIFETIME = Duration.ofMinutes(6);

  /** The class of the advisory locks that serialize the model-budget decisions of one run. */
  private static final int BUDGET_LOCK_CLASS = 0x574b_4d42; // "WKMB"

  /**
   * In the caller's transaction, until it ends: waits for, then holds, the right to decide on the
   * model budget of run {@code runId}, so two calls of the run never both spend the same remainder.
   */
  public void lockBudget(Connection c, UUID runId) throws SQLException {
    Sql.execute(c, "select pg_advisory_xact_lock(?, hashtext(?::text))", BUDGET_LOCK_CLASS, runId);
  }

  /**
   * Tokens reserved by calls of the run whose usage is not recorded: those under way, and those
   * whose Gateway died mid-call (never released: their outcome is unknown, so they count as spent).
   */
  public long reservedTokens(Connection c, UUID runId) throws SQLException {
    return Sql.one(
            c,
            "select coalesce(sum(r.tokens), 0) from model_reservations r where r.run_id = ?"
                + " and not exists (select 1 from model_usage u where u.gate_id = r.gate_id)",
            rs -> rs.getLong(1),
            runId)
        .orElseThrow();
  }

  /**
   * Calls of step {@code stepId} of run {@code runId} (any attempt) under way at {@code now}:
   * allowed, reservation not expired, usage not recorded yet.
   */
  public int callsUnderWay(Connection c, UUID runId, UUID stepId, Instant now) throws SQLException {
    return Sql.one(
            c,
            "select count(*) from model_reservations r join gates g on g.id = r.gate_id"
                + " where r.run_id = ? and r.created_at > ? and g.step_id = ?"
                + " and not exists (select 1 from model_usage u where u.gate_id = r.gate_id)",
            rs -> rs.getInt(1),
            runId,
            now.minus(RESERVATION_LIFETIME),
            stepId)
        .orElseThrow();
  }

  /**
   * Sets {@code tokens} aside for the call allowed by {@code gateId} until its usage is recorded.
   */
  public void reserve(Connection c, UUID gateId, UUID runId, long tokens, Instant now)
      throws SQLException {
    Sql.update(
        c,
        "insert into model_reservations (gate_id, run_id, tokens, created_at) values (?, ?, ?, ?)",
        gateId,
        runId,
        tokens,
        now);
  }

  /**
   * One proxied call. {@code upstreamStatus} is 0 when no answer came. {@code counted} is {@code
   * provider} when the tokens are the provider's {@code usage}, {@code reservation} when the call's
   * outcome is unknown and it is charged what it had reserved.
   */
  public record Usage(
      UUID id,
      UUID runId,
      UUID stepId,
      int attempt,
      String agent,
      UUID gateId,
      String model,
      int upstreamStatus,
      long inputTokens,
      long outputTokens,
      Instant at,
      String counted) {
    public static final String BY_PROVIDER = "provider";
    public static final String BY_RESERVATION = "reservation";

    public Usage {
      if (!BY_PROVIDER.equals(counted) && !BY_RESERVATION.equals(counted)) {
        throw new IllegalArgumentException(
            "counted must be provider or reservation, got " + counted);
      }
    }

    long totalTokens() {
      return inputTokens + outputTokens;
    }
  }

  public void record(Connection c, Usage u) throws SQLException {
    Sql.update(
        c,
        "insert into model_usage (id, run_id, step_id, attempt, agent, gate_id, model, upstream_status,"
            + " input_tokens, output_tokens, created_at, counted) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        u.id(),
        u.runId(),
        u.stepId(),
        u.attempt(),
        u.agent(),
        u.gateId(),
        u.model(),
        u.upstreamStatus(),
        u.inputTokens(),
        u.outputTokens(),
        u.at(),
        u.counted());
  }

  /** Input plus output tokens of every recorded call of the run. */
  public long tokensOfRun(Connection c, UUID runId) throws SQLException {
    return Sql.one(
            c,
            "select coalesce(sum(input_tokens + output_tokens), 0) from model_usage where run_id = ?",
            rs -> rs.getLong(1),
            runId)
        .orElseThrow();
  }

  /** Every recorded call of the run, oldest first. */
  public List<Usage> ofRun(Connection c, UUID runId) throws SQLException {
    return Sql.list(
        c,
        "select id, run_id, step_id, attempt, agent, gate_id, model, upstream_status, input_tokens, output_tokens,"
            + " created_at, counted from model_usage where run_id = ? order by created_at, id",
        rs ->
            new Usage(
                rs.getObject(1, UUID.class),
                rs.getObject(2, UUID.class),
                rs.getObject(3, UUID.class),
                rs.getInt(4),
                rs.getString(5),
                rs.getObject(6, UUID.class),
                rs.getString(7),
                rs.getInt(8),
                rs.getLong(9),
                rs.getLong(10),
                rs.getTimestamp(11).toInstant(),
                rs.getString(12)),
        runId);
  }
}
