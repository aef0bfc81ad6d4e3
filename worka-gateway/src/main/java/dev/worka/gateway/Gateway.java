package dev.worka.gateway;

import dev.worka.gateway.agent.GatewayNames;
import dev.worka.gateway.config.GatewaySettings;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.control.Dispatcher;
import dev.worka.gateway.control.HostAllowedLaunches;
import dev.worka.gateway.delivery.RunNotifier;
import dev.worka.gateway.error.WorkaException;
import dev.worka.gateway.http.HttpServer;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.policy.LaunchAllowance;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.redaction.Redactor;
import dev.worka.gateway.runtime.UnconfiguredRuntime;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.runtime.process.ProcessRuntime;
import dev.worka.gateway.runtime.wasm.WasmRuntime;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.telemetry.Metrics;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.gateway.token.SigningKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Worka Gateway, built by hand from {@link GatewaySettings} (every setting read and
 * checked before anything starts). The constructor is the start order: home and database ({@link
 * OpenDatabase}), the integrations ({@link Integrations}) and the skills, the policy ({@link
 * PolicyAtStart}), keys and tokens, the services ({@link ControlPlane}), the APIs on one router and
 * HTTP ({@link HttpAtStart}), the worker runtimes ({@link ProcessRuntimeAtStart}, {@link
 * KubernetesRuntimeAtStart}; {@link WasmRuntime}, in this process, over the agent API's in-process
 * calls), then the loops ({@link LoopsAtStart}): the dispatcher (claims and runs tasks, reaps
 * leases, fails overdue runs), the reconciliation sweep and the notification loop. {@link #close()}
 * stops them in reverse.
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
  private Router router;

  /** What enforces each resource limit of a process worker here (the `worker limits:` line). */
  private final String workerLimits;

  private final ProcessRuntime processRuntime;

  private Gateway(
      GatewaySettings settings,
      InstantSource clock,
      RandomGenerator random,
      boolean startLoops,
      WorkerRuntime agentRuntime,
      Optional<List<Path>> bubblewrapAt) {
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
      // First: what enforces workers' limits here, which the policy's warning names.
      processRuntime = ProcessRuntimeAtStart.create(settings, clock, closeables::add, bubblewrapAt);
      workerLimits = processRuntime.limits();
      policy =
          PolicyAtStart.activate(policies, config.policyFile(), processRuntime.unenforcedLimits());
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
      secrets.addAll(settings.tracing().secrets());
      OutputCleaner spanCleaner = new OutputCleaner(secrets);
      Metrics metrics = Metrics.start(settings.tracing());
      closeables.add(metrics); // this process's metrics: GET /metrics (and OTLP when configured)
      Tracing tracing =
          Tracing.start(
              settings.tracing(), s -> spanCleaner.cleanText(s, new HashMap<>()), metrics);
      closeables.add(tracing); // closed last: flushes the spans of everything stopped before

      ControlPlane control =
          new ControlPlane(
              database,
              config,
              skills,
              policies,
              launches,
              processRuntime.unenforcedLimits(),
              keys,
              secrets,
              tracing,
              settings.memory(),
              clock,
              random);
      HttpAtStart.Routes routes =
          HttpAtStart.routes(
              control,
              database,
              operatorToken,
              integrations.model(),
              new GatewayNames(
                  config.bindAddress(),
                  java.util.stream.Stream.of(
                          config.gatewayUrl(), settings.kubernetes().gatewayUrl())
                      .flatMap(Optional::stream)
                      .toList()),
              settings
                  .tracing()
                  .langfuse()
                  .map(langfuse -> (java.util.function.UnaryOperator<String>) langfuse::traceLink));
      router = routes.router();
      List<RunNotifier> notifiers =
          integrations.connectIngress(
              router, control.runService, control.approvals, new Redactor(secrets), tracing, clock);

      database.watch(Duration.ofSeconds(1));
      http = HttpAtStart.listen(settings, router, database);
      closeables.add(http);
      integrations.startSocketMode();
      String gatewayUrl = config.gatewayUrl().orElse("http://127.0.0.1:" + http.port());
      ProcessRuntimeAtStart.primePool(processRuntime, policy.policy(), gatewayUrl);

      // Each kind of agent runs in its runtime; a kind missing here fails its steps at once.
      Map<RuntimeKind, WorkerRuntime> runtimes = new EnumMap<>(RuntimeKind.class);
      runtimes.put(
          RuntimeKind.PROCESS,
          agentRuntime != null ? agentRuntime : new HostAllowedLaunches(processRuntime, launches));
      // wasm modules run in this process; their Gateway calls are the agent API's, without HTTP.
      runtimes.put(
          RuntimeKind.WASM,
          new HostAllowedLaunches(
              new WasmRuntime(config.installDir(), clock, routes.inProcessAgents()), launches));
      WorkerRuntime kubernetes =
          KubernetesRuntimeAtStart.create(
              settings.kubernetes(), database.dataSource(), clock, closeables::add);
      runtimes.put(
          RuntimeKind.KUBERNETES,
          kubernetes instanceof UnconfiguredRuntime
              ? kubernetes
              : new HostAllowedLaunches(kubernetes, launches));
      dispatcher = control.dispatcher(runtimes, () -> gatewayUrl);
      closeables.add(dispatcher);
      if (startLoops) {
        LoopsAtStart.start(control, dispatcher, notifiers, closeables::add);
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
    return new Gateway(settings, clock, new Random(), true, null, Optional.empty());
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
    return new Gateway(
        GatewaySettings.of(config, environment), clock, random, true, null, Optional.empty());
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
        Objects.requireNonNull(agentRuntime),
        Optional.empty());
  }

  /** Starts a Gateway whose task loops are driven by hand through {@link #dispatcher()} (tests). */
  public static Gateway startWithoutLoops(
      WorkaConfig config, Map<String, String> environment, InstantSource clock) {
    return new Gateway(
        GatewaySettings.of(config, environment),
        clock,
        new Random(),
        false,
        null,
        Optional.empty());
  }

  /**
   * Starts a Gateway with its task loops running that looks for {@code bwrap} only at {@code
   * bubblewrapAt} (tests: a host "without bubblewrap" on one that has it). Package-private: no
   * setting reaches it.
   */
  static Gateway startLookingForBubblewrapAt(
      GatewaySettings settings, InstantSource clock, List<Path> bubblewrapAt) {
    return new Gateway(
        settings, clock, new Random(), true, null, Optional.of(List.copyOf(bubblewrapAt)));
  }

  /**
   * What enforces each resource limit of a {@code process} worker on this host: {@code
   * memory=cgroup v1, cpu=cgroup v1 (cfs quota), …}, as logged at start.
   */
  public String workerLimits() {
    return workerLimits;
  }

  /** The runtime of {@code process} agents (its worker pool, for tests). */
  public ProcessRuntime processRuntime() {
    return processRuntime;
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

  /**
   * {@code METHOD pattern} of every route this Gateway serves (the agent and operator APIs, and the
   * ingress routes of the integrations it runs), e.g. {@code GET /v1/runs/{id}}.
   */
  public List<String> routes() {
    return router.routes();
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
}
