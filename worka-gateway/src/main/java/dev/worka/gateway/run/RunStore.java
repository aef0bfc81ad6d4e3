package dev.worka.gateway.run;

import com.google.errorprone.annotations.CheckReturnValue;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.protocol.Json;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@code runs} table. Every status change is a compare-and-set update written with its {@code
 * run_events} row on the caller's connection, so both commit together.
 */
public final class RunStore {
  private final InstantSource clock;
  private final RunOutbox outbox;
  private final Tracing tracing;

  /**
   * @param outbox what a created or ended run owes the place its request came from, written in the
   *     same transaction
   */
  public RunStore(InstantSource clock, RunOutbox outbox) {
    this(clock, outbox, Tracing.off());
  }

  /**
   * Records on {@code c} that a call of {@code run} was held for approval {@code approvalId} (the
   * outbox owes the run's place a message asking the approvers, where it has buttons).
   */
  public void approvalRequested(Connection c, Run run, UUID approvalId, Instant now)
      throws SQLException {
    outbox.approvalRequested(c, run.id(), approvalId, run.source(), now);
  }

  /**
   * Records on {@code c} that approval {@code approvalId} of {@code run} was closed (approved,
   * denied, expired): the outbox owes the run's place its outcome, where it was asked there by a
   * comment (GitHub).
   */
  public void approvalClosed(Connection c, Run run, UUID approvalId, Instant now)
      throws SQLException {
    outbox.approvalClosed(c, run.id(), approvalId, run.source(), now);
  }

  /** A run store that writes each run's span of its trace when the run ends ({@code tracing}). */
  public RunStore(InstantSource clock, RunOutbox outbox, Tracing tracing) {
    this.clock = clock;
    this.outbox = outbox;
    this.tracing = tracing;
  }

  /** What a new run is made of. */
  public record NewRun(
      RunSource source,
      String text,
      String requester,
      ReplyTo replyTo,
      String idempotencyKey,
      String requestHash,
      String traceId,
      UUID policyManifestId,
      Instant deadline) {}

  /**
   * Inserts a run in {@code received} with its first event. Where it is answered goes into the
   * {@code slack_*} columns (a Slack thread) and the {@code delivery} context (the facts of the
   * request: a Slack request's kind and workspaces, a GitHub issue); {@code {}} when nowhere.
   */
  public Run insert(Connection c, NewRun n, String actor) throws SQLException {
    UUID id = UUID.randomUUID();
    Instant now = clock.instant();
    String slackChannel = null;
    String slackUser = null;
    String slackThreadTs = null;
    Map<String, Object> delivery = new LinkedHashMap<>();
    switch (n.replyTo()) {
      case ReplyTo.SlackThread s -> {
        slackChannel = s.channel();
        slackUser = s.user();
        slackThreadTs = s.threadTs();
        delivery.put("kind", s.requestKind());
        if (s.teamId() != null) {
          delivery.put("team_id", s.teamId());
        }
        if (s.userTeam() != null) {
          delivery.put("user_team", s.userTeam());
        }
        delivery.put("channel_type", s.channelType());
      }
      case ReplyTo.GithubIssue g -> {
        delivery.put("owner", g.owner());
        delivery.put("repo", g.repo());
        delivery.put("issue_number", g.issueNumber());
        delivery.put("comment_url", g.commentUrl());
        delivery.put("github_delivery", g.githubDelivery());
      }
      case ReplyTo.Nowhere nowhere -> {}
    }
    Sql.update(
        c,
        "insert into runs (id, status, source, text, requester, slack_channel, slack_user,"
            + " slack_thread_ts, delivery, idempotency_key, request_hash, trace_id,"
            + " policy_manifest_id, deadline, created_at, updated_at)"
            + " values (?, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        id,
        n.source().sql(),
        n.text(),
        n.requester(),
        slackChannel,
        slackUser,
        slackThreadTs,
        Sql.json(Json.write(delivery)),
        n.idempotencyKey(),
        n.requestHash(),
        n.traceId(),
        n.policyManifestId(),
        n.deadline(),
        now,
        now);
    RunEvents.append(
        c, id, null, "run", null, RunStatus.RECEIVED.sql(), actor, "run created", n.traceId(), now);
    outbox.created(c, id, n.source(), now);
    return find(c, id, Lock.NONE).orElseThrow();
  }

  /**
   * Moves a run from {@code from} to {@code to} if it is still in {@code from}. {@code error} and
   * {@code resultJson}, when non-null, are stored with the move.
   */
  @CheckReturnValue
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
    Optional<Moved> moved =
        Sql.one(
            c,
            "update runs set status = ?, version = version + 1, updated_at = ?,"
                + " error = coalesce(?, error), result = coalesce(?::jsonb, result),"
                + " completed_at = case when ? then ? else completed_at end"
                + " where id = ? and status = ? returning trace_id, source, created_at, text,"
                + " error",
            rs ->
                new Moved(
                    rs.getString(1),
                    RunSource.fromSql(rs.getString(2)),
                    rs.getTimestamp(3).toInstant(),
                    rs.getString(4),
                    rs.getString(5)),
            to.sql(),
            now,
            error,
            resultJson,
            to.terminal(),
            now,
            runId,
            from.sql());
    if (moved.isEmpty()) {
      return new Transition.LostRace(
          find(c, runId, Lock.NONE).map(r -> r.status().sql()).orElse("missing"));
    }
    if (to.terminal()) {
      outbox.ended(c, runId, moved.get().source(), now);
      tracing.runEnded(
          moved.get().traceId(),
          runId,
          moved.get().source().sql(),
          moved.get().createdAt(),
          to.sql(),
          moved.get().text(),
          moved.get().error());
      tracing
          .metrics()
          .runEnded(
              moved.get().source().sql(),
              to.sql(),
              java.time.Duration.between(moved.get().createdAt(), now));
    }
    long event =
        RunEvents.append(
            c, runId, null, "run", from.sql(), to.sql(), actor, detail, moved.get().traceId(), now);
    return new Transition.Applied(event);
  }

  /** What a run's compare-and-set update returns. */
  private record Moved(
      String traceId, RunSource source, Instant createdAt, String text, String error) {}

  private static final Map<Lock, String> FIND = Lock.statements("select * from runs where id = ?");

  /**
   * The run, read with {@code lock}: {@link Lock#UPDATE} serializes run-level decisions (a plan, a
   * cancellation, the next step); {@link Lock#SHARE} keeps its status from changing (a cancellation
   * waits) while other sharers proceed, e.g. the mediated calls of its steps.
   */
  public Optional<Run> find(Connection c, UUID id, Lock lock) throws SQLException {
    return Sql.one(c, FIND.get(lock), RunStore::read, id);
  }

  public Optional<Run> findByIdempotencyKey(Connection c, String key) throws SQLException {
    return Sql.one(c, "select * from runs where idempotency_key = ?", RunStore::read, key);
  }

  /** The class of the advisory locks that serialize the run-creation decisions of one requester. */
  private static final int REQUESTER_LOCK_CLASS = 0x574b_5243; // "WKRC"

  /**
   * In the caller's transaction, until it ends: waits for, then holds, the right to decide on new
   * runs of {@code requester} of {@code source} (null: the operator itself), so two requests of one
   * requester never both take the last place of a quota.
   */
  public void lockRequester(Connection c, RunSource source, String requester) throws SQLException {
    Sql.execute(
        c,
        "select pg_advisory_xact_lock(?, hashtext(?))",
        REQUESTER_LOCK_CLASS,
        source.sql() + ":" + (requester == null ? "" : requester));
  }

  /**
   * What {@code ingress.quotas} count for one requester of one source: runs created since {@code
   * since} (and the oldest of them, from which the hourly quota frees a place), and runs that have
   * not ended. {@code requester} null is the operator acting as itself.
   */
  public record RequesterRuns(int inWindow, Instant oldestInWindow, int notEnded) {}

  public RequesterRuns requesterRuns(
      Connection c, RunSource source, String requester, Instant since) throws SQLException {
    String who = requester == null ? "" : requester;
    return Sql.one(
            c,
            "select count(*) filter (where created_at > ?) as in_window,"
                + " min(created_at) filter (where created_at > ?) as oldest_in_window,"
                + " count(*) filter (where status in ('received', 'planning', 'running', 'delivering'))"
                + " as not_ended"
                + " from runs where source = ? and coalesce(requester, '') = ?"
                + " and (created_at > ? or status in ('received', 'planning', 'running', 'delivering'))",
            rs ->
                new RequesterRuns(
                    rs.getInt("in_window"),
                    Sql.getInstant(rs, "oldest_in_window"),
                    rs.getInt("not_ended")),
            since,
            since,
            source.sql(),
            who,
            since)
        .orElseThrow();
  }

  /** The runs created at or after {@code since}, newest first, at most {@code limit}. */
  public List<Run> createdSince(Connection c, Instant since, int limit) throws SQLException {
    return Sql.list(
        c,
        "select * from runs where created_at >= ? order by created_at desc, id desc limit ?",
        RunStore::read,
        since,
        limit);
  }

  /** Newest first; {@code status} may be null for all. */
  public List<Run> list(Connection c, RunStatus status, int limit) throws SQLException {
    return status == null
        ? Sql.list(
            c,
            "select * from runs order by created_at desc, id desc limit ?",
            RunStore::read,
            limit)
        : Sql.list(
            c,
            "select * from runs where status = ? order by created_at desc, id desc limit ?",
            RunStore::read,
            status.sql(),
            limit);
  }

  private static Run read(ResultSet rs) throws SQLException {
    return new Run(
        Sql.getUuid(rs, "id"),
        RunStatus.fromSql(rs.getString("status")),
        RunSource.fromSql(rs.getString("source")),
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
