package dev.worka.gateway.mediation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.control.TaskKind;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.token.WorkerClaims;
import dev.worka.protocol.Json;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Approvals (the policy's {@code skills.SKILL.approval}, docs/approvals.md): the table {@code
 * approvals} and the decisions on it.
 *
 * <p>A worker's call that needs approval is held ({@link #request}, inside the mediator's decision
 * transaction): a request bound to the run, step, attempt, skill, exact input (and its SHA-256 over
 * canonical JSON), idempotency key and policy version, an {@code approval.request} gate, and the
 * step {@code running → awaiting_approval} — the attempt ends, its worker is stopped, nothing is
 * held while a person decides. Then exactly one of:
 *
 * <ul>
 *   <li>{@link #approve}: the Gateway performs exactly the held call itself, once, through the
 *       mediator's effect path (an invocation row under the call's key, its allow gate committed
 *       first), then {@code awaiting_approval → queued}: the step's next attempt makes the same
 *       call (same skill, key and input) and is answered with the recorded outcome, no second
 *       effect. A call with any other input has no invocation under its key and needs its own
 *       approval.
 *   <li>{@link #deny}: the step fails, a deny gate naming the decider.
 *   <li>{@link #expireDue}: nobody named decided in time: the step fails with {@code
 *       approval_expired} (a burn of that kind), not as a denial.
 * </ul>
 *
 * <p>Every decision is a conditional update of a {@code pending} row under its row lock: of two
 * Gateways or two clicks exactly one wins, the other is answered {@link Decided.AlreadyDecided}.
 * Only the request's named approvers count; anyone else's attempt is a deny gate and changes
 * nothing.
 */
public final class Approvals {
  /** After this long without its step requeued, an approved request is requeued by the sweep. */
  static final Duration REQUEUE_AFTER = Duration.ofMinutes(1);

  static final int MAX_LISTED = 500;
  static final int MAX_REASON = 1000;

  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final InvocationStore invocations;
  private final AuditLog audit;
  private final TaskQueue queue;
  private final InstantSource clock;
  private SkillMediator mediator;

  public Approvals(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      InvocationStore invocations,
      AuditLog audit,
      TaskQueue queue,
      InstantSource clock) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.invocations = invocations;
    this.audit = audit;
    this.queue = queue;
    this.clock = clock;
  }

  /** The mediator that performs approved calls (it holds this in turn to request approvals). */
  void performWith(SkillMediator mediator) {
    this.mediator = mediator;
  }

  /** One approval request as stored. */
  public record Approval(
      UUID id,
      UUID runId,
      UUID stepId,
      int attempt,
      String agent,
      String skill,
      String inputJson,
      String inputSha256,
      String idempotencyKey,
      UUID policyManifestId,
      int policyVersion,
      List<String> approvers,
      String reason,
      UUID requestGateId,
      String status,
      Instant requestedAt,
      Instant expiresAt,
      String decidedBy,
      Instant decidedAt,
      UUID decisionGateId,
      UUID invocationId) {
    public JsonNode input() {
      return Json.parse(inputJson);
    }
  }

  /** What a decision came to. */
  public sealed interface Decided {
    /** Approved: the call was performed ({@code call}: its outcome), the step queued again. */
    record Approved(Approval approval, SkillCall call) implements Decided {}

    /** Denied: the step failed. */
    record Denied(Approval approval, Gate gate) implements Decided {}

    record NotFound() implements Decided {}

    /** Approved or denied before: this decision changed nothing. */
    record AlreadyDecided(Approval approval) implements Decided {}

    /** It expired before this decision (now recorded, if the sweep had not yet). */
    record Expired(Approval approval) implements Decided {}

    /** The decider is not a named approver: a deny gate, nothing else. */
    record NotAnApprover(Approval approval, Gate gate) implements Decided {}

    /** Its step no longer waits (its run was cancelled or ended): nothing to decide. */
    record StepNotWaiting(Approval approval, String why) implements Decided {}
  }

  // --- the request ------------------------------------------------------------------------------

  /**
   * Holds {@code caller}'s call as a request, on the mediator's decision transaction (run and step
   * locked, the step running on the caller's attempt): the row, its gate, and the step {@code
   * running → awaiting_approval}.
   */
  Approval request(
      Connection c,
      Caller caller,
      String skill,
      JsonNode input,
      String key,
      PolicyDecider.ApprovalNeeded needed)
      throws SQLException {
    Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
    UUID id = UUID.randomUUID();
    UUID gateId = UUID.randomUUID();
    String digest = SkillMediator.canonicalHash(input);
    StoredPolicy policy = caller.policy();
    Approval a =
        new Approval(
            id,
            caller.run().id(),
            caller.step().id(),
            caller.claims().attempt(),
            caller.agent(),
            skill,
            Json.write(input),
            digest,
            key,
            policy.id(),
            policy.version(),
            needed.approval().approvers(),
            needed.reason(),
            gateId,
            "pending",
            now,
            now.plus(needed.approval().expires()),
            null,
            null,
            null,
            null);
    Sql.update(
        c,
        "insert into approvals (id, run_id, step_id, attempt, agent, skill, input, input_sha256,"
            + " idempotency_key, policy_manifest_id, policy_version, approvers, reason,"
            + " request_gate_id, status, requested_at, expires_at)"
            + " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        a.id(),
        a.runId(),
        a.stepId(),
        a.attempt(),
        a.agent(),
        a.skill(),
        Sql.json(a.inputJson()),
        a.inputSha256(),
        a.idempotencyKey(),
        a.policyManifestId(),
        a.policyVersion(),
        Sql.textArray(c, a.approvers()),
        a.reason(),
        a.requestGateId(),
        a.requestedAt(),
        a.expiresAt());
    String waits =
        "approval "
            + id
            + ": "
            + skill
            + " with input sha256 "
            + digest
            + " waits for one of "
            + a.approvers()
            + " until "
            + a.expiresAt();
    steps
        .transition(
            c,
            a.stepId(),
            StepStatus.RUNNING,
            StepStatus.AWAITING_APPROVAL,
            a.attempt(),
            StepStore.Change.NONE,
            "gateway",
            waits)
        .requireApplied("step " + a.stepId());
    runs.approvalRequested(c, caller.run(), id, now);
    audit.recordGate(
        c,
        new AuditLog.Decision(
            GateAction.APPROVAL_REQUEST,
            GateStatus.DENY,
            caller.agent(),
            a.runId(),
            a.stepId(),
            a.attempt(),
            skill,
            "held, not performed: "
                + needed.reason()
                + " (policy v"
                + policy.version()
                + "); "
                + waits,
            policy.id(),
            caller.run().traceId()),
        gateId);
    return a;
  }

  // --- reading ----------------------------------------------------------------------------------

  public Optional<Approval> find(UUID id) {
    return Transactions.withConnection(
        dataSource, c -> Sql.one(c, "select * from approvals where id = ?", Approvals::read, id));
  }

  /** The run a request belongs to (its source and the place it answers). */
  public Optional<Run> run(UUID runId) {
    return Transactions.withConnection(dataSource, c -> runs.find(c, runId, Lock.NONE));
  }

  /** Newest first; {@code status} null for all. */
  public List<Approval> list(String status, int limit) {
    int n = Math.max(1, Math.min(limit, MAX_LISTED));
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.list(
                c,
                "select * from approvals where (?::text is null or status = ?::text)"
                    + " order by requested_at desc, id limit ?",
                Approvals::read,
                status,
                status,
                n));
  }

  private static Approval read(ResultSet rs) throws SQLException {
    return new Approval(
        Sql.getUuid(rs, "id"),
        Sql.getUuid(rs, "run_id"),
        Sql.getUuid(rs, "step_id"),
        rs.getInt("attempt"),
        rs.getString("agent"),
        rs.getString("skill"),
        rs.getString("input"),
        rs.getString("input_sha256"),
        rs.getString("idempotency_key"),
        Sql.getUuid(rs, "policy_manifest_id"),
        rs.getInt("policy_version"),
        Sql.getStrings(rs, "approvers"),
        rs.getString("reason"),
        Sql.getUuid(rs, "request_gate_id"),
        rs.getString("status"),
        Sql.getInstant(rs, "requested_at"),
        Sql.getInstant(rs, "expires_at"),
        rs.getString("decided_by"),
        Sql.getInstant(rs, "decided_at"),
        Sql.getUuid(rs, "decision_gate_id"),
        Sql.getUuid(rs, "invocation_id"));
  }

  // --- decisions --------------------------------------------------------------------------------

  /** What the decision transaction found, before any effect. */
  private sealed interface Locked {
    record Final(Decided decided) implements Locked {}

    record Waiting(Approval approval, Run run, Step step) implements Locked {}
  }

  /**
   * Locks run, step and request, and says whether {@code identity} may decide it now; a request
   * found expired is expired here, on the same transaction.
   */
  private Locked lock(Connection c, UUID id, String identity) throws SQLException {
    Optional<UUID> runId =
        Sql.one(c, "select run_id from approvals where id = ?", Approvals::read0, id);
    if (runId.isEmpty()) {
      return new Locked.Final(new Decided.NotFound());
    }
    // The run first, then the request, then the step: the order every decision of a run takes.
    runs.find(c, runId.get(), Lock.UPDATE);
    Approval a =
        Sql.one(c, "select * from approvals where id = ? for update", Approvals::read, id)
            .orElseThrow();
    if (!"pending".equals(a.status())) {
      return new Locked.Final(
          "expired".equals(a.status()) ? new Decided.Expired(a) : new Decided.AlreadyDecided(a));
    }
    Run run = runs.find(c, a.runId(), Lock.NONE).orElseThrow();
    Step step = steps.find(c, a.stepId(), Lock.UPDATE).orElseThrow();
    if (!clock.instant().isBefore(a.expiresAt())) {
      return new Locked.Final(new Decided.Expired(expire(c, a, run)));
    }
    if (!a.approvers().contains(identity)
        && !(identity.startsWith("github:")
            && a.approvers().stream().anyMatch(identity::equalsIgnoreCase))) {
      Gate gate =
          gate(
              c,
              a,
              GateAction.APPROVAL_DECIDE,
              GateStatus.DENY,
              identity,
              "approval "
                  + a.id()
                  + ": "
                  + identity
                  + " is not one of its named approvers "
                  + a.approvers()
                  + "; the decision does not count",
              run.traceId(),
              UUID.randomUUID());
      return new Locked.Final(new Decided.NotAnApprover(a, gate));
    }
    if (run.status().terminal()
        || step.status() != StepStatus.AWAITING_APPROVAL
        || step.attempt() != a.attempt()) {
      return new Locked.Final(
          new Decided.StepNotWaiting(
              a,
              "step "
                  + a.stepId()
                  + " no longer waits for this approval (step "
                  + step.status().sql()
                  + ", run "
                  + run.status().sql()
                  + ")"));
    }
    return new Locked.Waiting(a, run, step);
  }

  private static UUID read0(ResultSet rs) throws SQLException {
    return Sql.getUuid(rs, "run_id");
  }

  /**
   * Sets the outcome of pending request {@code a} (the caller holds its lock); false if it was not
   * pending. A message that asked its approvers is owed the outcome, on the same transaction
   * (whoever decided, wherever: the outbox updates it with its retries).
   */
  private boolean close(
      Connection c, Approval a, String status, String by, UUID gateId, UUID invocationId)
      throws SQLException {
    Instant now = clock.instant();
    boolean closed =
        Sql.update(
                c,
                "update approvals set status = ?, decided_by = ?, decided_at = ?,"
                    + " decision_gate_id = ?, invocation_id = ? where id = ? and status = 'pending'",
                status,
                by,
                now,
                gateId,
                invocationId,
                a.id())
            == 1;
    if (closed) {
      runs.approvalClosed(c, a.runId(), a.id(), now);
    }
    return closed;
  }

  /**
   * {@code identity} (verified by the caller: {@code operator}, {@code slack:U…}, {@code
   * github:login}) approves request {@code id}: the held call is performed, once, and the step
   * queued again.
   */
  public Decided approve(UUID id, String identity) {
    record Start(Decided decided, Approval approval, Run run, Step step, StoredPolicy policy) {}
    Start start =
        Transactions.inTransaction(
            dataSource,
            c -> {
              Locked locked = lock(c, id, identity);
              if (locked instanceof Locked.Final f) {
                return new Start(f.decided(), null, null, null, null);
              }
              Locked.Waiting w = (Locked.Waiting) locked;
              Approval a = w.approval();
              StoredPolicy policy = policies.byId(c, a.policyManifestId());
              UUID decisionGate = UUID.randomUUID();
              UUID invokeGate = UUID.randomUUID();
              Optional<InvocationStore.Invocation> existing =
                  invocations.find(c, a.stepId(), a.skill(), a.idempotencyKey());
              UUID invocationId = existing.map(InvocationStore.Invocation::id).orElse(null);
              if (existing.isEmpty()) {
                invocationId = UUID.randomUUID();
                invocations.insertStarted(
                    c,
                    new InvocationStore.Invocation(
                        invocationId,
                        a.runId(),
                        a.stepId(),
                        a.attempt(),
                        a.agent(),
                        a.skill(),
                        a.idempotencyKey(),
                        invokeGate,
                        "allow",
                        "acquired",
                        a.inputJson(),
                        null,
                        null,
                        mediator.dryRun(),
                        "started",
                        null,
                        null,
                        null));
              }
              if (!close(c, a, "approved", identity, decisionGate, invocationId)) {
                throw new IllegalStateException("approval " + id + " changed under its lock");
              }
              String approved =
                  "approval "
                      + a.id()
                      + " approved by "
                      + identity
                      + ": "
                      + a.skill()
                      + " with input sha256 "
                      + a.inputSha256()
                      + " (policy v"
                      + a.policyVersion()
                      + ")";
              gate(
                  c,
                  a,
                  GateAction.APPROVAL_DECIDE,
                  GateStatus.ALLOW,
                  identity,
                  approved,
                  w.run().traceId(),
                  decisionGate);
              if (existing.isEmpty()) {
                gate(
                    c,
                    a,
                    GateAction.SKILL_INVOKE,
                    GateStatus.ALLOW,
                    a.agent(),
                    "performed by the Gateway on "
                        + approved
                        + (mediator.dryRun() ? "; dry-run" : ""),
                    w.run().traceId(),
                    invokeGate);
              }
              Approval now =
                  Sql.one(c, "select * from approvals where id = ?", Approvals::read, id)
                      .orElseThrow();
              return new Start(
                  existing.isEmpty() ? null : new Decided.Approved(now, null),
                  now,
                  w.run(),
                  w.step(),
                  policy);
            });
    if (start.approval() == null) {
      return start.decided();
    }
    Approval a = start.approval();
    SkillCall call = null;
    if (start.decided() == null) {
      Instant issued = clock.instant();
      Caller caller =
          new Caller(
              new WorkerClaims(
                  a.agent(),
                  a.runId(),
                  a.stepId(),
                  a.attempt(),
                  "approval:" + a.id(),
                  issued,
                  issued.plusSeconds(1)),
              start.run(),
              start.step(),
              start.policy());
      call =
          mediator.performApproved(
              caller, a.skill(), a.input(), a.invocationId(), a.idempotencyKey());
    }
    requeue(a, identity);
    return new Decided.Approved(a, call);
  }

  /** The approved request's step, still waiting on its attempt, queued for its next attempt. */
  private void requeue(Approval a, String identity) {
    Transactions.inTransaction(
        dataSource,
        c -> {
          Optional<Run> run = runs.find(c, a.runId(), Lock.UPDATE);
          Optional<Step> step = steps.find(c, a.stepId(), Lock.UPDATE);
          if (run.isEmpty()
              || step.isEmpty()
              || step.get().status() != StepStatus.AWAITING_APPROVAL
              || step.get().attempt() != a.attempt()) {
            return null;
          }
          if (run.get().status().terminal()) {
            String why = "run " + run.get().status().sql() + " while the step waited for approval";
            steps
                .transition(
                    c,
                    a.stepId(),
                    StepStatus.AWAITING_APPROVAL,
                    StepStatus.CANCELLED,
                    a.attempt(),
                    StepStore.Change.error(why),
                    "gateway",
                    why)
                .acceptLostRace();
            return null;
          }
          if (steps
              .transition(
                  c,
                  a.stepId(),
                  StepStatus.AWAITING_APPROVAL,
                  StepStatus.QUEUED,
                  a.attempt(),
                  StepStore.Change.NONE,
                  identity,
                  "approval "
                      + a.id()
                      + " approved by "
                      + identity
                      + ": attempt "
                      + (a.attempt() + 1)
                      + " queued; its identical call is answered with the approved call's outcome")
              .applied()) {
            queue.enqueue(
                c,
                TaskKind.EXECUTE_STEP.sql(),
                a.runId(),
                a.stepId(),
                TaskKind.executeKey(a.stepId(), a.attempt() + 1),
                null);
          }
          return null;
        });
    queue.wakeUp();
  }

  /** {@code identity} denies request {@code id}: the step fails, a deny gate naming the decider. */
  public Decided deny(UUID id, String identity, String reason) {
    String said =
        reason == null || reason.isBlank()
            ? ""
            : ": " + (reason.length() > MAX_REASON ? reason.substring(0, MAX_REASON) : reason);
    Decided decided =
        Transactions.inTransaction(
            dataSource,
            c -> {
              Locked locked = lock(c, id, identity);
              if (locked instanceof Locked.Final f) {
                return f.decided();
              }
              Locked.Waiting w = (Locked.Waiting) locked;
              Approval a = w.approval();
              UUID gateId = UUID.randomUUID();
              if (!close(c, a, "denied", identity, gateId, null)) {
                throw new IllegalStateException("approval " + id + " changed under its lock");
              }
              String why =
                  "approval "
                      + a.id()
                      + " denied by "
                      + identity
                      + said
                      + " ("
                      + a.skill()
                      + " with input sha256 "
                      + a.inputSha256()
                      + " was not performed)";
              failStep(c, a, why, BurnKind.POLICY, identity);
              Gate gate =
                  gate(
                      c,
                      a,
                      GateAction.APPROVAL_DECIDE,
                      GateStatus.DENY,
                      identity,
                      why,
                      w.run().traceId(),
                      gateId);
              return new Decided.Denied(
                  Sql.one(c, "select * from approvals where id = ?", Approvals::read, id)
                      .orElseThrow(),
                  gate);
            });
    queue.wakeUp();
    return decided;
  }

  /** The waiting step fails (if it still waits on the request's attempt) and its run advances. */
  private void failStep(Connection c, Approval a, String why, BurnKind kind, String actor)
      throws SQLException {
    if (steps
        .transition(
            c,
            a.stepId(),
            StepStatus.AWAITING_APPROVAL,
            StepStatus.FAILED,
            a.attempt(),
            StepStore.Change.error(why),
            actor,
            why)
        .applied()) {
      audit.recordBurn(c, a.runId(), a.stepId(), a.agent(), a.attempt(), kind, why, "{}");
      queue.enqueue(
          c,
          TaskKind.ADVANCE_RUN.sql(),
          a.runId(),
          a.stepId(),
          TaskKind.advanceKey(a.runId(), a.stepId(), a.attempt()),
          null);
    }
  }

  /**
   * Expires {@code a} (pending, past its expiry; the caller holds the run, step and row locks): the
   * step fails with {@code approval_expired}, an {@code approval.expire} gate.
   */
  private Approval expire(Connection c, Approval a, Run run) throws SQLException {
    UUID gateId = UUID.randomUUID();
    if (!close(c, a, "expired", null, gateId, null)) {
      throw new IllegalStateException("approval " + a.id() + " changed under its lock");
    }
    String why =
        "approval_expired: approval "
            + a.id()
            + " of "
            + a.skill()
            + " was not decided by any of "
            + a.approvers()
            + " before it expired at "
            + a.expiresAt()
            + "; the call was not performed";
    failStep(c, a, why, BurnKind.APPROVAL_EXPIRED, "gateway");
    gate(c, a, GateAction.APPROVAL_EXPIRE, GateStatus.DENY, "gateway", why, run.traceId(), gateId);
    return Sql.one(c, "select * from approvals where id = ?", Approvals::read, a.id())
        .orElseThrow();
  }

  /**
   * The sweep (every Gateway runs it; a request is expired by whichever locks it first, once):
   * expires up to 100 pending requests past their expiry, and requeues the steps of approved
   * requests whose Gateway stopped between performing the call and requeueing. Returns how many it
   * expired.
   */
  public int expireDue() {
    Instant now = clock.instant();
    List<UUID> due =
        Transactions.withConnection(
            dataSource,
            c ->
                Sql.list(
                    c,
                    "select id from approvals where status = 'pending' and expires_at <= ?"
                        + " order by expires_at limit 100",
                    rs -> Sql.getUuid(rs, "id"),
                    now));
    int expired = 0;
    for (UUID id : due) {
      boolean done =
          Transactions.inTransaction(
              dataSource,
              c -> {
                Optional<UUID> runId =
                    Sql.one(c, "select run_id from approvals where id = ?", Approvals::read0, id);
                if (runId.isEmpty()) {
                  return false;
                }
                Optional<Run> run = runs.find(c, runId.get(), Lock.UPDATE);
                Optional<Approval> a =
                    Sql.one(
                        c, "select * from approvals where id = ? for update", Approvals::read, id);
                if (run.isEmpty()
                    || a.isEmpty()
                    || !"pending".equals(a.get().status())
                    || clock.instant().isBefore(a.get().expiresAt())) {
                  return false;
                }
                steps.find(c, a.get().stepId(), Lock.UPDATE);
                expire(c, a.get(), run.get());
                return true;
              });
      expired += done ? 1 : 0;
    }
    List<Approval> stranded =
        Transactions.withConnection(
            dataSource,
            c ->
                Sql.list(
                    c,
                    "select a.* from approvals a join steps s on s.id = a.step_id"
                        + " where a.status = 'approved' and s.status = 'awaiting_approval'"
                        + " and s.attempt = a.attempt and a.decided_at < ? limit 100",
                    Approvals::read,
                    now.minus(REQUEUE_AFTER)));
    for (Approval a : stranded) {
      requeue(a, a.decidedBy());
    }
    if (expired > 0) {
      queue.wakeUp();
    }
    return expired;
  }

  /**
   * Records on {@code c} the gate {@code gateId} of a decision about request {@code a}'s call: its
   * run, step, attempt, skill and policy, with {@code action}, {@code status}, who ({@code
   * subject}) and why.
   */
  private Gate gate(
      Connection c,
      Approval a,
      GateAction action,
      GateStatus status,
      String subject,
      String reason,
      String traceId,
      UUID gateId)
      throws SQLException {
    return audit.recordGate(
        c,
        new AuditLog.Decision(
            action,
            status,
            subject,
            a.runId(),
            a.stepId(),
            a.attempt(),
            a.skill(),
            reason,
            a.policyManifestId(),
            traceId),
        gateId);
  }
}
