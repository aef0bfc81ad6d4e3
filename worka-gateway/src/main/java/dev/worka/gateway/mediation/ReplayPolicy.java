package dev.worka.gateway.mediation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.eval.EvalStore;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.plan.PlanStore;
import dev.worka.gateway.plan.PlanValidator;
import dev.worka.gateway.policy.Compilation;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.DurationText;
import dev.worka.gateway.policy.IngressPolicy;
import dev.worka.gateway.policy.LaunchAllowance;
import dev.worka.gateway.policy.Limits;
import dev.worka.gateway.policy.Permissions;
import dev.worka.gateway.policy.PolicyCompiler;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.Requester;
import dev.worka.gateway.policy.SkillFields;
import dev.worka.gateway.policy.SkillPolicy;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import javax.sql.DataSource;

/**
 * Policy replay ({@code POST /v1/policy/replay}, {@code worka policy replay}): the recorded
 * decisions of past runs decided again under a candidate manifest, without performing anything, to
 * show what applying it would change.
 *
 * <p>Each decision is decided by the very code live mediation decides with — {@link
 * SkillMediator#grants} then {@link PolicyDecider#condition} over {@link
 * SkillMediator#conditionContext} for a skill call (with its recorded input), {@link
 * AcceptPlan#decide} for a plan (with its stored text), {@link PolicyDecider#permission} for a
 * model call, {@link IngressPolicy#admit} for a run's creation — once under the policy the decision
 * was made under (the baseline: it must reproduce the recorded outcome) and once under the
 * candidate. A decision whose facts were not recorded (a denied call's input, the verified facts of
 * a Slack or GitHub requester), or whose recorded outcome rests on what a manifest does not decide
 * alone (call counts, the token budget, quotas), is reported {@link Change#NOT_REPLAYABLE} with
 * why, never as unchanged.
 *
 * <p>It performs nothing: it holds no skill provider, no model, no delivery, no task queue. It
 * reads in one read-only transaction under a statement timeout, at most {@link #MAX_RUNS} runs and
 * {@link #MAX_DECISIONS} decisions, one replay at a time; and writes only its result, one {@code
 * evals} row per decision (suite {@value #SUITE}, {@code passed} = the decision is unchanged).
 */
public final class ReplayPolicy {
  /** The {@code evals.suite} of replay results. */
  public static final String SUITE = "policy-replay";

  /** Most runs one replay reads. */
  public static final int MAX_RUNS = 1000;

  /** Most decisions one replay re-decides (and eval rows it writes). */
  public static final int MAX_DECISIONS = 5000;

  /** The longest window of {@code since}. */
  public static final Duration MAX_SINCE = Duration.ofDays(366);

  /** Each statement of a replay's read, at most. */
  static final String STATEMENT_TIMEOUT = "15s";

  /** What a decision came to under the candidate, against what was recorded. */
  public enum Change {
    UNCHANGED("unchanged"),
    ALLOW_TO_DENY("allow_to_deny"),
    DENY_TO_ALLOW("deny_to_allow"),
    NOT_REPLAYABLE("not_replayable");

    private final String name;

    Change(String name) {
      this.name = name;
    }

    /** The name in the API and the eval rows. */
    public String label() {
      return name;
    }
  }

  /** Which runs a replay reads: those created within a duration, or the newest N. */
  public sealed interface Window {
    /** Runs created in the last {@code duration} (up to {@link #MAX_SINCE}). */
    record Since(Duration duration) implements Window {
      public Since {
        if (duration == null || duration.isNegative() || duration.isZero()) {
          throw new IllegalArgumentException("since must be a positive duration such as 7d");
        }
        if (duration.compareTo(MAX_SINCE) > 0) {
          throw new IllegalArgumentException(
              "since may be at most " + DurationText.format(MAX_SINCE) + ", not " + duration);
        }
      }
    }

    /** The newest {@code runs} runs (1..{@link #MAX_RUNS}). */
    record LastRuns(int runs) implements Window {
      public LastRuns {
        if (runs < 1 || runs > MAX_RUNS) {
          throw new IllegalArgumentException("runs must be 1.." + MAX_RUNS + ", got " + runs);
        }
      }
    }
  }

  /**
   * One recorded decision, decided again.
   *
   * @param action the gate action ({@code run.create}, {@code plan.submit}, {@code skill.invoke},
   *     {@code model.invoke})
   * @param subject the agent (or, for {@code run.create}, the requester)
   * @param gateId the recorded gate, null for what leaves none (an allowed run creation)
   * @param planId the plan decided, for {@code plan.submit}
   * @param recorded {@code allow} or {@code deny}
   * @param candidate what the candidate decides ({@code allow}/{@code deny}), null when not
   *     replayable
   * @param candidateReason the candidate's reason, or why the decision cannot be replayed
   */
  public record Redecided(
      String action,
      UUID runId,
      UUID stepId,
      String stepRef,
      String subject,
      String skill,
      UUID gateId,
      UUID planId,
      Instant decidedAt,
      String recorded,
      String recordedReason,
      String candidate,
      String candidateReason,
      Change change) {}

  /**
   * A replay's result.
   *
   * @param replayId the id its eval rows carry in their case name
   * @param from the oldest creation time the window covers
   * @param runs the runs read
   * @param truncated whether a bound ({@link #MAX_RUNS}, {@link #MAX_DECISIONS}) cut the window
   * @param otherGates gates in the window that no manifest decides (identity, tokens, the
   *     operator's actions, Worka's own posts), by action: not replayed
   * @param launchRefusals what this host would refuse of the candidate on {@code apply}
   */
  public record Report(
      UUID replayId,
      String candidateSha256,
      Window window,
      Instant from,
      int runs,
      List<Redecided> decisions,
      boolean truncated,
      Map<String, Integer> otherGates,
      List<String> launchRefusals) {

    /** How many decisions came to {@code change}. */
    public long count(Change change) {
      return decisions.stream().filter(d -> d.change() == change).count();
    }
  }

  /** The outcome of {@link #replay}. */
  public sealed interface Outcome {
    record Replayed(Report report) implements Outcome {}

    /** The candidate does not compile: the compiler's errors; nothing was read or written. */
    record Invalid(List<String> errors) implements Outcome {}

    /** Another replay is running on this Gateway. */
    record Busy(String why) implements Outcome {}
  }

  private final DataSource dataSource;
  private final PolicyStore policies;
  private final RunStore runs;
  private final StepStore steps;
  private final PlanStore plans;
  private final AuditLog audit;
  private final InvocationStore invocations;
  private final PlanValidator validator;
  private final SkillFields skillFields;
  private final LaunchAllowance launches;
  private final InstantSource clock;
  private final Semaphore oneAtATime = new Semaphore(1);

  public ReplayPolicy(
      DataSource dataSource,
      PolicyStore policies,
      RunStore runs,
      StepStore steps,
      PlanStore plans,
      AuditLog audit,
      InvocationStore invocations,
      PlanValidator validator,
      SkillFields skillFields,
      LaunchAllowance launches,
      InstantSource clock) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.policies = Objects.requireNonNull(policies, "policies");
    this.runs = Objects.requireNonNull(runs, "runs");
    this.steps = Objects.requireNonNull(steps, "steps");
    this.plans = Objects.requireNonNull(plans, "plans");
    this.audit = Objects.requireNonNull(audit, "audit");
    this.invocations = Objects.requireNonNull(invocations, "invocations");
    this.validator = Objects.requireNonNull(validator, "validator");
    this.skillFields = Objects.requireNonNull(skillFields, "skillFields");
    this.launches = Objects.requireNonNull(launches, "launches");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Compiles {@code manifest} as {@code PUT /v1/policy} would and, if it compiles, re-decides the
   * recorded decisions of the runs in {@code window} under it, and records the result as eval rows.
   */
  public Outcome replay(String manifest, Window window) {
    Objects.requireNonNull(window, "window");
    CompiledPolicy candidate;
    switch (PolicyCompiler.compile(manifest, skillFields)) {
      case Compilation.Invalid invalid -> {
        return new Outcome.Invalid(invalid.errors());
      }
      case Compilation.Compiled compiled -> candidate = compiled.policy();
    }
    if (!oneAtATime.tryAcquire()) {
      return new Outcome.Busy(
          "another policy replay is running on this Gateway; retry when it has ended");
    }
    try {
      UUID replayId = UUID.randomUUID();
      String sha256 = dev.worka.gateway.store.Sha256.hex(manifest);
      Report report =
          Transactions.inTransaction(dataSource, c -> read(c, replayId, sha256, candidate, window));
      Transactions.inTransaction(
          dataSource,
          c -> {
            record(c, report);
            return null;
          });
      return new Outcome.Replayed(report);
    } finally {
      oneAtATime.release();
    }
  }

  private Report read(
      Connection c, UUID replayId, String sha256, CompiledPolicy candidate, Window window)
      throws SQLException {
    Sql.execute(c, "set transaction isolation level repeatable read, read only");
    Sql.execute(c, "set local statement_timeout = '" + STATEMENT_TIMEOUT + "'");
    Instant now = clock.instant();
    List<Run> selected =
        new ArrayList<>(
            switch (window) {
              case Window.Since s -> runs.createdSince(c, now.minus(s.duration()), MAX_RUNS + 1);
              case Window.LastRuns l -> runs.list(c, null, l.runs());
            });
    boolean truncated = selected.size() > MAX_RUNS;
    if (truncated) {
      selected = selected.subList(0, MAX_RUNS);
    }
    Collections.reverse(selected); // oldest first
    Instant from =
        switch (window) {
          case Window.Since s -> now.minus(s.duration());
          case Window.LastRuns l -> selected.isEmpty() ? now : selected.get(0).createdAt();
        };
    Map<UUID, StoredPolicy> pinned = new HashMap<>();
    List<Redecided> out = new ArrayList<>();
    Map<String, Integer> other = new java.util.TreeMap<>();
    int runsRead = 0;
    for (Run run : selected) {
      if (out.size() >= MAX_DECISIONS) {
        truncated = true;
        break;
      }
      runsRead++;
      StoredPolicy policy = pinned.get(run.policyManifestId());
      if (policy == null) {
        policy = policies.byId(c, run.policyManifestId());
        pinned.put(run.policyManifestId(), policy);
      }
      runDecisions(c, run, policy, candidate, out, other);
    }
    if (out.size() < MAX_DECISIONS) {
      for (Gate g :
          AuditLog.recent(
              c, GateAction.RUN_CREATE.sql(), GateStatus.DENY, null, null, MAX_DECISIONS)) {
        if (g.createdAt().isBefore(from) || out.size() >= MAX_DECISIONS) {
          continue;
        }
        out.add(
            notReplayable(
                g,
                null,
                null,
                "a refused request is recorded only as its gate (requester and reason): the facts the"
                    + " ingress decided on (Slack workspace, channel, guest status; GitHub repository"
                    + " and author association) and the quota counts of the time are not stored"));
      }
    }
    if (out.size() > MAX_DECISIONS) { // the last run read had more than the room left
      out = new ArrayList<>(out.subList(0, MAX_DECISIONS));
    }
    return new Report(
        replayId,
        sha256,
        window,
        from,
        runsRead,
        List.copyOf(out),
        truncated || out.size() >= MAX_DECISIONS,
        Collections.unmodifiableMap(other),
        launches.refusals(candidate));
  }

  private void runDecisions(
      Connection c,
      Run run,
      StoredPolicy pinned,
      CompiledPolicy candidate,
      List<Redecided> out,
      Map<String, Integer> other)
      throws SQLException {
    out.add(ingress(run, pinned.policy(), candidate));
    Map<UUID, Step> stepsById = new HashMap<>();
    for (Step s : steps.ofRun(c, run.id())) {
      stepsById.put(s.id(), s);
    }
    Map<UUID, String> inputByGate = new HashMap<>();
    for (InvocationStore.Invocation i : invocations.ofRun(c, run.id())) {
      if (i.gateId() != null) {
        inputByGate.put(i.gateId(), i.inputJson());
      }
    }
    List<Gate> gates = audit.gatesOfRun(c, run.id());
    List<Gate> planGates = new ArrayList<>();
    for (Gate g : gates) {
      if (g.action() == GateAction.PLAN_SUBMIT) {
        planGates.add(g);
      }
    }
    for (PlanStore.StoredPlan plan : plans.ofRun(c, run.id())) {
      Gate gate = planGate(planGates, plan);
      if (gate != null) {
        planGates.remove(gate);
      }
      out.add(plan(run, stepsById.get(plan.plannerStepId()), plan, gate, pinned, candidate));
    }
    for (Gate g : gates) {
      switch (g.action()) {
        case SKILL_INVOKE ->
            out.add(
                skill(
                    run, stepsById.get(g.stepId()), g, inputByGate.get(g.id()), pinned, candidate));
        case MODEL_INVOKE -> out.add(model(g, pinned.policy(), candidate));
        case PLAN_SUBMIT -> {
          if (planGates.contains(g)) {
            out.add(
                notReplayable(
                    g,
                    stepsById.get(g.stepId()),
                    null,
                    "no plan text was stored for this decision (a plan submitted again after one"
                        + " was accepted, or a submission refused before its plan was read)"));
          }
        }
        default -> other.merge(g.action().sql(), 1, Integer::sum);
      }
    }
  }

  /** The recorded gate of {@code plan}: the first plan gate of the run its outcome recorded. */
  private static Gate planGate(List<Gate> planGates, PlanStore.StoredPlan plan) {
    for (Gate g : planGates) {
      boolean accepted = "accepted".equals(plan.status());
      if (accepted
          && g.status() == GateStatus.ALLOW
          && plan.planHash() != null
          && g.reason().startsWith("plan " + plan.planHash().substring(0, 12) + " accepted")) {
        return g;
      }
      if (!accepted
          && g.status() == GateStatus.DENY
          && g.reason().equals("plan rejected: " + String.join("; ", plan.rejectionReasons()))) {
        return g;
      }
    }
    return null;
  }

  private Redecided plan(
      Run run,
      Step planner,
      PlanStore.StoredPlan plan,
      Gate gate,
      StoredPolicy pinned,
      CompiledPolicy candidate) {
    String recorded = "accepted".equals(plan.status()) ? "allow" : "deny";
    String recordedReason =
        gate != null
            ? gate.reason()
            : "accepted".equals(plan.status())
                ? "plan accepted"
                : "plan rejected: " + String.join("; ", plan.rejectionReasons());
    if (planner == null) {
      return new Redecided(
          GateAction.PLAN_SUBMIT.sql(),
          run.id(),
          plan.plannerStepId(),
          null,
          plan.createdBy(),
          null,
          gate == null ? null : gate.id(),
          plan.id(),
          gate == null ? run.createdAt() : gate.createdAt(),
          recorded,
          recordedReason,
          null,
          "the planning step of this plan is not recorded",
          Change.NOT_REPLAYABLE);
    }
    Decision base =
        AcceptPlan.decide(validator, pinned.policy(), plan.createdBy(), planner, raw(plan));
    Decision cand = AcceptPlan.decide(validator, candidate, plan.createdBy(), planner, raw(plan));
    Verdict v =
        classify(
            recorded,
            Optional.of(base),
            Optional.of(cand),
            null,
            "the stored plan does not decide as recorded under the run's own policy",
            "");
    return new Redecided(
        GateAction.PLAN_SUBMIT.sql(),
        run.id(),
        planner.id(),
        planner.stepRef(),
        plan.createdBy(),
        null,
        gate == null ? null : gate.id(),
        plan.id(),
        gate == null ? run.createdAt() : gate.createdAt(),
        recorded,
        recordedReason,
        v.candidate(),
        v.reason(),
        v.change());
  }

  /** The plan as the planner posted it (stored as received, NUL characters removed). */
  private static String raw(PlanStore.StoredPlan plan) {
    return plan.rawPlan();
  }

  private Redecided skill(
      Run run, Step step, Gate g, String inputJson, StoredPolicy pinned, CompiledPolicy candidate) {
    if (step == null || g.skill() == null) {
      return notReplayable(g, step, null, "the gate names no step or skill of this run");
    }
    JsonNode input = inputJson == null ? null : Json.parse(inputJson);
    Optional<Decision> base =
        skillDecision(pinned.policy(), run, step, g.subject(), g.skill(), input);
    Optional<Decision> cand = skillDecision(candidate, run, step, g.subject(), g.skill(), input);
    Limits before = pinned.policy().limits();
    Limits after = candidate.limits();
    boolean lowered =
        after.maxSkillCallsPerStep() < before.maxSkillCallsPerStep()
            || after.maxSkillCallsPerRun() < before.maxSkillCallsPerRun();
    boolean same =
        after.maxSkillCallsPerStep() == before.maxSkillCallsPerStep()
            && after.maxSkillCallsPerRun() == before.maxSkillCallsPerRun();
    String missing =
        "the call was "
            + (g.status() == GateStatus.ALLOW ? "answered from an earlier call" : "denied")
            + " and its input is not recorded with this gate (only a performed call's input is),"
            + " so the condition of "
            + g.skill()
            + " cannot be evaluated";
    Verdict v =
        classify(
            g.status().sql(),
            base,
            cand,
            lowered
                ? "the candidate lowers limits.max_skill_calls_per_step or _per_run; whether this"
                    + " call would have been within them is not re-decided"
                : null,
            same
                ? null
                : "the recorded deny was not the policy's grants or condition (a call limit, the"
                    + " input schema, an idempotency key, availability: "
                    + g.reason()
                    + ") and the candidate changes the call limits",
            missing);
    if (v.change() == Change.DENY_TO_ALLOW) {
      v =
          new Verdict(
              v.candidate(),
              v.reason()
                  + " (the policy would allow it; the checks after the policy, such as the input"
                  + " schema and the call limits, were not reached then)",
              v.change());
    }
    return redecided(g, step, v);
  }

  /**
   * A skill call's policy decision as {@link SkillMediator} takes it: the grants, then the
   * condition over the recorded input; empty when the condition needs an input that was not
   * recorded.
   */
  private static Optional<Decision> skillDecision(
      CompiledPolicy policy, Run run, Step step, String agent, String skill, JsonNode input) {
    Decision granted = SkillMediator.grants(policy, agent, step.allowedSkills(), skill);
    if (!granted.allowed()) {
      return Optional.of(granted);
    }
    SkillPolicy settings = policy.skills().get(skill);
    boolean conditional = settings != null && settings.when().isPresent();
    if (conditional && input == null) {
      return Optional.empty();
    }
    Decision condition =
        PolicyDecider.condition(
            policy, skill, input == null ? null : SkillMediator.conditionContext(run, step, input));
    if (!condition.allowed()) {
      return Optional.of(condition);
    }
    return Optional.of(new Decision.Allow(granted.reason() + "; " + condition.reason()));
  }

  private static Redecided model(Gate g, CompiledPolicy pinned, CompiledPolicy candidate) {
    Decision base = PolicyDecider.permission(pinned, g.subject(), Permissions.MODEL_INVOKE);
    Decision cand = PolicyDecider.permission(candidate, g.subject(), Permissions.MODEL_INVOKE);
    int before = pinned.limits().maxModelTokensPerRun();
    int after = candidate.limits().maxModelTokensPerRun();
    Verdict v =
        classify(
            g.status().sql(),
            Optional.of(base),
            Optional.of(cand),
            after < before
                ? "the candidate lowers limits.max_model_tokens_per_run ("
                    + before
                    + " → "
                    + after
                    + "); the run's token count at the time is not re-decided"
                : null,
            after == before
                ? null
                : "the recorded deny was not the permission (the content, the token budget or the"
                    + " calls under way: "
                    + g.reason()
                    + ") and the candidate changes limits.max_model_tokens_per_run",
            "");
    return redecided(g, null, v);
  }

  private static Redecided ingress(Run run, CompiledPolicy pinned, CompiledPolicy candidate) {
    Verdict v;
    if (run.source() == RunSource.API || run.source() == RunSource.CLI) {
      Requester who = new Requester.Operator(run.source(), run.requester());
      IngressPolicy.Quotas before = pinned.ingress().quotas();
      IngressPolicy.Quotas after = candidate.ingress().quotas();
      boolean lowered =
          who.counted()
              && (after.runsPerRequesterPerHour() < before.runsPerRequesterPerHour()
                  || after.concurrentRunsPerRequester() < before.concurrentRunsPerRequester());
      v =
          classify(
              "allow",
              Optional.of(pinned.ingress().admit(who)),
              Optional.of(candidate.ingress().admit(who)),
              lowered
                  ? "the candidate lowers ingress.quotas; the requester's run counts at the time"
                      + " are not re-decided"
                  : null,
              null,
              "");
    } else {
      v =
          new Verdict(
              null,
              "the facts the ingress decided this "
                  + run.source().sql()
                  + " request on (Slack workspace and guest status; GitHub author association) are"
                  + " not recorded with the run",
              Change.NOT_REPLAYABLE);
    }
    return new Redecided(
        GateAction.RUN_CREATE.sql(),
        run.id(),
        null,
        null,
        run.source().sql() + ":" + (run.requester() == null ? "operator" : run.requester()),
        null,
        null,
        null,
        run.createdAt(),
        "allow",
        "the run was created (an allowed request leaves no gate; the run row is the record)",
        v.candidate(),
        v.reason(),
        v.change());
  }

  /** What a decision comes to under the candidate. */
  private record Verdict(String candidate, String reason, Change change) {}

  /**
   * Compares the candidate's decision with the recorded one. {@code base} is the same code's
   * decision under the policy the decision was made under; {@code allowNotReplayable} (when not
   * null) says why a recorded allow the candidate also allows cannot be called unchanged, {@code
   * denyNotReplayable} why a recorded deny that the run's own policy allows cannot, and {@code
   * missing} why an empty decision could not be taken.
   */
  private static Verdict classify(
      String recorded,
      Optional<Decision> base,
      Optional<Decision> cand,
      String allowNotReplayable,
      String denyNotReplayable,
      String missing) {
    if (cand.isEmpty()) {
      return new Verdict(null, missing, Change.NOT_REPLAYABLE);
    }
    Decision c = cand.get();
    boolean recordedAllow = "allow".equals(recorded);
    if (base.isPresent() && !base.get().allowed() && recordedAllow) {
      return new Verdict(
          null,
          "under the policy it was made under, the same code now decides deny ("
              + base.get().reason()
              + "), not the recorded allow: something besides the manifest changed (the skill"
              + " catalog, the stored record)",
          Change.NOT_REPLAYABLE);
    }
    if (!c.allowed()) {
      // The policy is asked before anything else a live decision checks: its deny is the answer.
      return new Verdict(
          "deny", c.reason(), recordedAllow ? Change.ALLOW_TO_DENY : Change.UNCHANGED);
    }
    if (recordedAllow) {
      return allowNotReplayable != null
          ? new Verdict(null, allowNotReplayable, Change.NOT_REPLAYABLE)
          : new Verdict("allow", c.reason(), Change.UNCHANGED);
    }
    if (base.isEmpty()) {
      return new Verdict(null, missing, Change.NOT_REPLAYABLE);
    }
    if (!base.get().allowed()) {
      return new Verdict("allow", c.reason(), Change.DENY_TO_ALLOW);
    }
    // Recorded deny, yet the run's own policy allows: a check after the policy denied.
    return denyNotReplayable != null
        ? new Verdict(null, denyNotReplayable, Change.NOT_REPLAYABLE)
        : new Verdict(
            "deny",
            "denied by a check the manifest does not change, as recorded",
            Change.UNCHANGED);
  }

  private static Redecided redecided(Gate g, Step step, Verdict v) {
    return new Redecided(
        g.action().sql(),
        g.runId(),
        g.stepId(),
        step == null ? null : step.stepRef(),
        g.subject(),
        g.skill(),
        g.id(),
        null,
        g.createdAt(),
        g.status().sql(),
        g.reason(),
        v.candidate(),
        v.reason(),
        v.change());
  }

  private static Redecided notReplayable(Gate g, Step step, UUID planId, String why) {
    return new Redecided(
        g.action().sql(),
        g.runId(),
        g.stepId(),
        step == null ? null : step.stepRef(),
        g.subject(),
        g.skill(),
        g.id(),
        planId,
        g.createdAt(),
        g.status().sql(),
        g.reason(),
        null,
        why,
        Change.NOT_REPLAYABLE);
  }

  /** One {@code evals} row per decision: passed when the candidate leaves it unchanged. */
  private void record(Connection c, Report report) throws SQLException {
    for (Redecided d : report.decisions()) {
      Map<String, Object> expected = new LinkedHashMap<>();
      expected.put("decision", d.recorded());
      expected.put("reason", d.recordedReason());
      expected.put("gate_id", d.gateId() == null ? null : d.gateId().toString());
      Map<String, Object> actual = new LinkedHashMap<>();
      actual.put("decision", d.candidate() == null ? "not_replayable" : d.candidate());
      actual.put("reason", d.candidateReason());
      actual.put("change", d.change().label());
      actual.put("replay_id", report.replayId().toString());
      actual.put("candidate_sha256", report.candidateSha256());
      EvalStore.insert(
          c,
          SUITE,
          caseName(report.replayId(), d),
          d.runId(),
          d.change() == Change.UNCHANGED,
          Json.write(expected),
          Json.write(actual));
    }
  }

  /** e.g. {@code replay 1f0c… skill.invoke github.create_issue gate 7a2e…}. */
  static String caseName(UUID replayId, Redecided d) {
    return "replay "
        + replayId
        + " "
        + d.action()
        + (d.skill() == null ? "" : " " + d.skill())
        + (d.gateId() != null
            ? " gate " + d.gateId()
            : d.planId() != null ? " plan " + d.planId() : " run " + d.runId());
  }
}
