package dev.worka.gateway.control;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.delivery.DeliveryPolicy;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.IngressPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.Requester;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.ReplyTo;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunRefusals;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sha256;
import dev.worka.gateway.store.StoreException;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Creates runs (idempotently), deciding first whether the requester may start one (the policy's
 * {@code ingress} and its quotas: one decision for every source), and cancels them.
 */
public final class RunService {
  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final TaskQueue queue;
  private final RunningWorkers workers;
  private final AuditLog audit;
  private final InstantSource clock;

  public RunService(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      TaskQueue queue,
      RunningWorkers workers,
      AuditLog audit,
      InstantSource clock) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.queue = queue;
    this.workers = workers;
    this.audit = audit;
    this.clock = clock;
  }

  /**
   * A request to start a run. {@code replyTo} is where its answers go, as its ingress verified it.
   * {@code idempotencyKey} may be null. {@code who} is the requester with the facts its ingress
   * verified (what the policy's {@code ingress} decides on); its source and name are the request's
   * {@code source} and {@code requester}.
   */
  public record Request(
      RunSource source,
      String text,
      String requester,
      ReplyTo replyTo,
      String idempotencyKey,
      String traceId,
      Requester who) {

    /**
     * An operator request ({@code api} or {@code cli}), answered nowhere, whose run starts a trace
     * of its own: the requester is the body's {@code requester}, or the operator itself when null.
     */
    public Request(RunSource source, String text, String requester, String idempotencyKey) {
      this(source, text, requester, idempotencyKey, null);
    }

    /**
     * An operator request ({@code api} or {@code cli}), answered nowhere, whose run continues the
     * caller's trace {@code traceId} (null: a trace of its own).
     */
    public Request(
        RunSource source, String text, String requester, String idempotencyKey, String traceId) {
      this(
          source,
          text,
          requester,
          new ReplyTo.Nowhere(),
          idempotencyKey,
          traceId,
          new Requester.Operator(source, requester));
    }

    /**
     * @param traceId the W3C trace id the ingress started for this request (32 lowercase hex, not
     *     all zero), which the run continues; null = a new one
     */
    public Request {
      if (traceId != null && !isTraceId(traceId)) {
        throw new IllegalArgumentException("traceId must be 32 lowercase hex digits, not all zero");
      }
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(replyTo, "replyTo");
      Objects.requireNonNull(who, "who");
      boolean answeredThere =
          switch (replyTo) {
            case ReplyTo.SlackThread slack -> source == RunSource.SLACK;
            case ReplyTo.GithubIssue issue -> source == RunSource.GITHUB;
            case ReplyTo.Nowhere nowhere -> source == RunSource.API || source == RunSource.CLI;
          };
      if (!answeredThere) {
        throw new IllegalArgumentException(
            "a request from " + source.sql() + " cannot be answered at " + replyTo);
      }
      if (who.source() != source || !Objects.equals(who.name(), requester)) {
        throw new IllegalArgumentException(
            "the request of "
                + source.sql()
                + ":"
                + requester
                + " carries the facts of another requester, "
                + who.subject());
      }
    }
  }

  /** Whether {@code id} is a valid W3C trace id. */
  public static boolean isTraceId(String id) {
    return id != null && id.matches("[0-9a-f]{32}") && !id.equals("0".repeat(32));
  }

  /** The outcome of {@link #create}. */
  public sealed interface Creation {
    /** A new run, or the run an earlier request with the same key and body created. */
    record Created(Run run, boolean replayed) implements Creation {}

    /** The key was used before with a different body. */
    record KeyConflict(UUID existingRunId) implements Creation {}

    /**
     * The policy's {@code ingress} does not let this requester start runs here; no run. {@code
     * replayed}: an earlier delivery of the same event was refused already (the same gate).
     */
    record Denied(UUID gateId, String reason, boolean replayed) implements Creation {}

    /**
     * The requester is over a quota of {@code ingress.quotas}; no run. {@code retryAfter}: when a
     * place frees at the earliest (the hourly quota), empty when it depends on runs ending.
     */
    record OverQuota(UUID gateId, String reason, Optional<Duration> retryAfter, boolean replayed)
        implements Creation {}
  }

  /**
   * Whether refusals of {@code source} are remembered by key: those of an external event, whose
   * retry or replay gets the same answer.
   */
  private static boolean eventSource(RunSource source) {
    return switch (source) {
      case SLACK, GITHUB -> true;
      case API, CLI -> false;
    };
  }

  /** The window of {@code ingress.quotas.runs_per_requester_per_hour}. */
  static final Duration QUOTA_WINDOW = Duration.ofHours(1);

  /**
   * Decides whether {@code r} may start a run and, if so, creates it: in one transaction, under a
   * lock per requester (so concurrent requests of one requester are decided one after the other and
   * cannot race past a quota), a request whose key created a run before gets that run; an event
   * refused before gets the same refusal; otherwise the active policy's {@code ingress} and then
   * its quotas decide. A refusal is committed as a {@code run.create} deny gate (no run id) before
   * it is returned; an allowed request becomes a run pinned to that policy, and writes no gate of
   * its own (the run row records who asked, from where, under which policy).
   */
  public Creation create(Request r) {
    String requestHash = requestHash(r);
    for (int tries = 0; ; tries++) {
      try {
        Creation creation = Transactions.inTransaction(dataSource, c -> decide(c, r, requestHash));
        if (creation instanceof Creation.Created) {
          queue.wakeUp();
        }
        return creation;
      } catch (StoreException e) {
        // Two requests with one new key raced: the loser reads the winner's run (or refusal).
        if (tries == 0 && isUniqueViolation(e)) {
          continue;
        }
        throw e;
      }
    }
  }

  private Creation decide(Connection c, Request r, String requestHash) throws SQLException {
    Requester who = r.who();
    if (who.counted()) {
      runs.lockRequester(c, who.source(), who.name());
    }
    String key = r.idempotencyKey();
    boolean eventKey = key != null && eventSource(r.source());
    if (key != null) {
      Optional<Run> existing = runs.findByIdempotencyKey(c, key);
      if (existing.isPresent()) {
        return existing.get().requestHash().equals(requestHash)
            ? new Creation.Created(existing.get(), true)
            : new Creation.KeyConflict(existing.get().id());
      }
      if (eventKey) {
        Optional<RunRefusals.Refusal> refused = RunRefusals.find(c, key);
        if (refused.isPresent()) {
          RunRefusals.Refusal f = refused.get();
          return switch (f.kind()) {
            case INGRESS_DENIED -> new Creation.Denied(f.gateId(), f.reason(), true);
            case QUOTA_EXCEEDED ->
                new Creation.OverQuota(f.gateId(), f.reason(), Optional.empty(), true);
          };
        }
      }
    }
    StoredPolicy policy =
        policies
            .active(c)
            .orElseThrow(() -> new IllegalStateException("no active policy manifest"));
    IngressPolicy ingress = policy.policy().ingress();
    if (ingress.admit(who) instanceof Decision.Deny deny) {
      UUID gate = refuse(c, r, policy, RunRefusals.Kind.INGRESS_DENIED, deny.reason(), eventKey);
      return new Creation.Denied(gate, deny.reason(), false);
    }
    Instant now = clock.instant();
    if (who.counted()) {
      IngressPolicy.Quotas quotas = ingress.quotas();
      RunStore.RequesterRuns mine =
          runs.requesterRuns(c, who.source(), who.name(), now.minus(QUOTA_WINDOW));
      if (mine.inWindow() >= quotas.runsPerRequesterPerHour()) {
        Duration wait = Duration.between(now, mine.oldestInWindow().plus(QUOTA_WINDOW));
        Duration retryAfter = Duration.ofSeconds(Math.max(1, (wait.toMillis() + 999) / 1000));
        String reason =
            who.subject()
                + " started "
                + mine.inWindow()
                + " runs in the last hour;"
                + " ingress.quotas.runs_per_requester_per_hour is "
                + quotas.runsPerRequesterPerHour()
                + " (the next place frees in "
                + retryAfter.toSeconds()
                + " s)";
        UUID gate = refuse(c, r, policy, RunRefusals.Kind.QUOTA_EXCEEDED, reason, eventKey);
        return new Creation.OverQuota(gate, reason, Optional.of(retryAfter), false);
      }
      if (mine.notEnded() >= quotas.concurrentRunsPerRequester()) {
        String reason =
            who.subject()
                + " has "
                + mine.notEnded()
                + " runs that have not ended;"
                + " ingress.quotas.concurrent_runs_per_requester is "
                + quotas.concurrentRunsPerRequester();
        UUID gate = refuse(c, r, policy, RunRefusals.Kind.QUOTA_EXCEEDED, reason, eventKey);
        return new Creation.OverQuota(gate, reason, Optional.empty(), false);
      }
    }
    Run run =
        runs.insert(
            c,
            new RunStore.NewRun(
                r.source(),
                r.text(),
                r.requester(),
                r.replyTo(),
                key,
                requestHash,
                r.traceId() != null ? r.traceId() : newTraceId(),
                policy.id(),
                now.plus(policy.policy().limits().runDeadline())),
            "requester:" + (r.requester() == null ? r.source().sql() : r.requester()));
    queue.enqueue(c, TaskKind.START_RUN.sql(), run.id(), null, TaskKind.startKey(run.id()), null);
    return new Creation.Created(run, false);
  }

  /**
   * Records a refusal: the {@code run.create} deny gate (the requester as subject, no run) and, for
   * an external event, the refusal by its key. Returns the gate's id.
   */
  private UUID refuse(
      Connection c,
      Request r,
      StoredPolicy policy,
      RunRefusals.Kind kind,
      String reason,
      boolean remember)
      throws SQLException {
    String traceId = r.traceId() != null ? r.traceId() : newTraceId();
    Gate gate =
        audit.recordGate(
            c,
            new AuditLog.Decision(
                GateAction.RUN_CREATE,
                GateStatus.DENY,
                r.who().subject(),
                null,
                null,
                null,
                null,
                reason,
                policy.id(),
                traceId));
    if (remember) {
      RunRefusals.record(c, r.idempotencyKey(), gate.id(), kind, clock.instant());
    }
    if (r.who() instanceof Requester.SlackUser slack) {
      // Slack tells the refused requester so, once, privately (SlackIngress): a post of Worka's
      // own,
      // gated like every other, before it, to the one place the signed request names.
      audit.recordGate(
          c,
          new AuditLog.Decision(
              GateAction.DELIVERY_POST,
              GateStatus.ALLOW,
              DeliveryPolicy.SUBJECT,
              null,
              null,
              null,
              null,
              "the refusal (gate "
                  + gate.id()
                  + ") to "
                  + r.who().subject()
                  + " only, in slack channel "
                  + slack.channel()
                  + ", where the request came from",
              policy.id(),
              traceId));
    }
    return gate.id();
  }

  /** The outcome of {@link #cancel}. */
  public sealed interface Cancellation {
    record Cancelled(Run run) implements Cancellation {}

    record AlreadyEnded(Run run) implements Cancellation {}

    record NotFound() implements Cancellation {}
  }

  /** Cancels a run that has not ended: its steps are cancelled and its running workers stopped. */
  public Cancellation cancel(UUID runId, String actor, String reason) {
    List<UUID> wereRunning = new ArrayList<>();
    Cancellation result =
        Transactions.inTransaction(
            dataSource,
            c -> {
              Optional<Run> locked = runs.find(c, runId, Lock.UPDATE);
              if (locked.isEmpty()) {
                return new Cancellation.NotFound();
              }
              Run run = locked.get();
              if (run.status().terminal()) {
                return new Cancellation.AlreadyEnded(run);
              }
              String why =
                  "cancelled by "
                      + actor
                      + (reason == null || reason.isBlank() ? "" : ": " + reason);
              wereRunning.addAll(OpenSteps.cancel(c, steps, steps.ofRun(c, runId), why, actor));
              runs.transition(c, runId, run.status(), RunStatus.CANCELLED, actor, why, why, null)
                  .requireApplied("run " + runId);
              for (UUID stepId : wereRunning) {
                audit.recordBurn(c, runId, stepId, null, null, BurnKind.CANCELLED, why, "{}");
              }
              return new Cancellation.Cancelled(runs.find(c, runId, Lock.NONE).orElseThrow());
            });
    wereRunning.forEach(stepId -> workers.stop(stepId, "run cancelled"));
    return result;
  }

  static String requestHash(Request r) {
    Map<String, Object> canonical = new LinkedHashMap<>();
    // The same canonical form as when the slack fields were the request's own (keys stay valid).
    ReplyTo.SlackThread slack = r.replyTo() instanceof ReplyTo.SlackThread s ? s : null;
    canonical.put("source", r.source().sql());
    canonical.put("text", r.text());
    canonical.put("requester", r.requester());
    canonical.put("slack_channel", slack == null ? null : slack.channel());
    canonical.put("slack_thread_ts", slack == null ? null : slack.threadTs());
    try {
      return Sha256.hex(Json.STRICT.writeValueAsBytes(canonical));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot hash a request", e);
    }
  }

  /** A W3C trace id: 16 random bytes, hex. */
  public static String newTraceId() {
    UUID u = UUID.randomUUID();
    return String.format("%016x%016x", u.getMostSignificantBits(), u.getLeastSignificantBits());
  }

  private static boolean isUniqueViolation(StoreException e) {
    return e.getCause() instanceof SQLException s && "23505".equals(s.getSQLState());
  }
}
