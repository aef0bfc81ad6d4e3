package dev.worka.gateway.mediation;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.plan.PlanStore;
import dev.worka.gateway.plan.PlanValidation;
import dev.worka.gateway.plan.PlanValidator;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.Permissions;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.protocol.Json;
import dev.worka.protocol.PlanAccepted;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A planner's plan, decided (DESIGN §2.5, §6): the caller must hold {@code plan.submit} and be its
 * run's planning step; the plan is validated ({@link PlanValidator}) against the run's policy;
 * then, in one transaction that holds the run (FOR UPDATE) and the step, still running and the run
 * still {@code planning}: a valid plan is stored with its steps and an allow gate; an invalid one
 * is stored as rejected with a deny gate and a {@code policy} burn, and the run becomes {@code
 * rejected}. A run has one plan: see {@link #submit} for a second one.
 */
public final class AcceptPlan {
  private final Attempts attempts;
  private final Denials denials;
  private final RunStore runs;
  private final StepStore steps;
  private final PlanStore plans;
  private final PlanValidator validator;
  private final InvocationStore invocations;
  private final AuditLog audit;

  public AcceptPlan(
      Attempts attempts,
      Denials denials,
      RunStore runs,
      StepStore steps,
      PlanStore plans,
      PlanValidator validator,
      InvocationStore invocations,
      AuditLog audit) {
    this.attempts = attempts;
    this.denials = denials;
    this.runs = runs;
    this.steps = steps;
    this.plans = plans;
    this.validator = validator;
    this.invocations = invocations;
    this.audit = audit;
  }

  /**
   * Decides {@code caller}'s plan, {@code raw} as it was posted (its identity fields removed).
   *
   * <p>A plan posted to a run that has an accepted one already: the run's plan is the one accepted
   * first. Its planning step may post it again — its attempt retried after the first ended before
   * recording its result, or its answer lost — and is answered with it ({@link
   * PlanSubmission.AlreadyAccepted}: the same plan id, hash and step map, an allow gate; counted
   * against the call limits like a replay of a skill call). Any other plan — another hash of the
   * normalized plan, or one that does not validate — is refused ({@link
   * PlanSubmission.OtherPlanAccepted}: a deny gate, nothing stored), naming the accepted plan so
   * the planner can end its step with it.
   */
  public PlanSubmission submit(Caller caller, String raw) {
    CompiledPolicy policy = caller.policy().policy();
    String refusal = refusal(policy, caller.agent(), caller.step()).orElse(null);
    if (refusal != null) {
      String why = refusal;
      return switch (attempts.deny(caller, GateAction.PLAN_SUBMIT, null, why)) {
        case Denial.Recorded r -> new Refusal.Denied(why, r.gate().id());
        case Refusal.AttemptEnded e -> e;
      };
    }
    PlanValidation validation = validator.validate(raw, policy);
    return attempts.decide(
        caller,
        true,
        "plan",
        c -> {
          Run run = runs.find(c, caller.run().id(), Lock.NONE).orElseThrow();
          if (run.status() != RunStatus.PLANNING) {
            return new Refusal.Conflict(
                "run " + run.id() + " is " + run.status().sql() + ", not planning");
          }
          Optional<PlanStore.StoredPlan> earlier = plans.acceptedOf(c, run.id());
          if (earlier.isPresent()) {
            return planAgain(c, caller, run, earlier.get(), validation, policy);
          }
          return switch (validation) {
            case PlanValidation.Accepted a -> accept(c, caller, run, raw, a, policy);
            case PlanValidation.Rejected r -> reject(c, caller, run, raw, r);
          };
        },
        e -> e);
  }

  /**
   * Why {@code agent}, in {@code step}, may not submit a plan at all under {@code policy} (before
   * the plan is looked at), if it may not.
   */
  static Optional<String> refusal(CompiledPolicy policy, String agent, Step step) {
    if (PolicyDecider.permission(policy, agent, Permissions.PLAN_SUBMIT)
        instanceof Decision.Deny d) {
      return Optional.of(d.reason());
    }
    if (step.role() != StepRole.PLANNER) {
      return Optional.of(
          "step "
              + step.stepRef()
              + " is a worker step; only the run's planning step may submit a plan");
    }
    return Optional.empty();
  }

  /**
   * The whole policy decision on a plan, as {@link #submit} takes it, without storing anything:
   * {@link #refusal}, then {@code validator}'s verdict on {@code raw} under {@code policy}. The
   * deny reason of an invalid plan is the one its gate records ({@link #rejectedReason}). {@link
   * ReplayPolicy} decides recorded plans with it.
   */
  static Decision decide(
      PlanValidator validator, CompiledPolicy policy, String agent, Step step, String raw) {
    Optional<String> refused = refusal(policy, agent, step);
    if (refused.isPresent()) {
      return new Decision.Deny(refused.get());
    }
    return switch (validator.validate(raw, policy)) {
      case PlanValidation.Accepted a ->
          new Decision.Allow(
              "plan "
                  + a.planHash().substring(0, 12)
                  + " accepted: "
                  + a.plan().steps().size()
                  + " step(s) valid");
      case PlanValidation.Rejected r -> new Decision.Deny(rejectedReason(r));
    };
  }

  /** The reason of a rejected plan's deny gate. */
  static String rejectedReason(PlanValidation.Rejected r) {
    return "plan rejected: " + String.join("; ", r.reasons());
  }

  private PlanSubmission accept(
      Connection c,
      Caller caller,
      Run run,
      String raw,
      PlanValidation.Accepted a,
      CompiledPolicy policy)
      throws SQLException {
    PlanStore.Stored stored =
        plans.storeAccepted(
            c,
            run.id(),
            caller.step().id(),
            caller.agent(),
            raw,
            a,
            policy.limits().maxAttempts(),
            run.traceId());
    audit.recordGate(
        c,
        new AuditLog.Decision(
            GateAction.PLAN_SUBMIT,
            GateStatus.ALLOW,
            caller.agent(),
            run.id(),
            caller.step().id(),
            caller.claims().attempt(),
            null,
            "plan "
                + a.planHash().substring(0, 12)
                + " accepted: "
                + a.plan().steps().size()
                + " step(s) valid under policy v"
                + caller.policy().version(),
            run.policyManifestId(),
            run.traceId()));
    Map<String, String> refs = new LinkedHashMap<>();
    stored.stepIds().forEach((ref, id) -> refs.put(ref, id.toString()));
    return new PlanSubmission.Accepted(
        new PlanAccepted(stored.planId().toString(), a.planHash(), refs));
  }

  private PlanSubmission reject(
      Connection c, Caller caller, Run run, String raw, PlanValidation.Rejected r)
      throws Exception {
    plans.storeRejected(c, run.id(), caller.step().id(), caller.agent(), raw, r.reasons());
    String why = rejectedReason(r);
    Gate gate =
        audit.recordGate(
            c,
            new AuditLog.Decision(
                GateAction.PLAN_SUBMIT,
                GateStatus.DENY,
                caller.agent(),
                run.id(),
                caller.step().id(),
                caller.claims().attempt(),
                null,
                why,
                run.policyManifestId(),
                run.traceId()));
    audit.recordBurn(
        c,
        run.id(),
        caller.step().id(),
        caller.agent(),
        caller.claims().attempt(),
        BurnKind.POLICY,
        why,
        Json.STRICT.writeValueAsString(Map.of("violations", r.reasons())));
    runs.transition(c, run.id(), RunStatus.PLANNING, RunStatus.REJECTED, "gateway", why, why, null)
        .requireApplied("run " + run.id()); // locked FOR UPDATE by lockStillRunning
    return new PlanSubmission.Rejected(why, gate.id(), r.reasons());
  }

  /** A plan posted to a run that has an accepted one already (see {@link #submit}). */
  private PlanSubmission planAgain(
      Connection c,
      Caller caller,
      Run run,
      PlanStore.StoredPlan accepted,
      PlanValidation submitted,
      CompiledPolicy policy)
      throws SQLException {
    Map<String, String> refs = new LinkedHashMap<>();
    for (Step s : steps.ofRun(c, run.id())) {
      if (accepted.id().equals(s.planId())) {
        refs.put(s.stepRef(), s.id().toString());
      }
    }
    PlanAccepted answer = new PlanAccepted(accepted.id().toString(), accepted.planHash(), refs);
    String acceptedName = "plan " + accepted.planHash().substring(0, 12);
    int attempt = caller.claims().attempt();
    if (submitted instanceof PlanValidation.Accepted a
        && a.planHash().equals(accepted.planHash())) {
      Optional<String> limit =
          invocations.countCall(
              c,
              caller.step().id(),
              policy.limits().maxSkillCallsPerStep(),
              run.id(),
              policy.limits().maxSkillCallsPerRun());
      if (limit.isPresent()) {
        String why = limit.get() + " (a plan submitted again counts as a call)";
        Gate gate =
            denials.record(
                c,
                run,
                caller.step().id(),
                attempt,
                caller.agent(),
                GateAction.PLAN_SUBMIT,
                null,
                why);
        return new Refusal.LimitReached(why, gate.id());
      }
      audit.recordGate(
          c,
          new AuditLog.Decision(
              GateAction.PLAN_SUBMIT,
              GateStatus.ALLOW,
              caller.agent(),
              run.id(),
              caller.step().id(),
              attempt,
              null,
              acceptedName
                  + " was already accepted for this run and the same plan was submitted again; answered with it,"
                  + " no second plan stored",
              run.policyManifestId(),
              run.traceId()));
      return new PlanSubmission.AlreadyAccepted(answer);
    }
    String other =
        switch (submitted) {
          case PlanValidation.Accepted a ->
              "plan " + a.planHash().substring(0, 12) + " differs from it";
          case PlanValidation.Rejected r ->
              "the plan submitted now differs from it and is not valid either ("
                  + String.join("; ", r.reasons())
                  + ")";
        };
    String why =
        acceptedName
            + " is already accepted for this run and "
            + other
            + "; a run has one plan: the second one is refused, not stored";
    Gate gate =
        denials.record(
            c, run, caller.step().id(), attempt, caller.agent(), GateAction.PLAN_SUBMIT, null, why);
    return new PlanSubmission.OtherPlanAccepted(why, gate.id(), answer);
  }
}
