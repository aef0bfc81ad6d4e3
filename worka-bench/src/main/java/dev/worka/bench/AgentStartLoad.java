package dev.worka.bench;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.process.ProcessRuntime;
import dev.worka.gateway.runtime.process.SandboxRequirement;
import dev.worka.gateway.runtime.process.WorkerNetwork;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.HdrHistogram.Histogram;

/**
 * How long a sandboxed built-in agent takes from {@code ProcessRuntime.start} until the Gateway
 * receives its first agent-API call (issue 13 item 6: p50 ≤ 150 ms on 2 cores, the relay's share
 * included), and what that time is made of.
 *
 * <p>The workers are started by the real process runtime (bubblewrap, seccomp, the attempt's cgroup
 * with its limits, the network relay) with the real {@code bin/worka-agent ernest} command of the
 * built-in manifest. The "Gateway" is a stand-in on loopback that notes when each attempt's first
 * request arrives (told apart by its bearer token) and answers every request {@code 401}, after
 * which the agent posts its failed result (also {@code 401}) and exits: its first call has reached
 * the Gateway through both halves of the relay, as a real one's would. What the real Gateway then
 * does with the call is measured elsewhere ({@code GovernedRunLoad}).
 *
 * <p>Variants run interleaved — one sample of each, round after round — so that the other work on a
 * shared machine weighs on all of them alike; the 1-minute load average is printed with each
 * round's batch and at the end:
 *
 * <ul>
 *   <li>{@code bwrap /bin/true, host network}: the sandbox alone (start → exit);
 *   <li>{@code bwrap /bin/true, own network}: the sandbox and the relay in front of the worker;
 *   <li>{@code agent …}: the built-in agent, start → first call and start → exit: behind a relay
 *       JVM (as before issue 13 item 6; as an operator's agent still is) or relaying its own
 *       connections ({@code WORKA_GATEWAY_SOCKET}); without an AOT cache (a copy of the agents'
 *       installation in {@code worka-bench/target/agent-start-plain}, cache left out) or with the
 *       one {@code bin/lib/make-agent-start-cache} made; with the default {@code cpu: "1"} (a CFS
 *       quota of one core) and with {@code cpu: "64"} (no quota to speak of here), to show what the
 *       quota costs a JVM's start; {@code traced}: given a sampled {@code TRACEPARENT}, so the
 *       agent exports its spans before its result; {@code before}: with {@code --before DIR}, the
 *       agents of another installation (an earlier build with its AOT cache) side by side;
 *   <li>{@code agent, pool (claimed) …}: the worker pool ({@code WORKA_WORKER_POOL=1}): the agent
 *       was pre-started in its sandbox and warmed up, and the sample is its claim — the token
 *       delivered on its standard input — to its first call. The pool is refilled and left to
 *       settle before and after each such sample, so its refill weighs on no sample.
 * </ul>
 *
 * <pre>
 * worka-bench/agent-start [--samples N] [--warmup N] [--before DIR]
 * </pre>
 */
public final class AgentStartLoad {
  private AgentStartLoad() {}

  /**
   * One way of starting a worker, sampled in every round. {@code traced} gives the worker a sampled
   * {@code TRACEPARENT}, as a Gateway that exports spans does, so the agent exports its spans
   * (loading the OpenTelemetry SDK) before it posts its result; untraced, as with tracing off, it
   * loads and sends nothing.
   */
  record Variant(
      String name,
      ProcessRuntime runtime,
      List<String> command,
      Resources resources,
      boolean pooled,
      boolean traced) {
    Variant(String name, ProcessRuntime runtime, List<String> command, Resources resources) {
      this(name, runtime, command, resources, false, false);
    }
  }

  /** A variant's samples, in microseconds. */
  record Samples(Histogram firstCall, Histogram exit, List<String> failures) {
    Samples() {
      this(new Histogram(3_600_000_000L, 3), new Histogram(3_600_000_000L, 3), new ArrayList<>());
    }
  }

  public static void main(String[] args) throws Exception {
    int samples = 30;
    int warmup = 2;
    Path before = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--samples" -> samples = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        case "--before" -> before = Path.of(args[++i]).toAbsolutePath();
        default ->
            throw new IllegalArgumentException(
                "unknown option " + args[i] + " (use --samples N --warmup N [--before DIR])");
      }
    }
    Path install = Path.of("").toAbsolutePath();
    Path javaHomeFile = install.resolve("worka-agents/target/java-home");
    if (!Files.isRegularFile(install.resolve("worka-agents/target/worka-agents.jar"))) {
      throw new IllegalStateException("run from the repository root after building worka-agents");
    }
    // As bin/worka does: the workers' bin/worka-agent runs the JDK the Gateway runs.
    Files.writeString(javaHomeFile, System.getProperty("java.home") + "\n");

    // The same agents without their AOT cache: a copy of what bin/worka-agent needs, cache left
    // out.
    Path plain = copyWithoutCache(install, install.resolve("worka-bench/target/agent-start-plain"));
    boolean cached =
        Files.isRegularFile(install.resolve("worka-agents/target/worka-agents.aot"))
            && Files.getLastModifiedTime(install.resolve("worka-agents/target/worka-agents.aot"))
                    .compareTo(
                        Files.getLastModifiedTime(
                            install.resolve("worka-agents/target/worka-agents.jar")))
                > 0;
    System.out.println(
        cached
            ? "AOT cache: worka-agents/target/worka-agents.aot"
            : "no AOT cache in worka-agents/target (bin/lib/make-agent-start-cache makes it):"
                + " the 'AOT cache' variants start without one");

    Runtimes here = Runtimes.of(install, true);
    Runtimes hereRelayJvm = Runtimes.of(install, false);
    Runtimes copy = Runtimes.of(plain, true);
    Runtimes copyRelayJvm = Runtimes.of(plain, false);
    System.out.printf(
        Locale.ROOT,
        "isolation: %s; system call filter: %s%nlimits: %s%n",
        here.ownNetwork().isolation(),
        here.ownNetwork().syscallFilter(),
        here.ownNetwork().limits());

    Resources quota = Resources.DEFAULTS;
    Resources noQuota =
        new Resources(
            quota.memoryBytes(), 64_000, quota.pids(), quota.diskBytes(), quota.openFiles());
    List<String> agent = List.of("bin/worka-agent", "ernest");
    List<Variant> variants = new ArrayList<>();
    variants.add(
        new Variant(
            "bwrap /bin/true, host network", here.hostNetwork(), List.of("/bin/true"), quota));
    variants.add(
        new Variant(
            "bwrap /bin/true, own network (relay)",
            here.ownNetwork(),
            List.of("/bin/true"),
            quota));
    variants.add(
        new Variant("agent, relay JVM, no cache, cpu 1", copyRelayJvm.ownNetwork(), agent, quota));
    variants.add(
        new Variant(
            "agent, relay JVM, no cache, cpu 64", copyRelayJvm.ownNetwork(), agent, noQuota));
    variants.add(
        new Variant("agent, relay JVM, AOT cache, cpu 1", hereRelayJvm.ownNetwork(), agent, quota));
    variants.add(new Variant("agent, own relay, no cache, cpu 1", copy.ownNetwork(), agent, quota));
    variants.add(
        new Variant("agent, own relay, AOT cache, cpu 1", here.ownNetwork(), agent, quota));
    variants.add(
        new Variant("agent, own relay, AOT cache, cpu 64", here.ownNetwork(), agent, noQuota));
    variants.add(
        new Variant(
            "agent, own relay, no cache, cpu 1, traced",
            copy.ownNetwork(),
            agent,
            quota,
            false,
            true));
    variants.add(
        new Variant(
            "agent, own relay, AOT cache, cpu 1, traced",
            here.ownNetwork(),
            agent,
            quota,
            false,
            true));
    Runtimes earlier = null;
    if (before != null) {
      // Another installation (an earlier build, its agents' AOT cache made), side by side.
      Files.writeString(
          before.resolve("worka-agents/target/java-home"), System.getProperty("java.home") + "\n");
      earlier = Runtimes.of(before, true);
      variants.add(
          new Variant(
              "before: own relay, AOT cache, cpu 1",
              earlier.ownNetwork(),
              agent,
              quota,
              false,
              false));
    }

    try (StubGateway gateway = StubGateway.open()) {
      // The worker pool (WORKA_WORKER_POOL=1): one runtime per variant, since a launch with other
      // limits retires the pooled processes of the same agent.
      for (Resources resources : List.of(quota, noQuota)) {
        ProcessRuntime runtime = Runtimes.of(install, true).ownNetwork();
        pooledRuntimes.add(runtime);
        if (!runtime.enablePool(1)) {
          System.out.println("the worker pool cannot be used here: its variants are left out");
          break;
        }
        runtime.prime("ernest", agent, resources, gateway.url());
        variants.add(
            new Variant(
                "agent, pool (claimed), AOT cache, cpu " + (resources.equals(quota) ? "1" : "64"),
                runtime,
                agent,
                resources,
                true,
                false));
      }
      Map<Variant, Samples> results = new LinkedHashMap<>();
      variants.forEach(v -> results.put(v, new Samples()));
      List<Double> loads = new ArrayList<>();
      for (int round = -warmup; round < samples; round++) {
        for (Variant v : variants) {
          if (v.pooled()) {
            settle(v, gateway);
          }
          sample(v, gateway, round < 0 ? null : results.get(v));
          if (v.pooled()) {
            settle(v, gateway);
          }
        }
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        if (round >= 0) {
          loads.add(load);
        }
        if (round >= 0 && (round + 1) % 10 == 0) {
          System.out.printf(Locale.ROOT, "  %d rounds, load average %.2f%n", round + 1, load);
        }
      }
      System.out.printf(
          Locale.ROOT,
          "%d rounds (+%d warm-up), interleaved; 1-minute load average min %.2f, median %.2f, max"
              + " %.2f%n",
          samples,
          warmup,
          loads.stream().mapToDouble(Double::doubleValue).min().orElse(0),
          loads.stream().sorted().skip(loads.size() / 2).findFirst().orElse(0.0),
          loads.stream().mapToDouble(Double::doubleValue).max().orElse(0));
      System.out.printf(
          Locale.ROOT,
          "%-44s %27s   %27s%n",
          "variant (ms)",
          "start → first call p50/p95/p99",
          "start → exit p50/p95/p99");
      for (var e : results.entrySet()) {
        Samples s = e.getValue();
        System.out.printf(
            Locale.ROOT,
            "%-44s %27s   %27s%s%n",
            e.getKey().name(),
            percentiles(s.firstCall()),
            percentiles(s.exit()),
            s.failures().isEmpty() ? "" : "   failures: " + s.failures());
      }
    } finally {
      for (Runtimes r : List.of(here, hereRelayJvm, copy, copyRelayJvm)) {
        r.close();
      }
      pooledRuntimes.forEach(ProcessRuntime::close);
      if (earlier != null) {
        earlier.close();
      }
    }
  }

  private static final List<ProcessRuntime> pooledRuntimes = new ArrayList<>();

  /**
   * Before and after a pool variant's sample: waits until its pool holds a process again and lets
   * that process's JVM finish its start and warm-up, so that a refill weighs on no sample — as on a
   * Gateway whose steps do not come back to back.
   */
  private static void settle(Variant v, StubGateway gateway) throws InterruptedException {
    if (!v.runtime().awaitPool("ernest", v.command(), v.resources(), gateway.url(), SETTLE_LIMIT)) {
      throw new IllegalStateException("the pool of '" + v.name() + "' did not refill");
    }
    Thread.sleep(SETTLE);
  }

  private static final java.time.Duration SETTLE_LIMIT = java.time.Duration.ofSeconds(60);
  private static final java.time.Duration SETTLE = java.time.Duration.ofMillis(1500);

  /**
   * The process runtimes of one installation: workers with a network of their own, and not. With
   * {@code builtIn}, {@code bin/worka-agent ernest} is a built-in manifest's command, as in the
   * Gateway (a built-in agent relays its own connections); without, it is started as an operator's
   * agent would be, behind a relay JVM.
   */
  record Runtimes(ProcessRuntime ownNetwork, ProcessRuntime hostNetwork) {
    static Runtimes of(Path install, boolean builtIn) {
      SandboxRequirement requirement =
          SandboxRequirement.of(
              Optional.empty(),
              false,
              builtIn ? List.of(List.of("bin/worka-agent", "ernest")) : List.of());
      return new Runtimes(
          new ProcessRuntime(
              install,
              InstantSource.system(),
              List.of(),
              WorkerNetwork.GATEWAY,
              requirement,
              Optional.empty()),
          new ProcessRuntime(
              install,
              InstantSource.system(),
              List.of(),
              WorkerNetwork.HOST,
              requirement,
              Optional.empty()));
    }

    void close() {
      ownNetwork.close();
      hostNetwork.close();
    }
  }

  /**
   * Copies what {@code bin/worka-agent} needs from {@code install} to {@code copy} (again, each
   * time): the scripts, the agents' jar, its libraries and the recorded JDK; not the AOT cache.
   */
  private static Path copyWithoutCache(Path install, Path copy) throws IOException {
    if (Files.exists(copy)) {
      try (var paths = Files.walk(copy)) {
        for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
    for (String file :
        List.of(
            "bin/worka-agent",
            "bin/lib/jdk.sh",
            "bin/lib/agent-jvm.sh",
            "worka-agents/target/worka-agents.jar",
            "worka-agents/target/java-home")) {
      Path to = copy.resolve(file);
      Files.createDirectories(to.getParent());
      Files.copy(install.resolve(file), to, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
    }
    Path lib = install.resolve("worka-agents/target/lib");
    try (var jars = Files.list(lib)) {
      for (Path jar : jars.toList()) {
        Path to = copy.resolve("worka-agents/target/lib").resolve(jar.getFileName());
        Files.createDirectories(to.getParent());
        Files.copy(jar, to, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    return copy;
  }

  private static void sample(Variant v, StubGateway gateway, Samples into) {
    String token = "bench." + UUID.randomUUID();
    WorkerLaunch launch =
        new WorkerLaunch(
            UUID.randomUUID(),
            UUID.randomUUID(),
            1,
            "ernest",
            RuntimeSpec.process(v.command()),
            v.resources(),
            gateway.url(),
            token,
            v.traced()
                ? "00-" + UUID.randomUUID().toString().replace("-", "") + "-00f067aa0ba902b7-01"
                : null,
            Instant.now().plusSeconds(60));
    long t0 = System.nanoTime();
    AttemptOutcome outcome = v.runtime().start(launch).await();
    long exit = System.nanoTime() - t0;
    Long firstCall = gateway.firstCalls.remove(token);
    if (into == null) {
      return;
    }
    boolean agent = v.command().size() > 1;
    boolean expected =
        outcome instanceof AttemptOutcome.Exited e && e.exitCode() == (agent ? 1 : 0);
    if (!expected || (agent && firstCall == null)) {
      into.failures().add(outcome.toString());
      return;
    }
    into.exit().recordValue(exit / 1000);
    if (firstCall != null) {
      into.firstCall().recordValue((firstCall - t0) / 1000);
    }
  }

  private static String percentiles(Histogram h) {
    if (h.getTotalCount() == 0) {
      return "-";
    }
    return String.format(
        Locale.ROOT,
        "%.1f / %.1f / %.1f",
        h.getValueAtPercentile(50) / 1000.0,
        h.getValueAtPercentile(95) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0);
  }

  /**
   * The Gateway's stand-in: notes when each token's first request arrives and answers every request
   * {@code 401} with a protocol error body, closing the connection.
   */
  static final class StubGateway implements AutoCloseable {
    private static final byte[] ANSWER;

    static {
      String body =
          "{\"error\":{\"code\":\"unauthorized\",\"message\":\"the benchmark's stand-in Gateway\"}}";
      ANSWER =
          ("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.getBytes(StandardCharsets.UTF_8).length
                  + "\r\nConnection: close\r\n\r\n"
                  + body)
              .getBytes(StandardCharsets.UTF_8);
    }

    final Map<String, Long> firstCalls = new ConcurrentHashMap<>();
    private final ServerSocket server;

    private StubGateway(ServerSocket server) {
      this.server = server;
    }

    static StubGateway open() throws IOException {
      ServerSocket server = new ServerSocket();
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
      StubGateway stub = new StubGateway(server);
      Thread.ofPlatform().daemon().name("stub-gateway").start(stub::accept);
      return stub;
    }

    String url() {
      return "http://127.0.0.1:" + server.getLocalPort();
    }

    private void accept() {
      while (!server.isClosed()) {
        Socket s;
        try {
          s = server.accept();
        } catch (IOException e) {
          return;
        }
        Thread.ofVirtual().start(() -> answer(s));
      }
    }

    private void answer(Socket s) {
      try (s) {
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
          int b = in.read();
          if (b < 0) {
            return;
          }
          head.append((char) b);
        }
        long arrived = System.nanoTime();
        String token = null;
        long length = 0;
        for (String line : head.toString().split("\r\n")) {
          int colon = line.indexOf(':');
          if (colon < 0) {
            continue;
          }
          String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
          String value = line.substring(colon + 1).trim();
          if (name.equals("authorization") && value.startsWith("Bearer ")) {
            token = value.substring("Bearer ".length());
          } else if (name.equals("content-length")) {
            length = Long.parseLong(value);
          }
        }
        if (token != null) {
          firstCalls.putIfAbsent(token, arrived);
        }
        in.skipNBytes(length);
        OutputStream out = s.getOutputStream();
        out.write(ANSWER);
        out.flush();
      } catch (IOException | RuntimeException e) {
        // a worker that went away mid-request: nothing to note
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
