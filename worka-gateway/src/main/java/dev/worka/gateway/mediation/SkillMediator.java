package dev.worka.gateway.mediation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.ConditionContext;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.Permissions;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillOutcomeUnknownException;
import dev.worka.gateway.skill.SkillOutputInvalidException;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.gateway.store.StoreException;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.gateway.token.WorkerClaims;
import dev.worka.protocol.Json;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import javax.sql.DataSource;
import org.erdtman.jcs.JsonCanonicalizer;

/**
 * A worker's skill call, mediated: decide (permission, the agent's allowlist, the step's accepted
 * skills, availability, the input schema, the call limits), record the decision as a gate — an
 * allow gate and the invocation row commit before the effect starts — then perform the call with
 * the Gateway's credentials, clean its output and record the outcome.
 *
 * <p>A key binds the input it was first used with (a key of the step and skill: the worker's {@code
 * idempotency_key}, or for a side effect without one a hash of the input). The same key with the
 * same input returns the recorded output without a second effect — a replay, counted against the
 * call limits like a call, so repeating a key cannot write gates and lock events without bound. The
 * same key with another input is refused ({@code 409 idempotency_conflict}, a deny gate, a {@code
 * conflict} lock event) before anything is replayed or reconciled: never answered with the other
 * call's output, never performed as it.
 *
 * <p>What a call comes to is a {@link SkillCall}, returned, never thrown: the REST route and the
 * MCP server switch on it.
 */
public final class SkillMediator {
  static final int MAX_OUTPUT_BYTES = 1024 * 1024;

  /** How much of an upstream's own words about a failure a worker is shown and the record keeps. */
  static final int MAX_UPSTREAM_REASON = 1000;

  /**
   * Mediated calls doing database work at once. More would only wait on the same rows and locks
   * while holding pooled connections, until the pool ran out and the outcomes of calls already made
   * could not be recorded; beyond this, calls wait here (holding nothing) and, after {@link
   * #ADMISSION_WAIT}, are refused ({@link Refusal.NotAdmitted}) before any decision.
   */
  static final int ADMITTED = 16;

  static final java.time.Duration ADMISSION_WAIT = java.time.Duration.ofSeconds(5);
  final java.util.concurrent.Semaphore admission =
      new java.util.concurrent.Semaphore(ADMITTED, true);

  private final DataSource dataSource;
  private final SkillRegistry skills;
  private final InvocationStore invocations;
  private final AuditLog audit;
  private final Attempts attempts;
  private final Denials denials;
  private final OutputCleaner cleaner;
  private final boolean dryRun;
  private final Tracing tracing;
  private volatile Approvals approvals;

  public SkillMediator(
      DataSource dataSource,
      SkillRegistry skills,
      InvocationStore invocations,
      AuditLog audit,
      Attempts attempts,
      Denials denials,
      OutputCleaner cleaner,
      boolean dryRun) {
    this(dataSource, skills, invocations, audit, attempts, denials, cleaner, dryRun, Tracing.off());
  }

  /** As the other constructor, each call a span of its step attempt ({@code tracing}). */
  public SkillMediator(
      DataSource dataSource,
      SkillRegistry skills,
      InvocationStore invocations,
      AuditLog audit,
      Attempts attempts,
      Denials denials,
      OutputCleaner cleaner,
      boolean dryRun,
      Tracing tracing) {
    this.tracing = tracing;
    this.dataSource = dataSource;
    this.skills = skills;
    this.invocations = invocations;
    this.audit = audit;
    this.attempts = attempts;
    this.denials = denials;
    this.cleaner = cleaner;
    this.dryRun = dryRun;
  }

  /**
   * Holds the calls whose policy asks for approval as requests of {@code approvals}, which performs
   * them with this mediator once approved. Without it such a call is refused (fail closed).
   */
  public void holdFor(Approvals approvals) {
    approvals.performWith(this);
    this.approvals = approvals;
  }

  boolean dryRun() {
    return dryRun;
  }

  /**
   * Performs an approved call ({@link Approvals#approve}): its invocation and allow gate are
   * committed; the effect, once, as any call's, under an admission like any call's.
   */
  SkillCall performApproved(
      Caller caller, String skill, JsonNode input, UUID invocationId, String key) {
    admission.acquireUninterruptibly();
    try {
      return perform(caller, skill, input, invocationId, key);
    } finally {
      admission.release();
    }
  }

  /** What the decision transaction found. */
  private sealed interface Begun {
    /** The call needs approval: held as {@code approval}, the step now awaits it. */
    record Held(Approvals.Approval approval) implements Begun {}

    record Replay(InvocationStore.Invocation recorded, Gate gate) implements Begun {}

    record Limited(Gate gate) implements Begun {}

    /**
     * The key was used before with another input: refused, never answered with that call's output.
     */
    record KeyReused(Gate gate) implements Begun {}

    /** The attempt or run ended since the caller authenticated. */
    record Ended(Refusal.AttemptEnded refusal) implements Begun {}

    /**
     * The invocation is not in the state the call needs (changed meanwhile, or its outcome cannot
     * be told yet): the conflict is the answer.
     */
    record Refused(Refusal.Conflict conflict) implements Begun {}

    record Started(Gate gate) implements Begun {}

    /**
     * An earlier call with this key never recorded its outcome: ask the upstream before anything.
     */
    record Reconcile(InvocationStore.Invocation recorded) implements Begun {}
  }

  /**
   * Decides {@code caller}'s call of {@code skill} with {@code input}, and performs it if allowed.
   * Throws only for what no outcome covers (the database unreachable, a provider's own bug).
   */
  @SuppressWarnings("try") // the span's scope is used by what runs inside it (its children)
  public SkillCall call(Caller caller, String skill, JsonNode input, String idempotencyKey) {
    WorkerClaims claims = caller.claims();
    Span span =
        tracing.skill(
            caller.run().traceId(),
            claims.runId(),
            claims.stepId(),
            claims.attempt(),
            claims.agent(),
            skill);
    try (Scope scope = span.makeCurrent()) {
      tracing.content(span, Tracing.INPUT, input == null ? null : Json.write(input));
      SkillCall answer = decideAndPerform(caller, skill, input, idempotencyKey);
      span.setAttribute("worka.skill.outcome", outcome(answer));
      tracing.metrics().skillCall(known(skill), outcome(answer));
      switch (answer) {
        case SkillCall.Performed p -> {
          span.setAttribute("worka.invocation_id", p.invocationId().toString());
          tracing.content(span, Tracing.OUTPUT, Json.write(p.output()));
        }
        case SkillCall.Replayed p -> {
          span.setAttribute("worka.invocation_id", p.invocationId().toString());
          tracing.content(span, Tracing.OUTPUT, Json.write(p.output()));
        }
        default -> {}
      }
      return answer;
    } catch (RuntimeException | Error e) {
      span.setAttribute("worka.skill.outcome", "error");
      tracing.metrics().skillCall(known(skill), "error");
      span.setStatus(StatusCode.ERROR);
      throw e;
    } finally {
      span.end();
    }
  }

  /** {@code skill} when the catalog has it, else {@code unknown} (the worker chose the name). */
  private String known(String skill) {
    return skills.find(skill).isPresent() ? skill : "unknown";
  }

  /**
   * A call's outcome as a span shows it: {@code performed}, {@code replayed}, or the refusal's
   * kind.
   */
  private static String outcome(SkillCall answer) {
    String name = answer.getClass().getSimpleName();
    return name.replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
  }

  private SkillCall decideAndPerform(
      Caller caller, String skill, JsonNode input, String idempotencyKey) {
    try {
      if (!admission.tryAcquire(
          ADMISSION_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        return new Refusal.NotAdmitted(
            "the Gateway is at capacity for skill calls;"
                + " nothing was decided or done: retry shortly",
            true);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Refusal.NotAdmitted("interrupted while waiting to be admitted", false);
    }
    try {
      return admitted(caller, skill, input, idempotencyKey);
    } finally {
      admission.release();
    }
  }

  private SkillCall admitted(Caller caller, String skill, JsonNode input, String idempotencyKey) {
    CompiledPolicy policy = caller.policy().policy();
    Optional<SkillDefinition> definition = skills.find(skill);

    String refusal = refusal(caller, policy, skill, definition);
    if (refusal != null) {
      return denied(caller, skill, refusal, gate -> new Refusal.Denied(refusal, gate));
    }
    Optional<String> unavailable = skills.unavailableReason(skill);
    if (unavailable.isPresent()) {
      String why = "skill " + skill + " is unavailable: " + unavailable.get();
      return denied(caller, skill, why, gate -> new Refusal.SkillUnavailable(why, gate));
    }
    List<String> violations = new java.util.ArrayList<>(skills.validateInput(skill, input));
    if (Json.write(input).contains("\\u0000")) {
      violations.add("the input contains a NUL character (\\u0000), which no skill accepts");
    }
    if (!violations.isEmpty()) {
      String why = "input does not match " + skill + "'s schema: " + String.join("; ", violations);
      return denied(caller, skill, why, gate -> new Refusal.InvalidInput(why, gate, violations));
    }
    if (PolicyDecider.condition(policy, skill, conditionContext(caller, input))
        instanceof Decision.Deny d) {
      return denied(caller, skill, d.reason(), gate -> new Refusal.Denied(d.reason(), gate));
    }

    Optional<PolicyDecider.ApprovalNeeded> needed =
        PolicyDecider.approval(policy, skill, conditionContext(caller, input));
    Approvals holding = approvals;
    if (needed.isPresent() && holding == null) {
      String why = needed.get().reason() + ", but this Gateway holds no approvals: refused";
      return denied(caller, skill, why, gate -> new Refusal.Denied(why, gate));
    }
    // A call that needs approval has a key of its input even without side effects: its next
    // attempt's identical call must find the approved call's record.
    String key =
        idempotencyKey != null
            ? "key:" + idempotencyKey
            : definition.get().sideEffect() || needed.isPresent()
                ? "derived:" + canonicalHash(input)
                : "call:" + UUID.randomUUID();
    UUID invocationId = UUID.randomUUID();
    Begun begun;
    try {
      begun =
          attempts.decide(
              caller,
              false,
              "skills/" + skill,
              c -> {
                Optional<InvocationStore.Invocation> existing =
                    invocations.find(c, caller.step().id(), skill, key);
                if (existing.isPresent()) {
                  InvocationStore.Invocation recorded = existing.get();
                  // A key binds the input it was first used with: before anything is replayed or
                  // reconciled.
                  if (!sameInput(recorded, input)) {
                    Gate deny = deny(c, caller, skill, keyReused(skill, key, recorded));
                    invocations.lockEvent(c, recorded, "conflict", deny.id());
                    return new Begun.KeyReused(deny);
                  }
                  if (reconcilable(recorded, skill)) {
                    if ("started".equals(recorded.status())) {
                      invocations.markUnknown(
                          c,
                          recorded.id(),
                          "the outcome of this call was never recorded (attempt "
                              + recorded.attempt()
                              + "'s Gateway stopped, or lost the answer); it is reconciled before any retry");
                    }
                    return new Begun.Reconcile(recorded);
                  }
                  boolean finished = "succeeded".equals(recorded.status());
                  if (finished) {
                    // A replay is answered like a call, so it is counted like one: no worker writes
                    // gates
                    // and lock events without bound by repeating a key.
                    Optional<String> limit = countCall(c, caller, policy);
                    if (limit.isPresent()) {
                      return new Begun.Limited(
                          deny(c, caller, skill, limit.get() + " (a replay counts as a call)"));
                    }
                  }
                  Gate gate =
                      finished
                          ? gate(
                              c,
                              caller,
                              skill,
                              GateStatus.ALLOW,
                              "replay of invocation "
                                  + recorded.id()
                                  + " (same idempotency key): its recorded output is returned, no second effect")
                          : deny(
                              c,
                              caller,
                              skill,
                              "the call with this idempotency key is "
                                  + recorded.status()
                                  + "; it is not performed again");
                  invocations.lockEvent(c, recorded, finished ? "replayed" : "conflict", gate.id());
                  return new Begun.Replay(recorded, gate);
                }
                if (needed.isPresent()) {
                  // Nothing performed, nothing counted: the request, its gate, and the step waits.
                  return new Begun.Held(
                      holding.request(c, caller, skill, input, key, needed.get()));
                }
                // The step's count on its locked row; the run's count last before the writes, on a
                // row
                // of its own that calls of the run's other steps wait for only until this commits.
                Optional<String> limit = countCall(c, caller, policy);
                if (limit.isPresent()) {
                  return new Begun.Limited(deny(c, caller, skill, limit.get()));
                }
                // The invocation and its lock event first, the allow gate last: the gate chain's
                // lock is
                // then held only for the gate and the commit (the references are checked at
                // commit).
                UUID gateId = UUID.randomUUID();
                InvocationStore.Invocation started =
                    new InvocationStore.Invocation(
                        invocationId,
                        caller.run().id(),
                        caller.step().id(),
                        caller.claims().attempt(),
                        caller.agent(),
                        skill,
                        key,
                        gateId,
                        "allow",
                        "acquired",
                        Json.STRICT.writeValueAsString(input),
                        null,
                        null,
                        dryRun,
                        "started",
                        null,
                        null,
                        null);
                invocations.insertStarted(c, started);
                return new Begun.Started(
                    gate(c, caller, skill, GateStatus.ALLOW, allowReason(caller, skill), gateId));
              },
              Begun.Ended::new);
    } catch (StoreException e) {
      if (e.getCause() instanceof SQLException s && "23505".equals(s.getSQLState())) {
        // A concurrent call with the same key inserted first: refused, as a conflict of its own
        // kind when its input differs.
        record Lost(Gate gate, boolean reused) {}
        Lost lost;
        try {
          lost =
              Transactions.inTransaction(
                  dataSource,
                  c -> {
                    Optional<InvocationStore.Invocation> first =
                        invocations.find(c, caller.step().id(), skill, key);
                    boolean reused = first.isPresent() && !sameInput(first.get(), input);
                    Gate deny =
                        deny(
                            c,
                            caller,
                            skill,
                            reused
                                ? keyReused(skill, key, first.get())
                                : "an identical call (same idempotency key) is in progress");
                    if (first.isPresent()) {
                      invocations.lockEvent(c, first.get(), "conflict", deny.id());
                    }
                    return new Lost(deny, reused);
                  });
        } catch (Denials.AttemptEnded ended) {
          return attempts.ended(
              caller.run(),
              caller.step().id(),
              caller.claims(),
              "skills/" + skill,
              ended.getMessage());
        }
        if (lost.reused()) {
          return keyConflict(lost.gate());
        }
        Gate gate = lost.gate();
        return new Refusal.Conflict(
            "an identical call to " + skill + " (same idempotency key) is in progress",
            gate.id(),
            gate.reason());
      }
      throw e;
    }
    return switch (begun) {
      case Begun.Replay r -> replay(skill, r.recorded(), r.gate());
      case Begun.Limited l -> limitReached(l.gate());
      case Begun.KeyReused k -> keyConflict(k.gate());
      case Begun.Ended e -> e.refusal();
      case Begun.Refused r -> r.conflict();
      case Begun.Reconcile r -> reconcile(caller, policy, skill, r.recorded());
      case Begun.Started s -> perform(caller, skill, input, invocationId, key);
      case Begun.Held h ->
          new SkillCall.AwaitingApproval(
              h.approval().id(),
              h.approval().expiresAt(),
              h.approval().approvers(),
              h.approval().reason());
    };
  }

  /** Counts one more call against the step's and the run's limits, or says which is reached. */
  private Optional<String> countCall(java.sql.Connection c, Caller caller, CompiledPolicy policy)
      throws SQLException {
    return invocations.countCall(
        c,
        caller.step().id(),
        policy.limits().maxSkillCallsPerStep(),
        caller.run().id(),
        policy.limits().maxSkillCallsPerRun());
  }

  /**
   * Whether a recorded call's outcome must be asked of the upstream: it is {@code unknown}, or it
   * is still {@code started} although no call can be waiting on it any more (older than its
   * provider's call timeout: its Gateway died, or lost the answer).
   */
  private boolean reconcilable(InvocationStore.Invocation recorded, String skill) {
    return "unknown".equals(recorded.status())
        || ("started".equals(recorded.status())
            && invocations.olderThan(recorded, skills.callTimeout(skill)));
  }

  /** The allow gate and the invocation are committed: now, and only now, the effect. */
  @SuppressWarnings("try") // the span's scope is used by what runs inside it (its children)
  private SkillCall perform(
      Caller caller, String skill, JsonNode input, UUID invocationId, String key) {
    JsonNode output;
    // A live upstream call holds no admission (it may take WORKA_SKILL_TIMEOUT); recording its
    // outcome takes one again, waiting as long as it must: that write must not be refused. A
    // dry-run answer is immediate and keeps its admission.
    boolean live = skills.mode() == dev.worka.gateway.skill.SideEffectMode.LIVE;
    if (live) {
      admission.release();
    }
    try {
      Span upstream = tracing.upstream(skill);
      upstream.setAttribute("worka.invocation_id", invocationId.toString());
      upstream.setAttribute("worka.skill.dry_run", !live);
      try (Scope scope = upstream.makeCurrent()) {
        output =
            skills.invoke(
                skill,
                input,
                new InvocationContext(
                    caller.run().id(), caller.step().id(), caller.agent(), invocationId, key));
      } catch (RuntimeException e) {
        upstream.setStatus(StatusCode.ERROR);
        upstream.setAttribute("worka.skill.error", e.getClass().getSimpleName());
        throw e;
      } finally {
        upstream.end();
        if (live) {
          admission.acquireUninterruptibly();
        }
      }
    } catch (SkillOutcomeUnknownException e) {
      String reason = cleaner.upstreamReason(e.getMessage(), MAX_UPSTREAM_REASON);
      finish(skill, invocationId, "unknown", null, reason, null, null);
      return new Refusal.UpstreamFailed(
          skill
              + " failed upstream: "
              + reason
              + "; a retry with the same input (or idempotency key) is reconciled first, never performed blindly");
    } catch (SkillOutputInvalidException e) {
      finish(skill, invocationId, "failed", null, e.getMessage(), null, e.upstreamRef());
      return new Refusal.OutputInvalid(skill + " failed: " + e.getMessage(), e.violations());
    } catch (SkillUnavailableException | SkillFailedException e) {
      String reason = cleaner.upstreamReason(e.getMessage(), MAX_UPSTREAM_REASON);
      finish(skill, invocationId, "failed", null, reason, null, null);
      return new Refusal.UpstreamFailed(skill + " failed upstream: " + reason);
    } catch (RuntimeException e) {
      finish(skill, invocationId, "unknown", null, e.toString(), null, null);
      throw e;
    }
    OutputCleaner.Cleaned cleaned = cleaner.clean(output);
    String outputJson = Json.write(cleaned.value());
    if (outputJson.getBytes(StandardCharsets.UTF_8).length > MAX_OUTPUT_BYTES) {
      finish(
          skill,
          invocationId,
          "failed",
          null,
          "output larger than " + MAX_OUTPUT_BYTES + " bytes",
          null,
          null);
      return new Refusal.OutputTooLarge(
          skill + " returned more than " + MAX_OUTPUT_BYTES + " bytes");
    }
    finish(
        skill,
        invocationId,
        "succeeded",
        outputJson,
        null,
        Json.write(cleaned.changes()),
        skills.upstreamRef(skill, output).orElse(null));
    return new SkillCall.Performed(invocationId, cleaned.value());
  }

  /**
   * An earlier call with this key has no recorded outcome: the upstream is asked (read-only)
   * whether its effect exists. Found: its output is recorded and returned, no second effect. Not
   * found: the call is performed now, under the same invocation (and marker), after a new allow
   * gate. Cannot tell: refused (a conflict) and left {@code unknown} until a later call or sweep
   * can tell.
   */
  private SkillCall reconcile(
      Caller caller, CompiledPolicy policy, String skill, InvocationStore.Invocation recorded) {
    JsonNode recordedInput = Json.parse(recorded.inputJson());
    UUID id = recorded.id();
    SkillProvider.Reconciliation answer =
        skills.reconcile(
            skill,
            recordedInput,
            new InvocationContext(
                caller.run().id(),
                caller.step().id(),
                caller.agent(),
                id,
                recorded.idempotencyKey()));
    return switch (answer) {
      case SkillProvider.Reconciliation.Performed p -> {
        OutputCleaner.Cleaned cleaned = cleaner.clean(p.output());
        String outputJson = Json.write(cleaned.value());
        String ref = p.upstreamRef();
        Begun found =
            decideAgain(
                caller,
                skill,
                c -> {
                  String why =
                      "reconciled: the effect exists upstream"
                          + (ref == null ? "" : " (" + ref + ")");
                  if (!invocations.resolvePerformed(
                      c, id, outputJson, ref, Json.write(cleaned.changes()), why)) {
                    return conflict(
                        skill,
                        "invocation " + id + " was resolved by another call meanwhile; call again");
                  }
                  // The outcome is recorded whatever the limits say; answering it is a replay,
                  // counted.
                  Optional<String> limit = countCall(c, caller, policy);
                  if (limit.isPresent()) {
                    return new Begun.Limited(
                        deny(c, caller, skill, limit.get() + " (a replay counts as a call)"));
                  }
                  Gate gate =
                      gate(
                          c,
                          caller,
                          skill,
                          GateStatus.ALLOW,
                          "invocation "
                              + id
                              + "'s outcome was not recorded;"
                              + " reconciliation found its effect upstream"
                              + (ref == null ? "" : " (" + ref + ")")
                              + ": its output is returned, no second effect");
                  invocations.lockEvent(
                      c, invocations.byId(c, id).orElseThrow(), "replayed", gate.id());
                  return new Begun.Replay(invocations.byId(c, id).orElseThrow(), gate);
                });
        yield switch (found) {
          case Begun.Limited l -> limitReached(l.gate());
          case Begun.Ended e -> e.refusal();
          case Begun.Refused r -> r.conflict();
          case Begun.Replay r -> new SkillCall.Replayed(id, cleaned.value());
          case Begun.KeyReused k -> throw unexpected(k);
          case Begun.Reconcile r -> throw unexpected(r);
          case Begun.Started st -> throw unexpected(st);
          case Begun.Held h -> throw unexpected(h);
        };
      }
      case SkillProvider.Reconciliation.NotPerformed n -> {
        Begun again =
            decideAgain(
                caller,
                skill,
                c -> {
                  InvocationStore.Invocation now = invocations.byId(c, id).orElseThrow();
                  if (!"unknown".equals(now.status())) {
                    return conflict(
                        skill, "invocation " + id + " is " + now.status() + " now; call again");
                  }
                  Optional<String> limit = countCall(c, caller, policy);
                  if (limit.isPresent()) {
                    return new Begun.Limited(deny(c, caller, skill, limit.get()));
                  }
                  String why =
                      "reconciliation found no effect upstream ("
                          + n.evidence()
                          + "): performed again as attempt "
                          + caller.claims().attempt();
                  if (!invocations.restart(c, id, caller.claims().attempt(), why)) {
                    // Nothing of this transaction is kept: not the call just counted either.
                    c.rollback();
                    return conflict(skill, "invocation " + id + " changed meanwhile; call again");
                  }
                  UUID gateId = UUID.randomUUID();
                  invocations.lockEvent(
                      c, invocations.byId(c, id).orElseThrow(), "acquired", gateId);
                  return new Begun.Started(
                      gate(
                          c,
                          caller,
                          skill,
                          GateStatus.ALLOW,
                          "invocation "
                              + id
                              + "'s outcome was not"
                              + " recorded and reconciliation found no effect upstream ("
                              + n.evidence()
                              + "); "
                              + allowReason(caller, skill),
                          gateId));
                });
        yield switch (again) {
          case Begun.Limited l -> limitReached(l.gate());
          case Begun.Ended e -> e.refusal();
          case Begun.Refused r -> r.conflict();
          case Begun.Started st ->
              perform(caller, skill, recordedInput, id, recorded.idempotencyKey());
          case Begun.Replay r -> throw unexpected(r);
          case Begun.KeyReused k -> throw unexpected(k);
          case Begun.Reconcile r -> throw unexpected(r);
          case Begun.Held h -> throw unexpected(h);
        };
      }
      case SkillProvider.Reconciliation.Unknown u -> {
        String why =
            "the outcome of invocation "
                + id
                + " is unknown and could not be reconciled: "
                + u.why()
                + "; it is not performed again until it is";
        Begun refused =
            decideAgain(
                caller,
                skill,
                c -> {
                  invocations.noteUnresolved(c, id, "reconciliation could not tell: " + u.why());
                  Gate deny = deny(c, caller, skill, why);
                  invocations.lockEvent(
                      c, invocations.byId(c, id).orElseThrow(), "conflict", deny.id());
                  return new Begun.Refused(new Refusal.Conflict(why, deny.id(), why));
                });
        yield switch (refused) {
          case Begun.Ended e -> e.refusal();
          case Begun.Refused r -> r.conflict();
          case Begun.Limited l -> throw unexpected(l);
          case Begun.Replay r -> throw unexpected(r);
          case Begun.KeyReused k -> throw unexpected(k);
          case Begun.Reconcile r -> throw unexpected(r);
          case Begun.Started st -> throw unexpected(st);
          case Begun.Held h -> throw unexpected(h);
        };
      }
    };
  }

  /**
   * A further decision transaction for the caller: its run and step locked and still running (else
   * {@link Begun.Ended}), then {@code work}.
   */
  private Begun decideAgain(
      Caller caller, String skill, dev.worka.gateway.store.SqlWork<Begun> work) {
    return attempts.decide(caller, false, "skills/" + skill, work, Begun.Ended::new);
  }

  private static Begun.Refused conflict(String skill, String why) {
    return new Begun.Refused(
        new Refusal.Conflict("the call to " + skill + " cannot go on: " + why));
  }

  /** A decision transaction came to what its work never returns: a bug here. */
  private static IllegalStateException unexpected(Begun begun) {
    return new IllegalStateException("a reconciliation's decision came to " + begun);
  }

  private static Refusal.LimitReached limitReached(Gate gate) {
    return new Refusal.LimitReached(gate.reason(), gate.id());
  }

  private String refusal(
      Caller caller, CompiledPolicy policy, String skill, Optional<SkillDefinition> definition) {
    if (grants(policy, caller.agent(), caller.step().allowedSkills(), skill)
        instanceof Decision.Deny d) {
      return d.reason();
    }
    if (definition.isEmpty()) {
      return "skill " + skill + " is not known to this Gateway";
    }
    return null;
  }

  /**
   * The grants part of a skill call's decision, the first thing {@link #call} asks: may {@code
   * agent} invoke {@code skill} in a step that accepts {@code stepSkills}. The skill's condition is
   * asked after the input was checked ({@link PolicyDecider#condition}, over {@link
   * #conditionContext}). {@link ReplayPolicy} asks exactly these two, so a replay decides as a live
   * call would.
   */
  static Decision grants(
      CompiledPolicy policy, String agent, List<String> stepSkills, String skill) {
    if (PolicyDecider.permission(policy, agent, Permissions.SKILL_INVOKE)
        instanceof Decision.Deny d) {
      return d;
    }
    return PolicyDecider.skill(policy, agent, stepSkills, skill);
  }

  /** The facts a skill's {@code when} condition may read. */
  private static ConditionContext conditionContext(Caller caller, JsonNode input) {
    return conditionContext(caller.run(), caller.step(), input);
  }

  /**
   * The facts a skill's {@code when} condition may read about a call of {@code step} in {@code
   * run}.
   */
  static ConditionContext conditionContext(
      dev.worka.gateway.run.Run run, dev.worka.gateway.run.Step step, JsonNode input) {
    return new ConditionContext(
        input,
        new ConditionContext.Run(
            run.id().toString(),
            run.source().sql(),
            run.text(),
            run.requester(),
            run.slackChannel(),
            run.slackThreadTs()),
        new ConditionContext.Step(
            step.id().toString(), step.stepRef(), step.agent(), step.allowedSkills()));
  }

  private String allowReason(Caller caller, String skill) {
    return "agent "
        + caller.agent()
        + " holds skill.invoke, "
        + skill
        + " is on its allowlist and among the"
        + " step's accepted skills, and its condition holds (policy v"
        + caller.policy().version()
        + ")"
        + (dryRun ? "; dry-run" : "");
  }

  /**
   * A refusal before any decision transaction: its deny gate recorded in a transaction of its own,
   * then {@code refusal} of the gate's id (or the attempt's end, if it ended meanwhile).
   */
  private SkillCall denied(
      Caller caller, String skill, String reason, Function<UUID, SkillCall> refusal) {
    return switch (attempts.deny(caller, GateAction.SKILL_INVOKE, skill, reason)) {
      case Denial.Recorded r -> refusal.apply(r.gate().id());
      case Refusal.AttemptEnded e -> e;
    };
  }

  /** A deny gate of the caller's call of {@code skill}, in the decision's transaction. */
  private Gate deny(java.sql.Connection c, Caller caller, String skill, String reason)
      throws SQLException {
    return denials.record(
        c,
        caller.run(),
        caller.step().id(),
        caller.claims().attempt(),
        caller.agent(),
        GateAction.SKILL_INVOKE,
        skill,
        reason);
  }

  private Gate gate(
      java.sql.Connection c, Caller caller, String skill, GateStatus status, String reason)
      throws SQLException {
    return gate(c, caller, skill, status, reason, UUID.randomUUID());
  }

  private Gate gate(
      java.sql.Connection c, Caller caller, String skill, GateStatus status, String reason, UUID id)
      throws SQLException {
    return audit.recordGate(
        c,
        new AuditLog.Decision(
            GateAction.SKILL_INVOKE,
            status,
            caller.agent(),
            caller.run().id(),
            caller.step().id(),
            caller.claims().attempt(),
            skill,
            reason,
            caller.policy().id(),
            caller.run().traceId()),
        id);
  }

  private static SkillCall replay(String skill, InvocationStore.Invocation recorded, Gate gate) {
    if (!"succeeded".equals(recorded.status())) {
      String why =
          "the call to "
              + skill
              + " with this idempotency key is "
              + recorded.status()
              + (recorded.error() == null ? "" : ": " + recorded.error());
      return new Refusal.Conflict(why, gate.id(), gate.reason());
    }
    return new SkillCall.Replayed(recorded.id(), Json.parse(recorded.outputJson()));
  }

  /**
   * The outcome and the released lock event, with its evidence if {@code skill} has side effects
   * (the effect's upstream reference; a large output): one statement, one round trip, durable on
   * return.
   */
  private void finish(
      String skill,
      UUID id,
      String status,
      String outputJson,
      String error,
      String cleaningJson,
      String upstreamRef) {
    Transactions.withConnection(
        dataSource,
        c -> {
          boolean effect = skills.find(skill).map(d -> d.sideEffect()).orElse(false);
          invocations.finish(c, id, status, outputJson, upstreamRef, effect, error, cleaningJson);
          return null;
        });
  }

  private static Refusal.KeyConflict keyConflict(Gate gate) {
    return new Refusal.KeyConflict(gate.reason(), gate.id());
  }

  /** The reason of the refusal of a key used again with another input than its invocation's. */
  private static String keyReused(String skill, String key, InvocationStore.Invocation recorded) {
    String named =
        key.startsWith("key:")
            ? "'" + key.substring(4) + "'"
            : "derived from the input (" + key + ")";
    return "idempotency key reused with another input: this step called "
        + skill
        + " with idempotency key "
        + named
        + " before (invocation "
        + recorded.id()
        + ", "
        + recorded.status()
        + ") with another input; a key stands for one input, so this call"
        + " is neither performed nor answered with that call's output: use a new key for a new input";
  }

  /**
   * Whether {@code input} is the input {@code recorded} was made with: the same JSON value — object
   * members in any order, numbers by their value ({@code 1}, {@code 1.0} and {@code 1e0} are one
   * number), everything else exactly. It is compared with the recorded input itself (immutable, and
   * what a reconciliation or a retry performs), not with a digest of it, so that no two inputs the
   * upstream would tell apart can pass for one.
   */
  static boolean sameInput(InvocationStore.Invocation recorded, JsonNode input) {
    return sameValue(Json.parse(recorded.inputJson()), input);
  }

  static boolean sameValue(JsonNode a, JsonNode b) {
    return a != null && b != null && a.equals(SAME_VALUE, b);
  }

  private static final java.util.Comparator<JsonNode> SAME_VALUE =
      (a, b) -> {
        if (a.equals(b)) {
          return 0;
        }
        if (a.isNumber() && b.isNumber() && finite(a) && finite(b)) {
          return a.decimalValue().compareTo(b.decimalValue());
        }
        return 1;
      };

  private static boolean finite(JsonNode number) {
    return !(number.isFloatingPointNumber()
        && !number.isBigDecimal()
        && !Double.isFinite(number.doubleValue()));
  }

  static String canonicalHash(JsonNode input) {
    try {
      String canonical =
          new JsonCanonicalizer(Json.STRICT.writeValueAsString(input)).getEncodedString();
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256")
                  .digest(canonical.getBytes(StandardCharsets.UTF_8)));
    } catch (java.io.IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot hash a skill input", e);
    }
  }
}
