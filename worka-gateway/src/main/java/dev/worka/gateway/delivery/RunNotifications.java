package dev.worka.gateway.delivery;

import dev.worka.gateway.run.RunOutbox;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.store.Sha256;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.SqlName;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@code run_notifications} table: what Worka owes the place a request came from. A run from an
 * {@linkplain RunSource#answered() answered source} owes an acknowledgement from the moment it is
 * created and its result from the moment it ends; both are written in the transaction that creates
 * or ends the run, so none is ever lost. The notification loop claims due ones (several Gateways
 * may run it), sends them, and records the outcome here.
 */
public final class RunNotifications implements RunOutbox {
  /** What a notification says, with its name in {@code run_notifications.kind}. */
  public enum Kind implements SqlName {
    /** The run was accepted (owed from the moment it is created). */
    ACK("ack"),
    /** How the run ended (owed from the moment it ends). */
    RESULT("result"),
    /**
     * A held call asks its approvers (Slack: a message with Approve/Deny buttons), owed from the
     * moment it is held; stored as {@code approval:<approval id>}, one per request.
     */
    APPROVAL("approval"),
    /**
     * The outcome of a request that was asked with a message (approved, denied, expired — wherever
     * decided): the message is updated, its buttons removed; owed from the moment the request is
     * closed, sent only once its {@link #APPROVAL} message is no longer pending; stored as {@code
     * approval_outcome:<approval id>}.
     */
    APPROVAL_OUTCOME("approval_outcome");

    private final String sql;

    Kind(String sql) {
      this.sql = sql;
    }

    /** The kind's name in {@code run_notifications.kind} (and in the run story). */
    @Override
    public String sql() {
      return sql;
    }

    /** The {@link #sql} name, so that a message spelling the value reads as before. */
    @Override
    public String toString() {
      return sql;
    }

    /** The kind named {@code sql}; an unknown name is an error naming it. */
    static Kind fromSql(String sql) {
      return SqlName.fromSql(Kind.class, "notification kind", "run_notifications.kind", sql);
    }
  }

  private final InstantSource clock;

  public RunNotifications(InstantSource clock) {
    this.clock = clock;
  }

  /**
   * One notification row. {@code attempts} counts the attempts started: a claim starts one (so an
   * attempt whose Gateway died while sending counts too, and attempts stay bounded even when every
   * one is cut off); for a claimed row it is the number of this attempt. {@code interrupted} (for a
   * claimed one): a claim before this one ended without an outcome (its Gateway died or stalled
   * while sending), so it may have been sent.
   */
  public record Notification(
      UUID runId,
      Kind kind,
      RunSource source,
      String status,
      int attempts,
      Instant nextAttemptAt,
      String lastError,
      String upstreamRef,
      Instant sentAt,
      boolean interrupted,
      UUID approvalId) {

    /**
     * As stored in {@code run_notifications.kind}: {@code approval:<id>} for an approval request,
     * {@code approval_outcome:<id>} for its outcome.
     */
    public String storedKind() {
      return RunNotifications.stored(kind, approvalId);
    }

    /**
     * For a claimed notification: whether an earlier attempt may have reached the upstream (it
     * failed, perhaps after sending, or was cut off).
     */
    boolean maybeSentBefore() {
      return attempts > 1 || interrupted;
    }
  }

  @Override
  public void created(Connection c, UUID runId, RunSource source, Instant now) throws SQLException {
    owe(c, runId, Kind.ACK, source, now);
  }

  @Override
  public void ended(Connection c, UUID runId, RunSource source, Instant now) throws SQLException {
    owe(c, runId, Kind.RESULT, source, now);
  }

  @Override
  public void approvalRequested(
      Connection c, UUID runId, UUID approvalId, RunSource source, Instant now)
      throws SQLException {
    if (source != RunSource.SLACK && source != RunSource.GITHUB) {
      return; // asked in a Slack thread (buttons) or a GitHub issue (/worka approve); else the API
    }
    oweApproval(c, runId, Kind.APPROVAL, approvalId, source, now);
  }

  private static void oweApproval(
      Connection c, UUID runId, Kind kind, UUID approvalId, RunSource source, Instant now)
      throws SQLException {
    Sql.update(
        c,
        "insert into run_notifications (run_id, kind, source, status, next_attempt_at, created_at)"
            + " values (?, ?, ?, 'pending', ?, ?) on conflict (run_id, kind) do nothing",
        runId,
        stored(kind, approvalId),
        source.sql(),
        now,
        now);
  }

  /**
   * The request's message (if one is owed: the run's source has buttons) is owed the outcome: one
   * {@code approval_outcome:<id>} row, only where an {@code approval:<id>} row exists.
   */
  @Override
  public void approvalClosed(Connection c, UUID runId, UUID approvalId, Instant now)
      throws SQLException {
    Sql.update(
        c,
        "insert into run_notifications (run_id, kind, source, status, next_attempt_at, created_at)"
            + " select run_id, ?, source, 'pending', ?, ? from run_notifications"
            + " where run_id = ? and kind = ? on conflict (run_id, kind) do nothing",
        stored(Kind.APPROVAL_OUTCOME, approvalId),
        now,
        now,
        runId,
        stored(Kind.APPROVAL, approvalId));
  }

  /**
   * A notification's kind as stored: {@code approval:<id>} for an approval request, {@code
   * approval_outcome:<id>} for its outcome.
   */
  public static String stored(Kind kind, UUID approvalId) {
    return kind == Kind.APPROVAL || kind == Kind.APPROVAL_OUTCOME
        ? kind.sql() + ":" + approvalId
        : kind.sql();
  }

  /** The notification of run {@code runId} stored as {@code kind}, if any. */
  Optional<Notification> find(Connection c, UUID runId, String kind) throws SQLException {
    return Sql.one(
        c,
        "select * from run_notifications where run_id = ? and kind = ?",
        rs -> read(rs, false),
        runId,
        kind);
  }

  /**
   * Records that run {@code runId} owes a {@code kind} notification to {@code source}, if it is
   * answered there.
   */
  private static void owe(Connection c, UUID runId, Kind kind, RunSource source, Instant now)
      throws SQLException {
    if (!source.answered()) {
      return;
    }
    Sql.update(
        c,
        "insert into run_notifications (run_id, kind, source, status, next_attempt_at, created_at)"
            + " values (?, ?, ?, 'pending', ?, ?) on conflict (run_id, kind) do nothing",
        runId,
        kind.sql(),
        source.sql(),
        now,
        now);
  }

  /**
   * Claims up to {@code max} due notifications for {@code owner} for {@code lease} (another loop
   * takes them only after the lease ends, e.g. when this Gateway died while sending), starting an
   * attempt of each ({@code attempts + 1}).
   */
  public List<Notification> claim(Connection c, String owner, int max, Duration lease)
      throws SQLException {
    Instant now = clock.instant();
    return Sql.list(
        c,
        "update run_notifications n set claimed_by = ?, claimed_until = ?, attempts = n.attempts + 1"
            + " from (select run_id, kind,"
            + " claimed_until as previous_claim"
            + " from run_notifications where status = 'pending' and next_attempt_at <= ?"
            + " and (claimed_until is null or claimed_until < ?)"
            + " and not (kind like 'approval\\_outcome:%' and exists (select 1 from"
            + " run_notifications ask where ask.run_id = run_notifications.run_id"
            + " and ask.kind = 'approval:' || substr(run_notifications.kind, 18)"
            + " and ask.status = 'pending'))"
            + " order by next_attempt_at limit ?"
            + " for update skip locked) due where n.run_id = due.run_id and n.kind = due.kind"
            + " returning n.*, due.previous_claim is not null as interrupted",
        rs -> read(rs, rs.getBoolean("interrupted")),
        owner,
        now.plus(lease),
        now,
        now,
        max);
  }

  /**
   * The notification was sent: {@code upstreamRef} is what the upstream calls it (a comment's URL,
   * a Slack message's {@code channel/ts}), also kept as the run's evidence: an artifact of kind
   * {@code delivery} with its SHA-256, in the same statement.
   */
  public boolean sent(Connection c, UUID runId, Kind kind, String owner, String upstreamRef)
      throws SQLException {
    return sent(c, runId, kind.sql(), owner, upstreamRef);
  }

  /** As the other, with the kind as stored ({@link Notification#storedKind}). */
  boolean sent(Connection c, UUID runId, String kind, String owner, String upstreamRef)
      throws SQLException {
    return Sql.one(
                c,
                "with done as (update run_notifications set status = 'sent', sent_at = ?,"
                    + " upstream_ref = ?, last_error = null, claimed_by = null, claimed_until = null"
                    + " where run_id = ? and kind = ? and status = 'pending' and claimed_by = ?"
                    + " returning run_id, kind, upstream_ref, sent_at),"
                    + " evidence as (insert into artifacts (id, run_id, kind, name, uri, sha256,"
                    + " created_at) select gen_random_uuid(), run_id, 'delivery',"
                    + " 'answer (' || kind || ')', upstream_ref, ?, sent_at from done"
                    + " where upstream_ref is not null)"
                    + " select count(*) from done",
                rs -> rs.getLong(1),
                clock.instant(),
                upstreamRef,
                runId,
                kind,
                owner,
                upstreamRef == null ? null : Sha256.hex(upstreamRef))
            .orElse(0L)
        == 1;
  }

  /**
   * An attempt failed: tried again at {@code nextAttemptAt}, or, when that is null, never again
   * ({@code failed}).
   */
  boolean attemptFailed(
      Connection c, UUID runId, String kind, String owner, String error, Instant nextAttemptAt)
      throws SQLException {
    return Sql.update(
            c,
            "update run_notifications set status = ?, last_error = ?,"
                + " next_attempt_at = coalesce(?, next_attempt_at), claimed_by = null, claimed_until = null"
                + " where run_id = ? and kind = ? and status = 'pending' and claimed_by = ?",
            nextAttemptAt == null ? "failed" : "pending",
            error,
            nextAttemptAt,
            runId,
            kind,
            owner)
        == 1;
  }

  /** The notifications of a run, acknowledgement first. */
  public List<Notification> ofRun(Connection c, UUID runId) throws SQLException {
    return Sql.list(
        c,
        "select * from run_notifications where run_id = ? order by created_at, kind",
        rs -> read(rs, false),
        runId);
  }

  private static Notification read(ResultSet rs, boolean interrupted) throws SQLException {
    String kind = rs.getString("kind");
    UUID approvalId = null;
    int colon = kind.indexOf(':');
    if (colon > 0) {
      approvalId = UUID.fromString(kind.substring(colon + 1));
      kind = kind.substring(0, colon);
    }
    return new Notification(
        Sql.getUuid(rs, "run_id"),
        Kind.fromSql(kind),
        RunSource.fromSql(rs.getString("source")),
        rs.getString("status"),
        rs.getInt("attempts"),
        Sql.getInstant(rs, "next_attempt_at"),
        rs.getString("last_error"),
        rs.getString("upstream_ref"),
        Sql.getInstant(rs, "sent_at"),
        interrupted,
        approvalId);
  }
}
