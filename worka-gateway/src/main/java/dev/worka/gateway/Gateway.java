package dev.worka.gateway;

import dev.worka.gateway.agent.AgentApi;
import dev.worka.gateway.agent.GatewayNames;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.config.GatewaySettings;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.control.Dispatcher;
import dev.worka.gateway.control.HostAllowedLaunches;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.control.RunningWorkers;
import dev.worka.gateway.delivery.NotifyRuns;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.delivery.RunNotifier;
import dev.worka.gateway.error.WorkaException;
import dev.worka.gateway.http.HttpServer;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.ingress.api.ApplyPolicy;
import dev.worka.gateway.ingress.api.OperatorApi;
import dev.worka.gateway.ingress.api.RunStory;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.invocation.ReconcileInvocations;
import dev.worka.gateway.invocation.ResolveInvocation;
import dev.worka.gateway.plan.PlanStore;
import dev.worka.gateway.plan.PlanValidator;
import dev.worka.gateway.plan.SkillDirectory;
import dev.worka.gateway.policy.LaunchAllowance;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.redaction.Redactor;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.runtime.process.ProcessRuntime;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.gateway.token.VerifiedTokens;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.UUID;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Worka Gateway, built by hand from {@link GatewaySettings} (every setting read and
 * checked before anything starts). The constructor is the start order: home and database ({@link
 * OpenDatabase}), the integrations ({@link Integrations}) and the skills, the policy ({@link
 * PolicyAtStart}), keys and tokens, the services and the APIs on one router, HTTP, the worker
 * runtime ({@link ProcessRuntimeAtStart}), then the loops: the dispatcher (claims and runs tasks,
 * reaps leases, fails overdue runs), the reconciliation sweep ({@link SweepUntilShutdown}) and the
 * notification loop. {@link #close()} stops them in reverse.
 */
public final class Gateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Gateway.class);
  static final String ISSUER = "worka-gateway";

  private final WorkaConfig config;
  private final CloseInReverse closeables = new CloseInReverse();
  private final Database database;
  private final HttpServer http;
  private final Dispatcher dispatcher;
  private final String operatorToken;
  private final StoredPolicy policy;

  private Gateway(
      GatewaySettings settings,
      InstantSource clock,
      RandomGenerator random,
      boolean startLoops,
      WorkerRuntime agentRuntime) {
    this.config = settings.config();
    try {
      prepareHome(config.home());
      OpenDatabase.Opened opened = OpenDatabase.open(config, closeables::add);
      database = opened.database();

      SideEffectMode sideEffects = SideEffectMode.parse(config.sideEffects());
      Integrations integrations = new Integrations(settings, sideEffects, clock);
      closeables.add(integrations);
      SkillRegistry skills = new SkillRegistry(integrations.skillProviders(), sideEffects);
      PolicyStore policies = new PolicyStore(database.dataSource(), clock, skills.policyFields());
      policy = PolicyAtStart.activate(policies, config.policyFile());
      LaunchAllowance launches =
          PolicyAtStart.launches(
              config.installDir(), config.policyFile(), settings.host().allowedLaunch(), policy);

      SigningKeys keys = SigningKeys.loadOrCreate(config.home());
      operatorToken =
          config.operatorToken().orElseGet(() -> OperatorTokenFile.loadOrCreate(config.home()));
      // Every credential this Gateway holds, redacted from outputs wherever it appears.
      List<String> secrets = new ArrayList<>(config.secrets());
      secrets.add(operatorToken);
      secrets.addAll(opened.secrets());

      AuditLog audit = new AuditLog(clock);
      RunStore runs = new RunStore(clock, new RunNotifications(clock));
      StepStore steps = new StepStore(clock);
      PlanStore plans = new PlanStore(clock, steps);
      InvocationStore invocations = new InvocationStore(clock);
      String owner = taskOwner();
      TaskQueue queue = new TaskQueue(database.dataSource(), clock, owner, config.leaseDuration());
      RunningWorkers workers = new RunningWorkers();
      RunService service =
          new RunService(
              database.dataSource(), runs, steps, policies, queue, workers, audit, clock);
      PlanValidator validator = new PlanValidator(directory(skills));

      Router router = new Router();
      new OperatorApi(
              database,
              operatorToken,
              service,
              runs,
              steps,
              new RunStory(database.dataSource(), runs, steps, plans, audit, invocations, policies),
              skills,
              policies,
              new Metrics(database.dataSource(), workers)::render,
              new ResolveInvocation(database.dataSource(), invocations, runs, audit),
              new ApplyPolicy(database.dataSource(), policies, launches, audit))
          .register(router);
      VerifiedTokens verifiedTokens = new VerifiedTokens(clock);
      new AgentApi(
              database.dataSource(),
              new TokenVerifier(keys, ISSUER, clock),
              verifiedTokens,
              runs,
              steps,
              plans,
              validator,
              policies,
              skills,
              invocations,
              audit,
              queue,
              skills.mode() == SideEffectMode.DRY_RUN,
              secrets,
              clock,
              random,
              integrations.model(),
              new GatewayNames(config.bindAddress(), config.gatewayUrl()))
          .register(router);
      List<RunNotifier> notifiers =
          integrations.connectIngress(router, service, new Redactor(secrets), clock);

      database.watch(Duration.ofSeconds(1));
      http =
          new HttpServer(
              new HttpServer.Address(config.bindAddress(), config.httpPort()),
              settings.host().ingressPort().stream()
                  .mapToObj(p -> new HttpServer.Address(settings.host().ingressBindAddress(), p))
                  .findFirst(),
              router,
              Json.STRICT,
              database::down,
              database::check);
      http.start();
      closeables.add(http);
      integrations.startSocketMode();
      String gatewayUrl = config.gatewayUrl().orElse("http://127.0.0.1:" + http.port());

      ProcessRuntime processRuntime =
          ProcessRuntimeAtStart.create(settings, clock, closeables::add);
      dispatcher =
          new Dispatcher(
              database.dataSource(),
              runs,
              steps,
              policies,
              queue,
              new TokenIssuer(keys, ISSUER, clock, verifiedTokens),
              agentRuntime != null
                  ? agentRuntime
                  : new HostAllowedLaunches(processRuntime, launches),
              workers,
              audit,
              clock,
              () -> gatewayUrl,
              config.maxConcurrentSteps(),
              config.leaseDuration(),
              random);
      closeables.add(dispatcher);
      if (startLoops) {
        dispatcher.start();
        ReconcileInvocations reconcile =
            new ReconcileInvocations(database.dataSource(), skills, invocations, secrets);
        closeables.add(
            SweepUntilShutdown.start(
                "reconcile-invocations",
                reconcile::sweep,
                Duration.ofSeconds(5),
                Duration.ofSeconds(60),
                "reconciling skill invocations failed (tried again in a minute)"));
        NotifyRuns notify =
            new NotifyRuns(
                database.dataSource(),
                runs,
                new RunNotifications(clock),
                audit,
                notifiers,
                clock,
                random,
                owner);
        notify.start();
        closeables.add(notify);
      }
      log.info(
          "Worka Gateway listening on http://{}:{} (side effects: {}, model: {}, workers reach it at {})",
          config.bindAddress(),
          http.port(),
          config.sideEffects(),
          config.model(),
          gatewayUrl);
    } catch (IOException e) {
      close();
      throw new WorkaException("could not start the Gateway: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** Starts a Gateway with its task loops running ({@code worka serve}). */
  public static Gateway start(GatewaySettings settings, InstantSource clock) {
    return new Gateway(settings, clock, new Random(), true, null);
  }

  /**
   * Starts a Gateway with its task loops running; the integrations' settings are read from {@code
   * environment}.
   */
  public static Gateway start(
      WorkaConfig config, Map<String, String> environment, InstantSource clock) {
    return start(config, environment, clock, new Random());
  }

  /** Starts a Gateway with its task loops running, drawing retry jitter from {@code random}. */
  public static Gateway start(
      WorkaConfig config,
      Map<String, String> environment,
      InstantSource clock,
      RandomGenerator random) {
    return new Gateway(GatewaySettings.of(config, environment), clock, random, true, null);
  }

  /**
   * Starts a Gateway whose {@code process} agents run in {@code agentRuntime} instead of child
   * processes — for the benchmark that measures the control plane's own cost per step with agents
   * that speak the real protocol over HTTP from inside this JVM. Never used by {@code worka serve}.
   */
  public static Gateway startWithAgentRuntime(
      WorkaConfig config,
      Map<String, String> environment,
      InstantSource clock,
      WorkerRuntime agentRuntime) {
    return new Gateway(
        GatewaySettings.of(config, environment),
        clock,
        new Random(),
        true,
        Objects.requireNonNull(agentRuntime));
  }

  /** Starts a Gateway whose task loops are driven by hand through {@link #dispatcher()} (tests). */
  public static Gateway startWithoutLoops(
      WorkaConfig config, Map<String, String> environment, InstantSource clock) {
    return new Gateway(GatewaySettings.of(config, environment), clock, new Random(), false, null);
  }

  public int port() {
    return http.port();
  }

  /** The port of the public ingress listener ({@code WORKA_INGRESS_PORT}), if there is one. */
  public OptionalInt ingressPort() {
    return http.ingressPort();
  }

  public String operatorToken() {
    return operatorToken;
  }

  public Database database() {
    return database;
  }

  public Dispatcher dispatcher() {
    return dispatcher;
  }

  public StoredPolicy policy() {
    return policy;
  }

  public WorkaConfig config() {
    return config;
  }

  /** Stops everything it started, the last started first. */
  @Override
  public void close() {
    closeables.close();
  }

  private static void prepareHome(Path home) throws IOException {
    Files.createDirectories(home);
    try {
      Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException e) {
      log.debug("cannot set permissions on {}", home);
    }
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
