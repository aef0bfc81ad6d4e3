package dev.worka.bench;

import dev.worka.gateway.Gateway;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.runtime.process.ProcessRuntime;
import dev.worka.gateway.runtime.process.WorkerNetwork;
import dev.worka.gateway.store.DatabaseUrl;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * Governed single-step runs per second, and the control plane's own cost per step (issue 4,
 * "Measured"): a real Gateway on its embedded PostgreSQL (or {@code WORKA_DATABASE_URL}), whose
 * agents are not processes but virtual threads in this JVM speaking the real agent protocol over
 * HTTP with their step tokens ({@link Gateway#startWithAgentRuntime}) — the planner submits a
 * one-step plan, the worker posts its result — so what is measured is the Gateway: dispatch,
 * tokens, plan validation, state transitions, gates, events, delivery.
 *
 * <p>Reported: completed runs per second over the measured window (closed loop: {@code
 * --concurrency} runs in flight), run latency (submission → succeeded), and per step the control
 * plane's overhead: from the step becoming {@code queued} to it being {@code succeeded}, minus the
 * agent's own time between receiving its context and sending its result (near zero here). Then,
 * separately, the start cost of a process worker: {@code /bin/true} and a JVM that exits at once,
 * through the process runtime (sandboxed when bubblewrap works).
 *
 * <pre>
 * worka-bench/governed-run-load [--concurrency N] [--warmup S] [--duration S] [--process-samples N]
 * </pre>
 */
public final class GovernedRunLoad {
  private static final String OPERATOR_TOKEN = "bench-operator-token-0123456789";
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private static final Pattern ROLE = Pattern.compile("\"role\"\\s*:\\s*\"(\\w+)\"");

  private GovernedRunLoad() {}

  record Options(int concurrency, int warmupSeconds, int durationSeconds, int processSamples) {
    static Options parse(String[] args) {
      int concurrency = 32;
      int warmup = 5;
      int duration = 20;
      int samples = 20;
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--concurrency" -> concurrency = Integer.parseInt(args[++i]);
          case "--warmup" -> warmup = Integer.parseInt(args[++i]);
          case "--duration" -> duration = Integer.parseInt(args[++i]);
          case "--process-samples" -> samples = Integer.parseInt(args[++i]);
          default ->
              throw new IllegalArgumentException(
                  "unknown option "
                      + args[i]
                      + " (use --concurrency N --warmup S --duration S --process-samples N)");
        }
      }
      return new Options(concurrency, warmup, duration, samples);
    }
  }

  /**
   * Agents as virtual threads: each step attempt GETs its context and answers like a minimal agent.
   */
  static final class InProcessAgents implements WorkerRuntime {
    final Map<String, Long> agentNanosByStep = new ConcurrentHashMap<>();

    @Override
    public WorkerHandle start(WorkerLaunch launch) {
      CompletableFuture<AttemptOutcome> done = new CompletableFuture<>();
      Instant started = Instant.now();
      Thread.ofVirtual()
          .name("agent-" + launch.stepId())
          .start(
              () -> {
                try {
                  String token = launch.token();
                  HttpResponse<String> context =
                      send(launch.gatewayUrl(), "GET", "/v1/agent/context", token, null);
                  long t0 = System.nanoTime();
                  Matcher role = ROLE.matcher(context.body());
                  boolean planner = role.find() && role.group(1).equals("planner");
                  String result =
                      "{\"status\": \"succeeded\", \"summary\": \"done\", \"output\": {\"ok\": true}}";
                  if (planner) {
                    long t1 = System.nanoTime();
                    send(
                        launch.gatewayUrl(),
                        "POST",
                        "/v1/agent/plan",
                        token,
                        "{\"summary\": \"answer\", \"steps\": [{\"step_ref\": \"answer\", \"agent\": \"daneel\","
                            + " \"objective\": \"answer the request\", \"skills\": [], \"depends_on\": []}]}");
                    t0 +=
                        System.nanoTime()
                            - t1; // the plan call is the Gateway's time, not the agent's
                  }
                  long agent = System.nanoTime() - t0;
                  send(launch.gatewayUrl(), "POST", "/v1/agent/result", token, result);
                  agentNanosByStep.merge(launch.stepId().toString(), agent, Long::sum);
                  done.complete(
                      new AttemptOutcome.Exited(
                          0, List.of(), Duration.between(started, Instant.now())));
                } catch (Exception e) {
                  done.complete(
                      new AttemptOutcome.Exited(
                          1, List.of(e.toString()), Duration.between(started, Instant.now())));
                }
              });
      return new WorkerHandle() {
        @Override
        public AttemptOutcome await() {
          return done.join();
        }

        @Override
        public void stop(String reason) {
          done.complete(
              new AttemptOutcome.Stopped(
                  reason, List.of(), Duration.between(started, Instant.now())));
        }

        @Override
        public long pid() {
          return -1;
        }
      };
    }
  }

  static HttpResponse<String> send(
      String base, String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + token);
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    Path home = Files.createTempDirectory("worka-bench-runs");
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
            Optional.empty(),
            Optional.of(OPERATOR_TOKEN),
            "scripted",
            "dry-run",
            Path.of("").toAbsolutePath(),
            Optional.empty(),
            Math.max(4, o.concurrency() * 2),
            Duration.ofSeconds(30),
            List.of());
    System.out.printf(
        Locale.ROOT,
        "bench: %d cores, %s, database %s; %d runs in flight, %d s warm-up + %d s%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        external.isPresent() ? "external" : "embedded",
        o.concurrency(),
        o.warmupSeconds(),
        o.durationSeconds());
    InProcessAgents agents = new InProcessAgents();
    try (Gateway gateway =
        Gateway.startWithAgentRuntime(config, Map.of(), InstantSource.system(), agents)) {
      String base = "http://127.0.0.1:" + gateway.port();
      List<String> measured = new ArrayList<>();
      Histogram runLatency = new Histogram(3_600_000_000L, 3);
      AtomicInteger failed = new AtomicInteger();
      Map<String, Integer> reasons = new ConcurrentHashMap<>();
      long warmupEnd = System.nanoTime() + Duration.ofSeconds(o.warmupSeconds()).toNanos();
      long end = warmupEnd + Duration.ofSeconds(o.durationSeconds()).toNanos();
      Semaphore inFlight = new Semaphore(o.concurrency());
      EndWatcher watcher = new EndWatcher(gateway.database().dataSource());
      Thread watching = Thread.ofPlatform().daemon().name("run-end-watcher").start(watcher);
      List<Thread> runners = new ArrayList<>();
      AtomicInteger completedInWindow = new AtomicInteger();
      for (int i = 0; i < o.concurrency(); i++) {
        runners.add(
            Thread.ofVirtual()
                .start(
                    () -> {
                      while (System.nanoTime() < end) {
                        try {
                          inFlight.acquire();
                          long t0 = System.nanoTime();
                          String runId = submitAndWait(base, watcher);
                          long t1 = System.nanoTime();
                          if (runId.startsWith("!")) {
                            failed.incrementAndGet();
                            reasons.merge(runId.substring(1), 1, Integer::sum);
                          } else if (t0 >= warmupEnd && t1 <= end) {
                            synchronized (measured) {
                              measured.add(runId);
                            }
                            runLatency.recordValue((t1 - t0) / 1000);
                            completedInWindow.incrementAndGet();
                          }
                        } catch (InterruptedException e) {
                          return;
                        } catch (Exception e) {
                          failed.incrementAndGet();
                          reasons.merge(
                              e.getClass().getSimpleName() + ": " + e.getMessage(),
                              1,
                              Integer::sum);
                        } finally {
                          inFlight.release();
                        }
                      }
                    }));
      }
      for (Thread t : runners) {
        t.join();
      }
      watching.interrupt();
      double perSecond = completedInWindow.get() / (double) o.durationSeconds();
      Histogram stepOverhead = new Histogram(3_600_000_000L, 3);
      Histogram stepTotal = new Histogram(3_600_000_000L, 3);
      Histogram runServer = new Histogram(3_600_000_000L, 3);
      Set<String> ids = Set.copyOf(measured);
      Transactions.withConnection(
          gateway.database().dataSource(),
          c -> {
            try (PreparedStatement ps =
                c.prepareStatement(
                    "select s.id::text, s.run_id::text, q.created_at as queued, d.created_at as done from steps s"
                        + " join run_events q on q.step_id = s.id and q.to_status = 'queued'"
                        + " join run_events d on d.step_id = s.id and d.to_status = 'succeeded'")) {
              try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                  if (!ids.contains(rs.getString(2))) {
                    continue;
                  }
                  long micros =
                      Duration.between(
                                  rs.getTimestamp(3).toInstant(), rs.getTimestamp(4).toInstant())
                              .toNanos()
                          / 1000;
                  long agentMicros =
                      agents.agentNanosByStep.getOrDefault(rs.getString(1), 0L) / 1000;
                  stepTotal.recordValue(Math.max(0, micros));
                  stepOverhead.recordValue(Math.max(0, micros - agentMicros));
                }
              }
            }
            try (PreparedStatement ps =
                    c.prepareStatement(
                        "select r.run_id::text, r.created_at, d.created_at from run_events r join run_events d"
                            + " on d.run_id = r.run_id and d.entity = 'run' and d.to_status = 'succeeded'"
                            + " where r.entity = 'run' and r.to_status = 'received'");
                ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                if (ids.contains(rs.getString(1))) {
                  runServer.recordValue(
                      Math.max(
                          0,
                          Duration.between(
                                      rs.getTimestamp(2).toInstant(),
                                      rs.getTimestamp(3).toInstant())
                                  .toNanos()
                              / 1000));
                }
              }
            }
            return null;
          });
      System.out.printf(
          Locale.ROOT,
          "runs: %d completed in the %d s window = %.1f runs/s; %d failed %s%n",
          completedInWindow.get(),
          o.durationSeconds(),
          perSecond,
          failed.get(),
          reasons.isEmpty() ? "" : reasons);
      print("run latency (submit → succeeded, noticed within 5 ms)", runLatency);
      print("run: received → succeeded (its events)", runServer);
      print("step: queued → succeeded", stepTotal);
      print("step: control-plane overhead (minus the agent's own time)", stepOverhead);
    }
    processStartCost(o.processSamples());
    deleteTree(home);
  }

  /** Submits a run and waits for its end; returns its id when it succeeded, else "!" and why. */
  private static String submitAndWait(String base, EndWatcher watcher) throws Exception {
    HttpResponse<String> created =
        send(base, "POST", "/v1/runs", OPERATOR_TOKEN, "{\"text\": \"say hello\"}");
    if (created.statusCode() != 202) {
      return "!create answered " + created.statusCode();
    }
    String runId = Json.parse(created.body()).path("run_id").asText();
    String status = watcher.await(runId).get(120, java.util.concurrent.TimeUnit.SECONDS);
    return "succeeded".equals(status) ? runId : "!run ended " + status;
  }

  /**
   * Notices runs ending by asking the database every few milliseconds for the ones awaited — one
   * cheap query for all of them, so that following runs costs the machine (almost) nothing, unlike
   * an event stream per run.
   */
  static final class EndWatcher implements Runnable {
    private final javax.sql.DataSource dataSource;
    private final Map<String, CompletableFuture<String>> awaited = new ConcurrentHashMap<>();

    EndWatcher(javax.sql.DataSource dataSource) {
      this.dataSource = dataSource;
    }

    CompletableFuture<String> await(String runId) {
      return awaited.computeIfAbsent(runId, k -> new CompletableFuture<>());
    }

    @Override
    public void run() {
      while (!Thread.currentThread().isInterrupted()) {
        try {
          if (!awaited.isEmpty()) {
            String[] ids = awaited.keySet().toArray(String[]::new);
            Transactions.withConnection(
                dataSource,
                c -> {
                  try (PreparedStatement ps =
                      c.prepareStatement(
                          "select id::text, status from runs where id::text = any(?)"
                              + " and status in ('succeeded', 'failed', 'rejected', 'cancelled')")) {
                    ps.setArray(1, c.createArrayOf("text", ids));
                    try (ResultSet rs = ps.executeQuery()) {
                      while (rs.next()) {
                        CompletableFuture<String> f = awaited.remove(rs.getString(1));
                        if (f != null) {
                          f.complete(rs.getString(2));
                        }
                      }
                    }
                  }
                  return null;
                });
          }
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          System.err.println("watcher: " + e);
        }
      }
    }
  }

  /** How long starting (and ending) a worker process takes through the process runtime. */
  private static void processStartCost(int samples) throws Exception {
    if (samples <= 0) {
      return;
    }
    Path install = Path.of("").toAbsolutePath();
    for (WorkerNetwork network : WorkerNetwork.values()) {
      ProcessRuntime runtime =
          new ProcessRuntime(install, InstantSource.system(), List.of(), network);
      System.out.printf(
          Locale.ROOT,
          "process workers (isolation: %s, WORKA_WORKER_NETWORK=%s), %d samples each:%n",
          runtime.isolation(),
          network.name().toLowerCase(Locale.ROOT),
          samples);
      String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      for (List<String> command :
          List.of(
              List.of("/bin/true"),
              List.of(
                  javaBin,
                  "-XX:TieredStopAtLevel=1",
                  "-XX:+UseSerialGC",
                  "-Xshare:auto",
                  "-version"))) {
        Histogram h = new Histogram(3_600_000_000L, 3);
        for (int i = 0; i < samples; i++) {
          WorkerLaunch launch =
              new WorkerLaunch(
                  java.util.UUID.randomUUID(),
                  java.util.UUID.randomUUID(),
                  1,
                  "bench",
                  command,
                  "http://127.0.0.1:9999",
                  "bench.token.value",
                  null,
                  Instant.now().plusSeconds(60));
          long t0 = System.nanoTime();
          AttemptOutcome outcome = runtime.start(launch).await();
          long micros = (System.nanoTime() - t0) / 1000;
          if (!(outcome instanceof AttemptOutcome.Exited e) || e.exitCode() != 0) {
            System.out.println("  " + command.get(0) + ": " + outcome);
            break;
          }
          h.recordValue(micros);
        }
        print(
            "  start → exit of " + (command.size() == 1 ? command.get(0) : "a JVM (java -version)"),
            h);
      }
      runtime.close();
    }
  }

  private static void print(String what, Histogram h) {
    if (h.getTotalCount() == 0) {
      System.out.println(what + ": no samples");
      return;
    }
    System.out.printf(
        Locale.ROOT,
        "%s: n=%d p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms%n",
        what,
        h.getTotalCount(),
        h.getValueAtPercentile(50) / 1000.0,
        h.getValueAtPercentile(90) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0,
        h.getMaxValue() / 1000.0);
  }

  private static void deleteTree(Path root) {
    try (var paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (Exception e) {
      // a temporary directory; the OS cleans it eventually
    }
  }
}
