package dev.worka.gateway;

import dev.worka.gateway.agent.AgentApi;
import dev.worka.gateway.agent.GatewayNames;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.config.HostSettings;
import dev.worka.gateway.config.SlackSettings;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.control.Dispatcher;
import dev.worka.gateway.control.HostAllowedLaunches;
import dev.worka.gateway.control.NotifyRuns;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.control.RunningWorkers;
import dev.worka.gateway.delivery.RunNotifier;
import dev.worka.gateway.error.WorkaException;
import dev.worka.gateway.http.HttpServer;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.ingress.api.ApplyPolicy;
import dev.worka.gateway.ingress.api.OperatorApi;
import dev.worka.gateway.ingress.api.RunStory;
import dev.worka.gateway.ingress.github.GithubWebhook;
import dev.worka.gateway.ingress.slack.SlackIngress;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.invocation.ReconcileInvocations;
import dev.worka.gateway.invocation.ResolveInvocation;
import dev.worka.gateway.plan.PlanStore;
import dev.worka.gateway.plan.PlanValidator;
import dev.worka.gateway.plan.SkillDirectory;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.LaunchAllowance;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.redaction.Redactor;
import dev.worka.gateway.run.RunNotifications;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.runtime.process.ProcessRuntime;
import dev.worka.gateway.runtime.process.WorkerNetwork;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.skill.github.GithubNotifier;
import dev.worka.gateway.skill.github.McpGithubProvider;
import dev.worka.gateway.skill.model.AnthropicMessages;
import dev.worka.gateway.skill.slack.SlackNotifier;
import dev.worka.gateway.skill.slack.SlackProvider;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.store.DatabaseUrl;
import dev.worka.gateway.store.EmbeddedDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.gateway.token.VerifiedTokens;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running Worka Gateway: the database, the policy, the task loops and the HTTP API. */
public final class Gateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Gateway.class);
  static final String ISSUER = "worka-gateway";

  private final WorkaConfig config;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final Database database;
  private final HttpServer http;
  private final Dispatcher dispatcher;
  private final String operatorToken;
  private final StoredPolicy policy;

  private Gateway(
      WorkaConfig config,
      Map<String, String> environment,
      InstantSource clock,
      RandomGenerator random,
      boolean startLoops,
      WorkerRuntime agentRuntime) {
    this.config = config;
    try {
      HostSettings host = HostSettings.fromEnvironment(environment, config.httpPort());
      prepareHome(config.home());
      DatabaseUrl url;
      if (config.database().isPresent() && config.applicationDatabase().isPresent()) {
        // Migrate as the configured (owning) user, then run as a login that may insert audit rows
        // but neither change them nor switch off the triggers that guard them.
        url = config.applicationDatabase().get();
        try (Database owner = Database.connect(config.database().get(), 2, "worka-owner")) {
          owner.migrate();
          owner.ensureApplicationLogin(url.user(), url.password());
        }
        database = Database.connect(url, 40, "worka");
        closeables.add(0, database);
        List<String> gaps = database.auditProtectionGaps();
        if (!gaps.isEmpty()) {
          throw new ConfigException(
              List.of(
                  "WORKA_DATABASE_APP_USER="
                      + url.user()
                      + " could change audit rows: "
                      + String.join("; ", gaps)
                      + " — give the Gateway a role without these rights"));
        }
      } else if (config.database().isPresent()) {
        url = config.database().get();
        database = Database.connect(url, 40, "worka");
        closeables.add(0, database);
        database.migrate();
        List<String> gaps = database.auditProtectionGaps();
        if (!gaps.isEmpty()) {
          log.warn(
              "audit rows are guarded by triggers only: {}; set WORKA_DATABASE_APP_USER and"
                  + " WORKA_DATABASE_APP_PASSWORD so the Gateway runs as a role that cannot change them"
                  + " (see docs/security-model.md)",
              String.join("; ", gaps));
        }
      } else {
        // The embedded database is Worka's own: migrate as its owner, then run as a role that may
        // insert audit rows but can neither change them nor switch off the triggers that guard
        // them.
        EmbeddedDatabase embedded = EmbeddedDatabase.start(config.home().resolve("postgres"));
        closeables.add(embedded);
        databaseSecrets.addAll(embedded.secrets());
        try (Database owner = Database.connect(embedded.url("postgres"), 2, "worka-owner")) {
          owner.migrate();
          owner.grantApplicationRole(Database.APPLICATION_ROLE);
        }
        url = embedded.applicationUrl("postgres");
        database = Database.connect(url, 40, "worka");
        closeables.add(0, database);
        List<String> gaps = database.auditProtectionGaps();
        if (!gaps.isEmpty()) {
          throw new IllegalStateException(
              "the embedded application role could change audit rows or the migration"
                  + " history: "
                  + String.join("; ", gaps));
        }
      }
      database.migrationsApplied(); // once here: readiness keeps the answer instead of scanning per
      // request

      SideEffectMode sideEffects = SideEffectMode.parse(config.sideEffects());
      List<SkillProvider> providers = skillProviders(environment, sideEffects, clock);
      SkillRegistry skills = new SkillRegistry(providers, sideEffects);
      PolicyStore policies = new PolicyStore(database.dataSource(), clock, skills.policyFields());
      policy = activatePolicyAtStart(policies, config);
      log.info(
          "policy v{} active ({}), sha256 {}",
          policy.version(),
          config.policyFile().map(Path::toString).orElse("built-in"),
          policy.sha256().substring(0, 12));
      LaunchAllowance launches = launchAllowance(config, host, policy);

      SigningKeys keys = SigningKeys.loadOrCreate(config.home());
      operatorToken =
          config.operatorToken().orElseGet(() -> loadOrCreateOperatorToken(config.home()));

      AuditLog audit = new AuditLog(clock);
      RunStore runs = new RunStore(clock);
      StepStore steps = new StepStore(clock);
      PlanStore plans = new PlanStore(clock, steps);
      InvocationStore invocations = new InvocationStore(clock);
      String owner =
          "gw-"
              + hostname()
              + "-"
              + ProcessHandle.current().pid()
              + "-"
              + UUID.randomUUID().toString().substring(0, 8);
      TaskQueue queue = new TaskQueue(database.dataSource(), clock, owner, config.leaseDuration());
      RunningWorkers workers = new RunningWorkers();
      // Who answers runs where their requests came from (Slack, GitHub), by source.
      List<RunNotifier> notifiers = new ArrayList<>();
      RunService service =
          new RunService(
              database.dataSource(), runs, steps, policies, queue, workers, audit, clock);
      PlanValidator validator =
          new PlanValidator(
              new SkillDirectory() {
                @Override
                public boolean exists(String skill) {
                  return skills.find(skill).isPresent();
                }

                @Override
                public Optional<String> unavailableReason(String skill) {
                  return skills.unavailableReason(skill);
                }
              });

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
              secretsToRedact(config, operatorToken),
              clock,
              random,
              modelFrom(environment, config),
              new GatewayNames(config.bindAddress(), config.gatewayUrl()))
          .register(router);
      Optional<GithubWebhook> githubWebhook = GithubWebhook.fromEnvironment(environment, service);
      if (githubWebhook.isPresent()) {
        githubWebhook.get().register(router);
        McpGithubProvider liveGithub =
            providers.stream()
                .filter(McpGithubProvider.class::isInstance)
                .map(McpGithubProvider.class::cast)
                .findFirst()
                .orElse(null);
        notifiers.add(
            new GithubNotifier(
                liveGithub,
                sideEffects == SideEffectMode.DRY_RUN,
                new Redactor(secretsToRedact(config, operatorToken))));
        log.info(
            "GitHub webhook on POST /github/webhook: comments mentioning @{} start runs{}",
            githubWebhook.get().handle(),
            sideEffects == SideEffectMode.DRY_RUN
                ? " (dry-run: answers are recorded, not posted)"
                : liveGithub == null
                    ? " — but GitHub MCP is not configured, so answers cannot be posted"
                    : "");
      }
      SlackSettings slackSettings = SlackSettings.fromEnvironment(environment);
      SlackIngress slackIngress = null;
      if (slackSettings.configured()) {
        com.slack.api.methods.MethodsClient slackMethods =
            slackClient(slackSettings).methods(slackSettings.botToken().get());
        notifiers.add(
            new SlackNotifier(
                slackMethods,
                sideEffects == SideEffectMode.DRY_RUN,
                new Redactor(secretsToRedact(config, operatorToken))));
        if (slackSettings.ingress() != SlackSettings.Ingress.NONE) {
          slackIngress =
              new SlackIngress(
                  service,
                  slackClient(slackSettings),
                  slackSettings.botToken().get(),
                  slackSettings.signingSecret().orElse(null),
                  clock);
          closeables.add(0, slackIngress);
          if (slackSettings.ingress() == SlackSettings.Ingress.HTTP) {
            slackIngress.register(router);
          }
        }
        log.info(
            "Slack: answers runs in their threads; requests arrive {}",
            switch (slackSettings.ingress()) {
              case HTTP ->
                  "over HTTP at "
                      + SlackIngress.EVENTS
                      + ", "
                      + SlackIngress.COMMANDS
                      + ", "
                      + SlackIngress.INTERACTIVITY;
              case SOCKET_MODE -> "over Socket Mode (SLACK_APP_TOKEN)";
              case NONE ->
                  "nowhere: set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode) to take requests";
            });
      }
      database.watch(java.time.Duration.ofSeconds(1));
      http =
          new HttpServer(
              new HttpServer.Address(config.bindAddress(), config.httpPort()),
              host.ingressPort().stream()
                  .mapToObj(p -> new HttpServer.Address(host.ingressBindAddress(), p))
                  .findFirst(),
              router,
              Json.STRICT,
              database::down,
              database::check);
      http.start();
      closeables.add(0, http);
      if (slackIngress != null && slackSettings.ingress() == SlackSettings.Ingress.SOCKET_MODE) {
        slackIngress.startSocketMode(slackSettings.appToken().get());
      }
      String gatewayUrl = config.gatewayUrl().orElse("http://127.0.0.1:" + http.port());

      // Workers never see WORKA_HOME (keys, operator token, database) nor the policy file.
      List<Path> hiddenFromWorkers = new ArrayList<>(List.of(config.home()));
      config.policyFile().ifPresent(hiddenFromWorkers::add);
      WorkerNetwork workerNetwork;
      try {
        workerNetwork = WorkerNetwork.fromEnvironment(environment);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(List.of(e.getMessage()));
      }
      ProcessRuntime processRuntime;
      try {
        processRuntime =
            new ProcessRuntime(config.installDir(), clock, hiddenFromWorkers, workerNetwork);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(List.of(e.getMessage()));
      }
      closeables.add(0, processRuntime::close);
      log.info("worker isolation: {}", processRuntime.isolation());
      int leftovers = processRuntime.killWorkersLeftIn(config.home().resolve("workers"));
      if (leftovers > 0) {
        log.warn(
            "killed {} worker process(es) a Gateway that stopped had left running; their steps are retried"
                + " or failed when their leases expire",
            leftovers);
      }
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
      closeables.add(0, dispatcher);
      if (startLoops) {
        dispatcher.start();
        ReconcileInvocations reconcile =
            new ReconcileInvocations(
                database.dataSource(), skills, invocations, secretsToRedact(config, operatorToken));
        java.util.concurrent.ScheduledExecutorService sweeper =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                Thread.ofVirtual().name("reconcile-invocations").factory());
        sweeper.scheduleWithFixedDelay(
            () -> {
              try {
                reconcile.sweep();
              } catch (RuntimeException e) {
                log.warn(
                    "reconciling skill invocations failed (tried again in a minute): {}",
                    e.toString());
              }
            },
            5,
            60,
            java.util.concurrent.TimeUnit.SECONDS);
        closeables.add(0, sweeper::shutdownNow);
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
        closeables.add(0, notify);
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

  /**
   * The policy a starting Gateway uses. {@code WORKA_POLICY_FILE} is the operator's declared
   * configuration and becomes active (a new version if it differs). Without it, the built-in
   * manifest is applied only while no operator has activated another one (by {@code PUT
   * /v1/policy}): a restart never silently undoes an operator's policy change.
   */
  private static StoredPolicy activatePolicyAtStart(PolicyStore policies, WorkaConfig config)
      throws IOException {
    Optional<StoredPolicy> active = policies.active();
    Optional<String> actor = policies.activeActor();
    if (config.policyFile().isPresent()) {
      Path file = config.policyFile().get();
      StoredPolicy stored = policies.activate(Files.readString(file), "file:" + file);
      if (active.isPresent() && !active.get().id().equals(stored.id())) {
        log.warn(
            "WORKA_POLICY_FILE {} replaced the active policy v{} (activated by {}) with v{}",
            file,
            active.get().version(),
            actor.orElse("?"),
            stored.version());
      }
      return stored;
    }
    if (active.isEmpty() || actor.orElse("").equals(BUILT_IN)) {
      return policies.activate(BuiltinPolicy.source(), BUILT_IN);
    }
    log.info(
        "keeping policy v{} activated by {}; the built-in manifest is not applied over it",
        active.get().version(),
        actor.orElse("?"));
    return active.get();
  }

  private static final String BUILT_IN = "built-in";

  /**
   * The launch specs this host allows a manifest uploaded through the API to use: those of the
   * built-in manifest and of {@code WORKA_POLICY_FILE}, and those under {@code
   * WORKA_ALLOWED_LAUNCH}. Says at start what that is, and if the active policy (an operator's,
   * kept over a restart) uses others, whose workers will not start.
   */
  private static LaunchAllowance launchAllowance(
      WorkaConfig config, HostSettings host, StoredPolicy active) {
    List<dev.worka.gateway.policy.CompiledPolicy> hostManifests =
        new ArrayList<>(List.of(BuiltinPolicy.compiled()));
    if (config.policyFile().isPresent()) {
      hostManifests.add(
          active.policy()); // activatePolicyAtStart made the file's manifest the active one
    }
    LaunchAllowance launches;
    try {
      launches = LaunchAllowance.of(config.installDir(), hostManifests, host.allowedLaunch());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(List.of(e.getMessage()));
    }
    log.info("launch specs an uploaded manifest may use: {}", launches.describe());
    List<String> refused = launches.refusals(active.policy());
    if (!refused.isEmpty()) {
      log.warn(
          "the active policy v{} uses launch specs this host does not allow; those agents' workers will not"
              + " start: {}. Upload a manifest without them (worka policy apply), or set WORKA_POLICY_FILE or"
              + " WORKA_ALLOWED_LAUNCH",
          active.version(),
          String.join("; ", refused));
    }
    return launches;
  }

  /**
   * The built-in skill providers. In live mode with {@code GITHUB_MCP_URL} or {@code
   * GITHUB_MCP_COMMAND} set, GitHub is the live MCP provider (closed with the Gateway: its session
   * ends and a stdio server process is killed); otherwise the catalog-only one (dry-run never
   * reaches a provider, so it neither connects nor starts a server process).
   */
  private List<SkillProvider> skillProviders(
      Map<String, String> environment, SideEffectMode sideEffects, InstantSource clock) {
    List<SkillProvider> providers = new ArrayList<>(CatalogOnlyProvider.builtIn(environment));
    if (sideEffects == SideEffectMode.LIVE) {
      providers.replaceAll(
          p -> {
            if (!p.name().equals(CatalogOnlyProvider.GITHUB)) {
              return p;
            }
            Optional<McpGithubProvider> live =
                McpGithubProvider.fromEnvironment(environment, p, clock);
            live.ifPresent(github -> closeables.add(0, github));
            return live.<SkillProvider>map(github -> github).orElse(p);
          });
      SlackSettings slackSettings = SlackSettings.fromEnvironment(environment);
      if (slackSettings.configured()) {
        // SLACK_BOT_TOKEN set: slack.* through the Web API (SLACK_API_URL) instead of catalog-only.
        providers.replaceAll(
            p ->
                p.name().equals(CatalogOnlyProvider.SLACK)
                    ? new SlackProvider(
                        p,
                        slackClient(slackSettings).methods(slackSettings.botToken().get()),
                        SLACK_CALL_TIMEOUT)
                    : p);
      }
    }
    return providers;
  }

  /** How long one Slack Web API call may take (the SDK client gives up after it). */
  private static final java.time.Duration SLACK_CALL_TIMEOUT = java.time.Duration.ofSeconds(30);

  /**
   * The one Slack SDK client of this Gateway (Web API at {@code SLACK_API_URL}), shared by the
   * Slack skills, the answers and the ingress; made on first use, closed with the Gateway.
   */
  private com.slack.api.Slack slackClient(SlackSettings settings) {
    if (slack == null) {
      com.slack.api.SlackConfig sdk = new com.slack.api.SlackConfig();
      sdk.setMethodsEndpointUrlPrefix(settings.apiUrl().toString());
      sdk.setHttpClientCallTimeoutMillis((int) SLACK_CALL_TIMEOUT.toMillis());
      sdk.setPrettyResponseLoggingEnabled(false);
      slack = com.slack.api.Slack.getInstance(sdk);
      closeables.add(0, slack);
    }
    return slack;
  }

  private com.slack.api.Slack slack;

  /**
   * The model {@code /v1/agent/model/v1/messages} proxies to: with {@code WORKA_MODEL=anthropic},
   * the Messages API at {@code ANTHROPIC_BASE_URL} with {@code ANTHROPIC_API_KEY}; none otherwise.
   */
  private static Optional<AnthropicMessages> modelFrom(
      Map<String, String> environment, WorkaConfig config) {
    try {
      Optional<AnthropicMessages> model =
          AnthropicMessages.fromEnvironment(environment, config.model());
      model.ifPresent(
          m -> log.info("model calls of workers go to {} as {}", m.endpoint(), m.model()));
      return model;
    } catch (IllegalArgumentException e) {
      throw new ConfigException(List.of(e.getMessage()));
    }
  }

  /** Every credential this Gateway holds, to be redacted from outputs wherever it appears. */
  private List<String> secretsToRedact(WorkaConfig config, String operatorToken) {
    List<String> secrets = new ArrayList<>(config.secrets());
    secrets.add(operatorToken);
    secrets.addAll(databaseSecrets);
    return secrets;
  }

  /** The embedded database's passwords (superuser and application role), when it runs one. */
  private final List<String> databaseSecrets = new ArrayList<>();

  /** Starts a Gateway with its task loops running. */
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
    return new Gateway(config, environment, clock, random, true, null);
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
        config,
        environment,
        clock,
        new Random(),
        true,
        java.util.Objects.requireNonNull(agentRuntime));
  }

  /** Starts a Gateway whose task loops are driven by hand through {@link #dispatcher()} (tests). */
  public static Gateway startWithoutLoops(
      WorkaConfig config, Map<String, String> environment, InstantSource clock) {
    return new Gateway(config, environment, clock, new Random(), false, null);
  }

  public int port() {
    return http.port();
  }

  /** The port of the public ingress listener ({@code WORKA_INGRESS_PORT}), if there is one. */
  public java.util.OptionalInt ingressPort() {
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

  @Override
  public void close() {
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", c.getClass().getSimpleName(), e.getMessage());
      }
    }
    closeables.clear();
  }

  private static void prepareHome(Path home) throws IOException {
    Files.createDirectories(home);
    try {
      Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException e) {
      log.debug("cannot set permissions on {}", home);
    }
  }

  /**
   * The operator token file under WORKA_HOME: read, or created (0600) on first start. A file that
   * users other than its owner may read or change is refused, not used (as the signing key is): the
   * token is all-powerful over runs and policy.
   */
  public static String loadOrCreateOperatorToken(Path home) {
    Path file = home.resolve("operator-token");
    try {
      if (Files.exists(file)) {
        if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
          var permissions = Files.getPosixFilePermissions(file);
          if (!PosixFilePermissions.fromString("rw-------").containsAll(permissions)) {
            throw new WorkaException(
                "refusing to use the operator token "
                    + file
                    + ": its mode is "
                    + PosixFilePermissions.toString(permissions)
                    + ", so users other than its owner may read or"
                    + " change it. Run: chmod 600 "
                    + file
                    + " (and if others may already have read it, delete it"
                    + " and restart the Gateway: a new token is generated, and the CLI reads it from there)");
          }
        }
        String token = Files.readString(file).trim();
        if (token.length() >= 16) {
          return token;
        }
      }
      byte[] bytes = new byte[32];
      new SecureRandom().nextBytes(bytes);
      String token = "wk_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
      Files.createDirectories(home);
      Path tmp =
          Files.createTempFile(
              home,
              ".operator-token",
              ".tmp",
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(tmp, token + "\n");
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      log.info("generated an operator token in {} (the CLI reads it from there)", file);
      return token;
    } catch (IOException e) {
      throw new WorkaException(
          "could not read or create the operator token at " + file + ": " + e.getMessage(), e);
    }
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }
}
