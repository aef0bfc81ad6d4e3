package dev.worka.gateway;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.control.Dispatcher;
import dev.worka.gateway.control.EndFailedAttempt;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.control.RunningWorkers;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.ingress.api.ApplyPolicy;
import dev.worka.gateway.ingress.api.RunStory;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.invocation.ModelUsageStore;
import dev.worka.gateway.invocation.ResolveInvocation;
import dev.worka.gateway.mediation.AcceptPlan;
import dev.worka.gateway.mediation.AcceptResult;
import dev.worka.gateway.mediation.Approvals;
import dev.worka.gateway.mediation.Attempts;
import dev.worka.gateway.mediation.Denials;
import dev.worka.gateway.mediation.ReplayPolicy;
import dev.worka.gateway.mediation.SkillMediator;
import dev.worka.gateway.memory.Memories;
import dev.worka.gateway.memory.MemorySettings;
import dev.worka.gateway.plan.PlanStore;
import dev.worka.gateway.plan.PlanValidator;
import dev.worka.gateway.plan.SkillDirectory;
import dev.worka.gateway.policy.LaunchAllowance;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.telemetry.Metrics;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.gateway.token.VerifiedTokens;
import java.io.IOException;
import java.net.InetAddress;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import javax.sql.DataSource;

/**
 * The control plane's services, built by hand from the open database and the settings: the
 * repositories of the tables ({@code run}, {@code plan}, {@code invocation}, {@code audit}, the
 * task queue), the run service, the decisions of {@code mediation} the agent API hands requests to,
 * the step tokens, and the operator's reads and actions. Building it starts nothing and opens
 * nothing; the loops that run on it are {@link #dispatcher} and {@link LoopsAtStart}.
 */
final class ControlPlane {
  final DataSource dataSource;
  final SkillRegistry skills;
  final PolicyStore policies;
  final List<String> secrets;

  /** Who holds this Gateway's task leases and notification claims. */
  final String owner = taskOwner();

  final AuditLog audit;
  final RunStore runs;
  final StepStore steps;
  final PlanStore plans;
  final InvocationStore invocations;
  final ModelUsageStore modelUsage = new ModelUsageStore();
  final TaskQueue queue;
  final RunningWorkers workers = new RunningWorkers();
  final RunService runService;

  // The decisions on what a worker asks (mediation), and what cleans outputs of the secrets.
  final OutputCleaner cleaner;
  final Denials denials;
  final Attempts attempts;
  final AcceptPlan acceptPlan;
  final SkillMediator skillCalls;
  final Approvals approvals;
  final AcceptResult acceptResult;

  // The step tokens: minted for the workers the dispatcher starts, verified on the agent API.
  final VerifiedTokens verifiedTokens;
  final TokenVerifier tokenVerifier;
  final TokenIssuer tokenIssuer;

  // The operator's reads and actions.
  final RunStory story;
  final ResolveInvocation resolveInvocation;
  final ApplyPolicy applyPolicy;

  /** This process's metrics ({@code GET /metrics}), carried by {@link #tracing}. */
  final Metrics metrics;

  /** What the Gateway remembers of succeeded runs, gives to steps, and forgets for operators. */
  final Memories memories;

  /**
   * Policy replay: recorded decisions decided again under a candidate manifest; performs nothing.
   */
  final ReplayPolicy replayPolicy;

  final InstantSource clock;
  final RandomGenerator random;

  /** The run's spans (a no-op tracer when no exporter is configured). */
  final Tracing tracing;

  private final WorkaConfig config;

  /** {@code WORKA_MODEL}: the model the agents use ({@code scripted} or {@code anthropic}). */
  String model() {
    return config.model();
  }

  /**
   * @param launches the launch specs the host allows an uploaded manifest ({@code PUT /v1/policy})
   * @param keys what step tokens are signed and verified with
   * @param secrets every credential this Gateway holds, cleaned from outputs wherever it appears
   * @param tracing where the spans of runs go
   * @param memory where memories are kept
   */
  ControlPlane(
      Database database,
      WorkaConfig config,
      SkillRegistry skills,
      PolicyStore policies,
      LaunchAllowance launches,
      List<String> unenforcedLimits,
      SigningKeys keys,
      List<String> secrets,
      Tracing tracing,
      MemorySettings memory,
      InstantSource clock,
      RandomGenerator random) {
    this.dataSource = database.dataSource();
    this.config = config;
    this.skills = skills;
    this.policies = policies;
    this.secrets = List.copyOf(secrets);
    this.clock = clock;
    this.random = random;
    this.tracing = tracing;

    audit = new AuditLog(clock, tracing);
    runs = new RunStore(clock, new RunNotifications(clock), tracing);
    steps = new StepStore(clock);
    plans = new PlanStore(clock, steps);
    invocations = new InvocationStore(clock);
    queue = new TaskQueue(dataSource, clock, owner, config.leaseDuration());
    runService = new RunService(dataSource, runs, steps, policies, queue, workers, audit, clock);

    cleaner = new OutputCleaner(this.secrets);
    denials = new Denials(audit, steps, queue);
    attempts = new Attempts(dataSource, runs, steps, denials);
    PlanValidator planValidator = new PlanValidator(directory(skills));
    acceptPlan =
        new AcceptPlan(attempts, denials, runs, steps, plans, planValidator, invocations, audit);
    skillCalls =
        new SkillMediator(
            dataSource,
            skills,
            invocations,
            audit,
            attempts,
            denials,
            cleaner,
            skills.mode() == SideEffectMode.DRY_RUN,
            tracing);
    approvals = new Approvals(dataSource, runs, steps, policies, invocations, audit, queue, clock);
    skillCalls.holdFor(approvals);
    acceptResult =
        new AcceptResult(
            dataSource,
            steps,
            queue,
            new EndFailedAttempt(runs, steps, policies, queue, audit, clock, random),
            cleaner);

    verifiedTokens = new VerifiedTokens(clock);
    tokenVerifier = new TokenVerifier(keys, Gateway.ISSUER, clock);
    tokenIssuer = new TokenIssuer(keys, Gateway.ISSUER, clock, verifiedTokens);

    story = new RunStory(dataSource, runs, steps, plans, audit, invocations, policies);
    resolveInvocation = new ResolveInvocation(dataSource, invocations, runs, audit);
    applyPolicy = new ApplyPolicy(dataSource, policies, launches, unenforcedLimits, audit);
    metrics = tracing.metrics();
    metrics.observeWorkers(workers::count);
    metrics.observeQueue(
        () -> {
          TaskQueue.Depth d = queue.depth();
          return new Metrics.Queue(d.ready(), d.scheduled(), d.claimed(), d.lag());
        });
    memories = new Memories(memory, dataSource, runs, steps, audit, cleaner, clock);
    replayPolicy =
        new ReplayPolicy(
            dataSource,
            policies,
            runs,
            steps,
            plans,
            audit,
            invocations,
            planValidator,
            skills.policyFields(),
            launches,
            clock);
  }

  /**
   * The dispatcher (task loops, lease reaper, deadline sweeper), not started: workers run in the
   * runtime of their agent's kind ({@code runtimes}; a kind absent there fails its steps at once)
   * and reach the Gateway at {@code gatewayUrl}.
   */
  Dispatcher dispatcher(Map<RuntimeKind, WorkerRuntime> runtimes, Supplier<String> gatewayUrl) {
    return new Dispatcher(
        dataSource,
        runs,
        steps,
        policies,
        queue,
        tokenIssuer,
        runtimes,
        workers,
        audit,
        memories.remember(),
        tracing,
        clock,
        gatewayUrl,
        config.maxConcurrentSteps(),
        config.leaseDuration(),
        random);
  }

  /** The plan validator's view of the skill catalog. */
  private static SkillDirectory directory(SkillRegistry skills) {
    return new SkillDirectory() {
      @Override
      public boolean exists(String skill) {
        return skills.find(skill).isPresent();
      }

      @Override
      public Optional<String> unavailableReason(String skill) {
        return skills.unavailableReason(skill);
      }
    };
  }

  /** Who holds this Gateway's task leases: host, process and a random part. */
  private static String taskOwner() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    return "gw-"
        + host
        + "-"
        + ProcessHandle.current().pid()
        + "-"
        + UUID.randomUUID().toString().substring(0, 8);
  }
}
