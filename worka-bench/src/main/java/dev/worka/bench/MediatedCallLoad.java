package dev.worka.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.zaxxer.hikari.HikariDataSource;
import dev.worka.gateway.Gateway;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateChain;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.store.DatabaseUrl;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.LongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * The added latency of a mediated skill call — token check, policy, durable gate, invocation record
 * — against the same call made directly, at a fixed open-loop rate (the goal: at most 1 ms more at
 * p99 under 1,000 calls a second).
 *
 * <p>It starts a real Gateway in this process ({@link Gateway#start}) on a temporary {@code
 * WORKA_HOME} with the embedded PostgreSQL (or {@code WORKA_DATABASE_URL}, which should be a
 * throwaway database: the gates it writes are append-only), side effects in dry-run, and the
 * built-in policy with Ernest's command replaced by {@code sleep} (so his step stays running) and
 * the call limits raised. It submits "open an issue in acme/widgets titled 'bench'" through the
 * operator API once per {@code --steps} (the real planner, Hari, plans each), waits until each
 * Ernest step runs, mints that step's token with the Gateway's key, then measures three paths at
 * the same rate, one after the other:
 *
 * <ol>
 *   <li><b>direct</b> — {@code POST /v1/agent/skills/github.create_issue} with the same body to a
 *       {@link DirectSkillServer}: the Gateway's HTTP stack answering with the dry-run effect, no
 *       mediation (the baseline);
 *   <li><b>heartbeat</b> — {@code POST /v1/agent/heartbeat} on the Gateway: token verification and
 *       the run and step reads, no decision and no writes (where authentication alone lands);
 *   <li><b>mediated</b> — the real {@code POST /v1/agent/skills/github.create_issue}: every call a
 *       new invocation (distinct idempotency key and title), spread round-robin over the steps.
 * </ol>
 *
 * <p>Latency is measured from each call's due time ({@link FixedRateLoad}). Then a closed loop of
 * {@code --callers} finds the mediated path's capacity ({@link ClosedLoopLoad}). It also times the
 * in-memory pieces alone ({@link InProcessCosts}), the CPU each path costs per call ({@link
 * CpuUse}), samples where the database connections spend the mediated load ({@link DatabaseWaits}),
 * times the call-limit counts, checks every run's story (one allow gate and one succeeded
 * invocation per answered call; the gate chain intact), and measures the gate chain's ceiling in a
 * scratch database ({@link GateChainCeiling}).
 *
 * <p>Run (from the repository root; about 75 s after the build):
 *
 * <pre>{@code
 * worka-bench/mediated-call-load                       # builds worka-bench, then runs this
 * worka-bench/mediated-call-load --rate 100 --no-capacity
 * }</pre>
 *
 * <p>or, after {@code mvn -pl worka-bench -am package -DskipTests}: {@code java -cp
 * "worka-bench/target/worka-bench-0.1.0-SNAPSHOT.jar:worka-bench/target/lib/*"
 * dev.worka.bench.MediatedCallLoad [options]}. Options: {@code --rate} calls a second (1000),
 * {@code --warmup} and {@code --duration} seconds per path (3, 10), {@code --steps} running steps
 * the calls are spread over (4; each may make at most 10,000 calls), {@code --callers} and {@code
 * --capacity} seconds of the closed loop (16, 5; {@code --no-capacity} skips it), {@code --keep}
 * keeps the temporary WORKA_HOME. Results go to standard output as Markdown tables, the Gateway's
 * log to standard error. Results and how they were taken: {@code docs/performance.md}.
 */
public final class MediatedCallLoad {
  private static final String OPERATOR_TOKEN = "bench-operator-token-0123456789abcdef";
  private static final String REQUEST = "open an issue in acme/widgets titled 'bench'";
  private static final String SKILL = "github.create_issue";
  private static final int MAX_CALLS_PER_STEP = 10_000;
  private static final HttpClient CONTROL =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private MediatedCallLoad() {}

  record Options(
      int rate,
      int warmupSeconds,
      int durationSeconds,
      int steps,
      int callers,
      int capacitySeconds,
      boolean keep) {
    static Options parse(String[] args) {
      int rate = 1000;
      int warmup = 3;
      int duration = 10;
      int steps = 4;
      int callers = 16;
      int capacity = 5;
      boolean keep = false;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--rate" -> rate = positive(a, args, ++i);
          case "--warmup" -> warmup = positive(a, args, ++i);
          case "--duration" -> duration = positive(a, args, ++i);
          case "--steps" -> steps = positive(a, args, ++i);
          case "--callers" -> callers = positive(a, args, ++i);
          case "--capacity" -> capacity = positive(a, args, ++i);
          case "--no-capacity" -> capacity = 0;
          case "--keep" -> keep = true;
          default ->
              throw new IllegalArgumentException(
                  "unknown option "
                      + a
                      + " (options: --rate N --warmup S"
                      + " --duration S --steps N --callers N --capacity S --no-capacity --keep)");
        }
      }
      long perStep =
          (long) rate * (warmup + duration) / steps + 1; // the capacity loop uses what is left
      if (perStep > MAX_CALLS_PER_STEP) {
        throw new IllegalArgumentException(
            "--rate "
                + rate
                + " for "
                + (warmup + duration)
                + " s over "
                + steps
                + " step(s) is "
                + perStep
                + " calls per step, over the policy's maximum max_skill_calls_per_step ("
                + MAX_CALLS_PER_STEP
                + "): raise --steps or shorten --duration");
      }
      return new Options(rate, warmup, duration, steps, callers, capacity, keep);
    }

    private static int positive(String name, String[] args, int i) {
      if (i >= args.length) {
        throw new IllegalArgumentException(name + " needs a value");
      }
      int v = Integer.parseInt(args[i]);
      if (v < 1) {
        throw new IllegalArgumentException(name + " must be at least 1, was " + v);
      }
      return v;
    }
  }

  /** A running Ernest step and the token the driver calls with on its behalf. */
  record RunningStep(UUID runId, UUID stepId, int attempt, String token) {}

  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("MediatedCallLoad: " + e.getMessage());
      System.exit(2);
      return;
    }
    Path home = Files.createTempDirectory("worka-bench-");
    try {
      run(options, home);
    } finally {
      if (options.keep()) {
        System.out.println("kept WORKA_HOME " + home);
      } else {
        deleteTree(home);
      }
    }
  }

  private static void run(Options o, Path home) throws Exception {
    Path policyFile = home.resolve("bench-policy.yaml");
    Files.writeString(policyFile, benchPolicy());
    Map<String, String> env = System.getenv();
    Optional<DatabaseUrl> external =
        Optional.ofNullable(env.get("WORKA_DATABASE_URL"))
            .filter(s -> !s.isBlank())
            .map(
                url ->
                    DatabaseUrl.parse(
                        url, env.get("WORKA_DATABASE_USER"), env.get("WORKA_DATABASE_PASSWORD")));
    WorkaConfig config =
        new WorkaConfig(
            home,
            external,
            0,
            "127.0.0.1",
            Optional.of(policyFile),
            Optional.of(OPERATOR_TOKEN),
            "scripted",
            "dry-run",
            Path.of("").toAbsolutePath(),
            Optional.empty(),
            o.steps() + 2,
            Duration.ofSeconds(30),
            List.of());

    printMachine(o, external.isPresent());
    long t0 = System.nanoTime();
    try (Gateway gateway = Gateway.start(config, Map.of(), InstantSource.system())) {
      String base = "http://127.0.0.1:" + gateway.port();
      System.out.printf(
          Locale.ROOT,
          "bench: Gateway up in %.1f s; submitting %d run(s): \"%s\"%n",
          (System.nanoTime() - t0) / 1e9,
          o.steps(),
          REQUEST);
      List<RunningStep> steps = startSteps(base, home, o.steps());
      System.out.printf(
          Locale.ROOT,
          "bench: %d Ernest step(s) running after %.1f s%n",
          steps.size(),
          (System.nanoTime() - t0) / 1e9);

      SkillRegistry registry =
          new SkillRegistry(CatalogOnlyProvider.builtIn(Map.of()), SideEffectMode.DRY_RUN);
      Map<String, Histogram> inProcess =
          InProcessCosts.measure(
              new TokenVerifier(
                  SigningKeys.loadOrCreate(home), "worka-gateway", InstantSource.system()),
              steps.get(0).token(),
              registry,
              gateway.policy().policy(),
              body("probe", 0),
              steps.get(0).runId(),
              steps.get(0).stepId());

      Duration warmup = Duration.ofSeconds(o.warmupSeconds());
      Duration measure = Duration.ofSeconds(o.durationSeconds());
      Path postgresData = external.isPresent() ? null : home.resolve("postgres");
      List<Phase> results = new ArrayList<>();
      try (DirectSkillServer direct = new DirectSkillServer(registry)) {
        URI directUri = URI.create(direct.baseUrl() + "/v1/agent/skills/" + SKILL);
        results.add(
            phase(
                "direct",
                o,
                warmup,
                measure,
                postgresData,
                i ->
                    skillCall(
                        directUri, steps.get((int) (i % steps.size())).token(), body("direct", i)),
                null));
      }
      URI heartbeat = URI.create(base + "/v1/agent/heartbeat");
      results.add(
          phase(
              "heartbeat",
              o,
              warmup,
              measure,
              postgresData,
              i ->
                  HttpRequest.newBuilder(heartbeat)
                      .timeout(Duration.ofSeconds(60))
                      .header(
                          "Authorization", "Bearer " + steps.get((int) (i % steps.size())).token())
                      .POST(HttpRequest.BodyPublishers.noBody())
                      .build(),
              null));

      HikariDataSource pool = (HikariDataSource) gateway.database().dataSource();
      URI mediatedUri = URI.create(base + "/v1/agent/skills/" + SKILL);
      Phase mediated;
      DatabaseWaits waits =
          DatabaseWaits.start(pool.getJdbcUrl(), pool.getUsername(), pool.getPassword(), 10);
      try {
        mediated =
            phase(
                "mediated",
                o,
                warmup,
                measure,
                postgresData,
                i ->
                    skillCall(
                        mediatedUri,
                        steps.get((int) (i % steps.size())).token(),
                        body("mediated", i)),
                waits::restart);
      } finally {
        waits.close();
      }
      results.add(mediated);

      ClosedLoopLoad.Result capacity = null;
      CpuUse.Interval capacityCpu = null;
      if (o.capacitySeconds() > 0) {
        long usedPerStep = (mediated.load().sent() + steps.size() - 1) / steps.size();
        long quota = (MAX_CALLS_PER_STEP - usedPerStep - 1) * steps.size();
        System.out.printf(
            Locale.ROOT,
            "bench: capacity: closed loop, %d callers, %d s …%n",
            o.callers(),
            o.capacitySeconds());
        try (HttpClient client =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
          CpuUse before = CpuUse.now(postgresData);
          capacity =
              ClosedLoopLoad.run(
                  client,
                  i ->
                      skillCall(
                          mediatedUri,
                          steps.get((int) (i % steps.size())).token(),
                          body("capacity", i)),
                  o.callers(),
                  Duration.ofSeconds(o.capacitySeconds()),
                  quota);
          capacityCpu = before.until(CpuUse.now(postgresData), capacity.succeeded());
        }
        System.out.printf(
            Locale.ROOT, "bench: capacity: %.0f mediated calls/s%n", capacity.perSecond());
      }

      String sanity =
          checkStories(
              base,
              steps,
              mediated.load().totalSucceeded() + (capacity == null ? 0 : capacity.succeeded()),
              gateway);

      String limitCounts = timeLimitCounts(gateway, steps.get(0));
      for (RunningStep s : steps) {
        control("POST", base + "/v1/runs/" + s.runId() + "/cancel", null);
      }
      report(o, results, inProcess, waits, sanity);
      System.out.println(limitCounts);
      if (capacity != null) {
        System.out.println();
        System.out.printf(
            Locale.ROOT,
            "## Capacity of the mediated path: closed loop, %d callers, %d s%n%n",
            capacity.callers(),
            o.capacitySeconds());
        System.out.println(
            "| calls/s | ok | errors | p50 ms | p99 ms | CPU ms/call JVM | CPU ms/call PostgreSQL"
                + " | machine busy | other work |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        System.out.printf(
            Locale.ROOT,
            "| %.0f | %d | %s | %s | %s | %.3f | %.3f | %.0f %% | %.0f %% |%n",
            capacity.perSecond(),
            capacity.succeeded(),
            capacity.failures().isEmpty() ? "0" : capacity.failures().toString(),
            ms(capacity.latencyMicros(), 50),
            ms(capacity.latencyMicros(), 99),
            capacityCpu.jvmMsPerCall(),
            capacityCpu.postgresMsPerCall(),
            100 * capacityCpu.machineBusy(),
            100 * capacityCpu.othersBusy());
      }

      System.out.println();
      System.out.println(
          "## Gate chain ceiling (scratch database, the Gateway's AuditLog, closed loop)");
      System.out.println();
      if (external.isPresent()) {
        System.out.println(
            "skipped: WORKA_DATABASE_URL is set (measured only on the embedded server, as its owner)");
      } else {
        System.out.println("bench: measuring the gate chain's ceiling in a scratch database …");
        try {
          DatabaseUrl owner =
              new DatabaseUrl(
                  GateChainCeiling.withDatabase(pool.getJdbcUrl(), "postgres"),
                  "postgres",
                  Files.readString(home.resolve("postgres.password")).trim());
          reportCeiling(GateChainCeiling.measure(owner, 16, Duration.ofSeconds(2)));
        } catch (Exception e) {
          System.out.println("not measured: " + e);
        }
      }
    }
  }

  /** A load phase and the CPU it took. */
  record Phase(FixedRateLoad.Result load, CpuUse.Interval cpu) {}

  private static Phase phase(
      String name,
      Options o,
      Duration warmup,
      Duration measure,
      Path postgresData,
      LongFunction<HttpRequest> requests,
      Runnable atMeasurementStart)
      throws InterruptedException {
    System.gc();
    Thread.sleep(500);
    System.out.printf(
        Locale.ROOT,
        "bench: %s: %d calls/s, %d s warm-up + %d s measured …%n",
        name,
        o.rate(),
        warmup.toSeconds(),
        measure.toSeconds());
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    CpuUse[] atStart = new CpuUse[1];
    Thread[] snapshot = new Thread[1];
    try {
      FixedRateLoad.Result r =
          FixedRateLoad.run(
              name,
              client,
              requests,
              o.rate(),
              warmup,
              measure,
              () -> {
                // off the sending thread: reading /proc takes milliseconds
                snapshot[0] = Thread.ofVirtual().start(() -> atStart[0] = CpuUse.now(postgresData));
                if (atMeasurementStart != null) {
                  atMeasurementStart.run();
                }
              });
      CpuUse atEnd = CpuUse.now(postgresData);
      snapshot[0].join();
      CpuUse.Interval cpu = atStart[0].until(atEnd, r.measured());
      System.out.printf(
          Locale.ROOT,
          "bench: %s: %d/%d ok, p50 %s p99 %s ms, %.0f/s%n",
          name,
          r.succeeded(),
          r.measured(),
          ms(r.latencyMicros(), 50),
          ms(r.latencyMicros(), 99),
          r.achievedPerSecond());
      return new Phase(r, cpu);
    } finally {
      client.close();
    }
  }

  /**
   * The request body of call {@code i}: a new issue each time (its own title and idempotency key).
   */
  static String body(String phase, long i) {
    return "{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"bench "
        + phase
        + " "
        + i
        + "\",\"body\":\"Opened by the MediatedCallLoad driver, call "
        + i
        + " of the "
        + phase
        + " phase.\"},\"idempotency_key\":\"bench-"
        + phase
        + "-"
        + i
        + "\"}";
  }

  private static HttpRequest skillCall(URI uri, String token, String body) {
    return HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  /** The built-in manifest: Hari from this class path, Ernest sleeping, limits at their maxima. */
  static String benchPolicy() {
    Matcher m = Pattern.compile("\\[bin/worka-agent, ([a-z]+)\\]").matcher(BuiltinPolicy.source());
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String argv =
          m.group(1).equals("ernest")
              ? yamlList(List.of("/bin/sh", "-c", "sleep 3600"))
              : agentCommand(m.group(1));
      m.appendReplacement(out, Matcher.quoteReplacement(argv));
    }
    m.appendTail(out);
    String policy =
        out.toString()
            .replaceAll(
                "max_skill_calls_per_step: *[0-9]+",
                "max_skill_calls_per_step: " + MAX_CALLS_PER_STEP)
            .replaceAll("max_skill_calls_per_run: *[0-9]+", "max_skill_calls_per_run: 100000")
            .replaceAll("step_timeout: *[0-9a-z]+", "step_timeout: 2h")
            .replaceAll("run_deadline: *[0-9a-z]+", "run_deadline: 3h");
    for (String expected :
        List.of(
            "sleep 3600",
            "max_skill_calls_per_step: 10000",
            "max_skill_calls_per_run: 100000",
            "step_timeout: 2h",
            "run_deadline: 3h")) {
      if (!policy.contains(expected)) {
        throw new IllegalStateException(
            "the built-in manifest changed shape; the bench policy lacks " + expected);
      }
    }
    return policy;
  }

  /**
   * A built-in agent run from this process's class path (its own JVM, as {@code bin/worka-agent}
   * would).
   */
  private static String agentCommand(String agent) {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath =
        Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
            .filter(
                e ->
                    e.contains("worka-agents")
                        || e.contains("worka-protocol")
                        || e.contains("jackson"))
            .map(e -> Path.of(e).toAbsolutePath().toString())
            .collect(Collectors.joining(java.io.File.pathSeparator));
    if (!classpath.contains("worka-agents")) {
      throw new IllegalStateException(
          "worka-agents is not on the class path; run from worka-bench's jar and lib/");
    }
    return yamlList(
        List.of(
            javaBin,
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Xshare:auto",
            "-cp",
            classpath,
            "dev.worka.agents.AgentMain",
            agent));
  }

  private static String yamlList(List<String> items) {
    return items.stream()
        .map(s -> "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"")
        .collect(Collectors.joining(", ", "[", "]"));
  }

  /** Submits {@code count} runs and waits (bounded) until each one's Ernest step is running. */
  private static List<RunningStep> startSteps(String base, Path home, int count) throws Exception {
    List<String> runIds = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      // No requester: the operator's own runs, which ingress.quotas (runs per requester) do not
      // count.
      JsonNode accepted =
          control(
              "POST",
              base + "/v1/runs",
              Json.STRICT.createObjectNode().put("text", REQUEST).toString());
      runIds.add(accepted.path("run_id").asText());
    }
    TokenIssuer issuer =
        new TokenIssuer(SigningKeys.loadOrCreate(home), "worka-gateway", InstantSource.system());
    List<RunningStep> steps = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    for (String runId : runIds) {
      while (true) {
        JsonNode story = control("GET", base + "/v1/runs/" + runId, null);
        Optional<JsonNode> ernest =
            stream(story.path("steps"))
                .filter(
                    s ->
                        s.path("agent").asText().equals("ernest")
                            && s.path("status").asText().equals("running"))
                .findFirst();
        if (ernest.isPresent()) {
          UUID run = UUID.fromString(runId);
          UUID step = UUID.fromString(ernest.get().path("step_id").asText());
          int attempt = ernest.get().path("attempt").asInt();
          String token =
              issuer
                  .mint("ernest", run, step, attempt, Instant.now().plus(Duration.ofMinutes(90)))
                  .token();
          steps.add(new RunningStep(run, step, attempt, token));
          break;
        }
        String status = story.path("status").asText();
        if (Stream.of("succeeded", "failed", "rejected", "cancelled").anyMatch(status::equals)
            || System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "run "
                  + runId
                  + " never had a running Ernest step (run is "
                  + status
                  + "): "
                  + story.toPrettyString());
        }
        Thread.sleep(100); // tooling: polling the operator API, bounded by the deadline above
      }
    }
    return steps;
  }

  /**
   * One allow gate and one succeeded invocation per answered mediated call, nothing denied, and the
   * gate chain intact: the sanity line of the report.
   */
  private static String checkStories(
      String base, List<RunningStep> steps, long answered, Gateway gateway) throws Exception {
    long allows = 0;
    long denies = 0;
    long invocations = 0;
    Map<String, Long> byStatus = new java.util.TreeMap<>();
    for (RunningStep s : steps) {
      JsonNode story = control("GET", base + "/v1/runs/" + s.runId(), null);
      for (JsonNode g : story.path("gates")) {
        if (g.path("action").asText().equals(GateAction.SKILL_INVOKE.sql())
            && SKILL.equals(g.path("skill").asText())) {
          if (g.path("status").asText().equals("allow")) {
            allows++;
          } else {
            denies++;
          }
        }
      }
      for (JsonNode i : story.path("skill_invocations")) {
        invocations++;
        byStatus.merge(i.path("status").asText(), 1L, Long::sum);
      }
    }
    GateChain.Verification chain =
        Transactions.withConnection(gateway.database().dataSource(), GateChain::verify);
    long succeeded = byStatus.getOrDefault("succeeded", 0L);
    String verdict =
        allows == answered
                && invocations == answered
                && succeeded == answered
                && denies == 0
                && chain instanceof GateChain.Verification.Intact
            ? "consistent"
            : "INCONSISTENT";
    return String.format(
        Locale.ROOT,
        "%s: %d mediated calls answered 200 (warm-up + measured); the runs' stories hold"
            + " %d allow gates, %d deny gates, %d skill invocations by status %s; gate chain: %s",
        verdict,
        answered,
        allows,
        denies,
        invocations,
        byStatus,
        chain);
  }

  /**
   * What the two call-limit counts of the decision transaction cost now that the step has made its
   * calls: each counts every invocation of the step (of the run), so it grows with them.
   */
  private static String timeLimitCounts(Gateway gateway, RunningStep step) {
    return Transactions.withConnection(
        gateway.database().dataSource(),
        c -> {
          StringBuilder out =
              new StringBuilder(
                  "Call-limit counts after the load (one step's rows; 200 runs each):");
          for (String sql :
              List.of(
                  "select count(*) from skill_invocations where step_id = ?",
                  "select count(*) from skill_invocations where run_id = ?")) {
            Histogram h = new Histogram(3);
            long rows = 0;
            try (java.sql.PreparedStatement ps = c.prepareStatement(sql)) {
              ps.setObject(1, sql.contains("step_id") ? step.stepId() : step.runId());
              for (int i = 0; i < 220; i++) {
                long t = System.nanoTime();
                try (java.sql.ResultSet rs = ps.executeQuery()) {
                  rs.next();
                  rows = rs.getLong(1);
                }
                if (i >= 20) {
                  h.recordValue((System.nanoTime() - t) / 1000);
                }
              }
            }
            out.append(
                String.format(
                    Locale.ROOT,
                    " `%s` over %d rows: p50 %s ms, p99 %s ms;",
                    sql,
                    rows,
                    ms(h, 50),
                    ms(h, 99)));
          }
          return out.toString();
        });
  }

  private static JsonNode control(String method, String url, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + OPERATOR_TOKEN);
    if (body != null) {
      b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r = CONTROL.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw new IllegalStateException(
          method + " " + url + " answered " + r.statusCode() + ": " + r.body());
    }
    return r.body().isEmpty() ? Json.STRICT.createObjectNode() : Json.LENIENT.readTree(r.body());
  }

  private static Stream<JsonNode> stream(JsonNode array) {
    List<JsonNode> out = new ArrayList<>();
    array.forEach(out::add);
    return out.stream();
  }

  private static void printMachine(Options o, boolean externalDatabase) {
    System.out.printf(
        Locale.ROOT,
        "bench: MediatedCallLoad %s — %s%n",
        LocalDate.now(ZoneId.systemDefault()),
        machine());
    System.out.printf(
        Locale.ROOT,
        "bench: %d calls/s open loop, %d s warm-up + %d s measured per path, calls spread"
            + " over %d running step(s), database %s%n",
        o.rate(),
        o.warmupSeconds(),
        o.durationSeconds(),
        o.steps(),
        externalDatabase
            ? "WORKA_DATABASE_URL"
            : "embedded PostgreSQL (fsync and synchronous_commit on)");
    System.out.println("bench: load average before: " + loadAverage());
  }

  /** The host's 1/5/15-minute load averages (other work on the machine skews every figure). */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  static String machine() {
    String cpu = "?";
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      cpu =
          lines
              .filter(l -> l.startsWith("model name"))
              .findFirst()
              .map(l -> l.substring(l.indexOf(':') + 1).strip())
              .orElse("?");
    } catch (IOException | RuntimeException e) {
      // not Linux: leave it unknown
    }
    long memory =
        ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize();
    return String.format(
        Locale.ROOT,
        "%d cores (%s), %d GiB, %s %s, JDK %s (%s)",
        Runtime.getRuntime().availableProcessors(),
        cpu,
        Math.round(memory / (1024.0 * 1024 * 1024)),
        System.getProperty("os.name"),
        System.getProperty("os.version"),
        Runtime.version(),
        System.getProperty("java.vm.vendor"));
  }

  private static void report(
      Options o,
      List<Phase> phases,
      Map<String, Histogram> inProcess,
      DatabaseWaits waits,
      String sanity) {
    List<FixedRateLoad.Result> results = phases.stream().map(Phase::load).toList();
    System.out.println();
    System.out.println("## Results (latency in ms from each call's due time)");
    System.out.println();
    System.out.println(
        "| path | calls | ok | errors | achieved/s | max in flight | p50 | p90 | p99 | p99.9 | max |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (FixedRateLoad.Result r : results) {
      Histogram h = r.latencyMicros();
      System.out.printf(
          Locale.ROOT,
          "| %s | %d | %d | %d | %.0f | %d | %s | %s | %s | %s | %s |%n",
          r.name(),
          r.measured(),
          r.succeeded(),
          r.failed(),
          r.achievedPerSecond(),
          r.maxInFlight(),
          ms(h, 50),
          ms(h, 90),
          ms(h, 99),
          ms(h, 99.9),
          ms(h.getMaxValue()));
    }
    FixedRateLoad.Result direct = results.get(0);
    FixedRateLoad.Result mediated = results.get(results.size() - 1);
    double[] ps = {50, 90, 99, 99.9};
    StringBuilder added =
        new StringBuilder("| **added by mediation** (mediated − direct) | | | | | |");
    for (double p : ps) {
      added
          .append(' ')
          .append(
              ms(
                  mediated.latencyMicros().getValueAtPercentile(p)
                      - direct.latencyMicros().getValueAtPercentile(p)))
          .append(" |");
    }
    System.out.println(added.append(" |"));
    double addedP99 =
        (mediated.latencyMicros().getValueAtPercentile(99)
                - direct.latencyMicros().getValueAtPercentile(99))
            / 1000.0;
    boolean kept = mediated.failed() == 0 && mediated.achievedPerSecond() >= 0.98 * o.rate();
    System.out.println();
    System.out.printf(
        Locale.ROOT,
        "Goal (≤ 1 ms added at p99 under %d calls/s): %s — added p99 %.2f ms%s.%n",
        o.rate(),
        addedP99 <= 1.0 && kept ? "MET" : "MISSED",
        addedP99,
        kept
            ? ""
            : String.format(
                Locale.ROOT,
                ", and the Gateway did not keep up (%.0f/s served, %d errors)",
                mediated.achievedPerSecond(),
                mediated.failed()));
    for (FixedRateLoad.Result r : results) {
      if (!r.failures().isEmpty()) {
        System.out.println("Errors on " + r.name() + ": " + r.failures());
      }
      System.out.printf(
          Locale.ROOT,
          "Driver send lag on %s: p99 %s ms, max %s ms%n",
          r.name(),
          ms(r.sendLagMicros(), 99),
          ms(r.sendLagMicros().getMaxValue()));
    }
    for (FixedRateLoad.Result r : results) {
      System.out.println(
          r.name()
              + " p50/p99 by measured second (ms): "
              + Arrays.stream(r.perSecond())
                  .map(h -> ms(h, 50) + "/" + ms(h, 99))
                  .collect(Collectors.joining("  ")));
    }
    System.out.println();
    System.out.println(
        "CPU per measured call (ms) — JVM = Gateway + HTTP client + driver; machine = all cores:");
    System.out.println();
    System.out.println("| path | JVM | PostgreSQL | machine busy | other work on the machine |");
    System.out.println("|---|---:|---:|---:|---:|");
    for (Phase p : phases) {
      System.out.printf(
          Locale.ROOT,
          "| %s | %.3f | %.3f | %.0f %% | %.0f %% |%n",
          p.load().name(),
          p.cpu().jvmMsPerCall(),
          p.cpu().postgresMsPerCall(),
          100 * p.cpu().machineBusy(),
          100 * p.cpu().othersBusy());
    }
    System.out.println();
    System.out.println("Sanity: " + sanity);
    System.out.println("Load average after the load: " + loadAverage());

    System.out.println();
    System.out.println("## In-process pieces of a call, alone on one thread (µs)");
    System.out.println();
    System.out.println("| piece | p50 | p99 |");
    System.out.println("|---|---:|---:|");
    inProcess.forEach(
        (name, h) ->
            System.out.printf(
                Locale.ROOT,
                "| %s | %.1f | %.1f |%n",
                name,
                h.getValueAtPercentile(50) / 1000.0,
                h.getValueAtPercentile(99) / 1000.0));

    if (waits != null) {
      System.out.println();
      System.out.printf(
          Locale.ROOT,
          "## Where the Gateway's database connections spent the mediated load"
              + " (%d samples of pg_stat_activity, mean backends in each state)%n%n",
          waits.samples());
      System.out.println("| state | mean backends |");
      System.out.println("|---|---:|");
      double total = 0;
      for (DatabaseWaits.Share s : waits.shares()) {
        total += s.meanBackends();
      }
      waits.shares().stream()
          .filter(s -> s.meanBackends() >= 0.005)
          .sorted(Comparator.comparingDouble(DatabaseWaits.Share::meanBackends).reversed())
          .forEach(
              s -> System.out.printf(Locale.ROOT, "| %s | %.2f |%n", s.what(), s.meanBackends()));
      System.out.printf(Locale.ROOT, "| all busy backends | %.2f |%n", total);
    }
  }

  private static void reportCeiling(List<GateChainCeiling.Measure> ceiling) {
    System.out.println("| transaction | writers | per second | p50 ms | p99 ms |");
    System.out.println("|---|---:|---:|---:|---:|");
    for (GateChainCeiling.Measure m : ceiling) {
      System.out.printf(
          Locale.ROOT,
          "| %s | %d | %.0f | %s | %s |%n",
          m.name(),
          m.writers(),
          m.perSecond(),
          ms(m.latencyMicros(), 50),
          ms(m.latencyMicros(), 99));
    }
  }

  private static String ms(Histogram micros, double percentile) {
    return ms(micros.getTotalCount() == 0 ? 0 : micros.getValueAtPercentile(percentile));
  }

  private static String ms(long micros) {
    return String.format(Locale.ROOT, "%.2f", micros / 1000.0);
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  // a leftover under a temp directory; reported below if the root stays
                }
              });
    } catch (IOException e) {
      System.err.println("bench: could not remove " + root + ": " + e.getMessage());
    }
    if (Files.exists(root)) {
      System.err.println("bench: could not remove all of " + root);
    }
  }
}
