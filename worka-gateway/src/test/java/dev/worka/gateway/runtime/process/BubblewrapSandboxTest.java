package dev.worka.gateway.runtime.process;

import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.awaitProcesses;
import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.environmentOf;
import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.gone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.AttemptOutcome.Exited;
import dev.worka.gateway.runtime.AttemptOutcome.Stopped;
import dev.worka.gateway.runtime.AttemptOutcome.TimedOut;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.protocol.AgentEnvironment;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers in a real bubblewrap sandbox: what they can no longer see (WORKA_HOME, other attempts'
 * directories, the Gateway's process), what they still can (their own directory, the Gateway on
 * loopback), and that deadlines and stops still kill everything they started. Skipped where {@code
 * bwrap} is missing or does not work; {@code .ci/run} installs it, so CI runs these.
 */
class BubblewrapSandboxTest {
  static final String TOKEN = ProcessRuntimeTest.TOKEN;

  @TempDir Path install;
  @TempDir Path temporaryRoot;
  @TempDir Path outside;

  final InstantSource clock = InstantSource.system();
  final UUID runId = UUID.randomUUID();
  final UUID stepId = UUID.randomUUID();
  Isolation.Bubblewrap bubblewrap;

  @BeforeEach
  void needsBubblewrap() {
    Isolation isolation = Isolation.detected();
    assumeTrue(
        isolation instanceof Isolation.Bubblewrap,
        () ->
            "the bubblewrap sandbox is not tested here, because bubblewrap is unavailable: "
                + isolation.describe()
                + ". Install it (apt-get install bubblewrap; .ci/run does) to run these tests.");
    bubblewrap = (Isolation.Bubblewrap) isolation;
  }

  @AfterEach
  void noWorkerDirectoryLeftBehind() throws Exception {
    if (bubblewrap == null) {
      return;
    }
    try (var left = Files.list(temporaryRoot)) {
      assertEquals(List.of(), left.toList(), "worker directories left behind");
    }
  }

  ProcessRuntime runtime(Path... hidden) {
    Optional<Path> setsid =
        List.of(Path.of("/usr/bin/setsid"), Path.of("/bin/setsid")).stream()
            .filter(Files::isExecutable)
            .findFirst();
    return new ProcessRuntime(install, clock, temporaryRoot, setsid, bubblewrap, List.of(hidden));
  }

  WorkerLaunch launch(List<String> command, Duration timeout) {
    return launch(command, timeout, "http://127.0.0.1:8080");
  }

  WorkerLaunch launch(List<String> command, Duration timeout, String gatewayUrl) {
    return new WorkerLaunch(
        runId,
        stepId,
        1,
        "ernest",
        command,
        gatewayUrl,
        TOKEN,
        ProcessRuntimeTest.TRACEPARENT,
        clock.instant().plus(timeout));
  }

  Path script(String name, String interpreter, String body) throws Exception {
    Path file = install.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, "#!" + interpreter + "\n" + body + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  Path script(String name, String body) throws Exception {
    return script(name, "/bin/sh", body);
  }

  Exited run(ProcessRuntime runtime, List<String> command) {
    AttemptOutcome outcome = runtime.start(launch(command, Duration.ofSeconds(60))).await();
    return assertInstanceOf(Exited.class, outcome, () -> outcome.toString());
  }

  static String text(AttemptOutcome outcome) {
    return switch (outcome) {
      case Exited e -> String.join("\n", e.lastLines());
      case TimedOut t -> String.join("\n", t.lastLines());
      case Stopped s -> String.join("\n", s.lastLines());
      case AttemptOutcome.LimitReached r -> String.join("\n", r.lastLines());
      case AttemptOutcome.FailedToStart f -> f.reason();
    };
  }

  @Test
  void reportsItsIsolation() {
    assertEquals("bubblewrap", runtime().isolation());
    assertTrue(runtime().toString().contains("isolation=bubblewrap"), runtime().toString());
  }

  @Test
  void environmentIsExactlyTheAgentProtocolVariables() throws Exception {
    Exited exited = run(runtime(), List.of("/usr/bin/env"));

    assertEquals(0, exited.exitCode(), text(exited));
    Map<String, String> env = environmentOf(exited.lastLines());
    assertEquals(
        Set.of(
            AgentEnvironment.GATEWAY_URL,
            AgentEnvironment.TOKEN_FILE,
            AgentEnvironment.RUN_ID,
            AgentEnvironment.STEP_ID,
            AgentEnvironment.AGENT,
            AgentEnvironment.TRACEPARENT),
        env.keySet());
    assertEquals(runId.toString(), env.get(AgentEnvironment.RUN_ID));
    assertEquals(ProcessRuntimeTest.TRACEPARENT, env.get(AgentEnvironment.TRACEPARENT));
    assertTrue(Path.of(env.get(AgentEnvironment.TOKEN_FILE)).startsWith(temporaryRoot));
  }

  @Test
  void theOwnDirectoryAndTokenAreUsableAndEverythingElseIsReadOnly() throws Exception {
    String marker = "worka-sandbox-" + UUID.randomUUID();
    Files.writeString(install.resolve("visible.txt"), "installation file");
    script(
        "bin/agent",
        """
        echo "token=$(cat "$WORKA_TOKEN_FILE" | tr -cd . | wc -c) dots"
        echo mine > ./mine && echo "work=writable"
        (echo x > %1$s/visible.txt) 2>/dev/null || echo "install=read-only"
        cat %1$s/visible.txt; echo
        touch /usr/%2$s 2>/dev/null || echo "usr=read-only"
        touch /%2$s 2>/dev/null || echo "root=read-only"
        echo t > /tmp/%2$s && echo "tmp=writable"
        """
            .formatted(install, marker));

    Exited exited = run(runtime(), List.of("bin/agent"));

    assertEquals(
        List.of(
            "token=2 dots",
            "work=writable",
            "install=read-only",
            "installation file",
            "usr=read-only",
            "root=read-only",
            "tmp=writable"),
        exited.lastLines());
    assertFalse(Files.exists(Path.of("/tmp", marker)), "the worker's /tmp is its own");
    assertEquals("installation file", Files.readString(install.resolve("visible.txt")));
  }

  @Test
  void aHiddenWorkaHomeInsideTheInstallationCannotBeRead() throws Exception {
    Path home = install.resolve("home");
    Files.createDirectories(home.resolve("keys"));
    Files.writeString(home.resolve("keys/gateway-signing.jwk"), "{\"d\": \"FAKE-SIGNING-KEY\"}");
    Files.writeString(home.resolve("operator-token"), "FAKE-OPERATOR-TOKEN");
    Path postgres = Files.createDirectories(home.resolve("postgres"));
    Files.writeString(postgres.resolve("postmaster.opts"), "FAKE-PG-OPTS");
    Path secretFile = install.resolve("secret.env");
    Files.writeString(secretFile, "FAKE-SECRET-FILE");
    script(
        "bin/agent",
        """
        cat %1$s/keys/gateway-signing.jwk %1$s/operator-token %1$s/postgres/postmaster.opts
        echo "entries=$(ls -A %1$s | wc -l)"
        cat %2$s
        echo "end"
        """
            .formatted(home, secretFile));

    Exited exited = run(runtime(home, secretFile), List.of("bin/agent"));

    String out = text(exited);
    assertFalse(out.contains("FAKE-"), out);
    assertTrue(exited.lastLines().contains("entries=0"), out);
    assertTrue(exited.lastLines().contains("end"), out);
    // Without hiding, the same worker reads it all: the test would catch a mask that did nothing.
    String unhidden = text(run(runtime(), List.of("bin/agent")));
    assertTrue(unhidden.contains("FAKE-SIGNING-KEY"), unhidden);
    assertTrue(unhidden.contains("FAKE-SECRET-FILE"), unhidden);
  }

  @Test
  void argumentPathsInsideAHiddenPathAreNotBound() throws Exception {
    Path home = Files.createDirectories(outside.resolve("home"));
    Path key = home.resolve("gateway-signing.jwk");
    Files.writeString(key, "FAKE-SIGNING-KEY");
    Path data = outside.resolve("data.txt");
    Files.writeString(data, "argument data");
    script("bin/agent", "cat \"${1#--key=}\" \"$2\"; echo; echo end");

    Exited exited = run(runtime(home), List.of("bin/agent", "--key=" + key, data.toString()));

    String out = text(exited);
    assertFalse(out.contains("FAKE-SIGNING-KEY"), out);
    assertTrue(out.contains("argument data"), out);
  }

  @Test
  void argumentFilesAreBoundAloneAndReadOnly() throws Exception {
    Path a = Files.writeString(outside.resolve("a.jar"), "content of a");
    Path b = Files.writeString(outside.resolve("b.jar"), "content of b");
    Files.writeString(outside.resolve("c.txt"), "content of c");
    script(
        "bin/agent",
        """
        IFS=:
        for f in $2; do cat "$f"; echo; done
        cat %1$s/c.txt 2>/dev/null || echo "sibling=invisible"
        (echo x >> %1$s/a.jar) 2>/dev/null || echo "argument=read-only"
        """
            .formatted(outside));

    Exited exited = run(runtime(), List.of("bin/agent", "-cp", a + File.pathSeparator + b));

    assertEquals(
        List.of("content of a", "content of b", "sibling=invisible", "argument=read-only"),
        exited.lastLines());
    assertEquals("content of a", Files.readString(a));
  }

  @Test
  void otherAttemptsDirectoriesAndTheHostTmpAreInvisible() throws Exception {
    Path other = Files.createDirectories(temporaryRoot.resolve("worka-step-other"));
    Files.writeString(other.resolve("token"), "OTHER-STEPS-TOKEN");
    Path hostTmp = Files.createTempFile("worka-sandbox-test-", ".txt");
    try {
      Files.writeString(hostTmp, "HOST-TMP-FILE");
      script(
          "bin/agent",
          """
          echo "listing=$(ls -A %1$s | tr '\\n' ' ')"
          cat %2$s/token "$1" %3$s
          echo "end"
          """
              .formatted(temporaryRoot, other, hostTmp));

      Exited exited = run(runtime(), List.of("bin/agent", other.resolve("token").toString()));

      String out = text(exited);
      assertFalse(out.contains("OTHER-STEPS-TOKEN"), out);
      assertFalse(out.contains("HOST-TMP-FILE"), out);
      String listing =
          exited.lastLines().stream()
              .filter(l -> l.startsWith("listing="))
              .findFirst()
              .orElseThrow()
              .substring("listing=".length())
              .trim();
      assertTrue(listing.startsWith("worka-step-") && !listing.contains(" "), out);
      assertFalse(listing.contains("worka-step-other"), out);
      assertTrue(exited.lastLines().contains("end"), out);
    } finally {
      Files.deleteIfExists(hostTmp);
      Files.deleteIfExists(other.resolve("token"));
      Files.deleteIfExists(other);
    }
  }

  @Test
  void workDirectoriesInsideTheInstallationShowOnlyTheOwnOne() throws Exception {
    Path workRoot = Files.createDirectories(install.resolve("tmp"));
    Path other = Files.createDirectories(workRoot.resolve("worka-step-other"));
    Files.writeString(other.resolve("token"), "OTHER-STEPS-TOKEN");
    script(
        "bin/agent",
        """
        echo "listing=$(ls -A %1$s | wc -l)"
        cat %2$s/token
        echo mine > ./mine && echo "work=writable"
        """
            .formatted(workRoot, other));
    ProcessRuntime runtime =
        new ProcessRuntime(install, clock, workRoot, Optional.empty(), bubblewrap, List.of());

    Exited exited = run(runtime, List.of("bin/agent"));

    String out = text(exited);
    assertFalse(out.contains("OTHER-STEPS-TOKEN"), out);
    assertTrue(exited.lastLines().contains("listing=1"), out);
    assertTrue(exited.lastLines().contains("work=writable"), out);
    try (var left = Files.list(workRoot)) {
      assertEquals(List.of(other), left.toList(), "the own directory is deleted");
    }
  }

  @Test
  void theGatewayProcessAndItsEnvironmentAreInvisible() throws Exception {
    long gateway = ProcessHandle.current().pid();
    String path = System.getenv("PATH");
    script(
        "bin/agent",
        """
        cat /proc/%1$d/environ 2>/dev/null && echo "LEAKED environ"
        cat /proc/%1$d/cmdline 2>/dev/null && echo "LEAKED cmdline"
        echo "pids=$(ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' ')"
        echo "self=$$"
        cat /proc/1/environ | tr '\\0' '\\n'
        """
            .formatted(gateway));

    Exited exited = run(runtime(), List.of("bin/agent"));

    String out = text(exited);
    assertFalse(out.contains("LEAKED"), out);
    assertFalse(path != null && out.contains(path), "the Gateway's PATH is visible: " + out);
    List<Long> pids =
        Arrays.stream(
                exited.lastLines().stream()
                    .filter(l -> l.startsWith("pids="))
                    .findFirst()
                    .orElseThrow()
                    .substring("pids=".length())
                    .trim()
                    .split(" "))
            .map(Long::parseLong)
            .toList();
    // bubblewrap's reaper (1), the relay to the Gateway (2, when the worker has no network of its
    // own), the script and the commands of its pipeline.
    assertTrue(pids.size() <= 8, "only the sandbox's own processes: " + pids);
    assertTrue(pids.stream().allMatch(p -> p < 100), "namespace-local pids: " + pids);
    assertFalse(gateway >= 100 && pids.contains(gateway), out);
    assertFalse(exited.lastLines().contains("self=1"), "pid 1 is bubblewrap's reaper: " + out);
  }

  @Test
  void theGatewayIsReachableAndNothingElseOnLoopbackOrBeyond() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "/bin/bash is needed for /dev/tcp");
    String answer = "pong-" + UUID.randomUUID();
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer gateway = server("/v1/agent/heartbeat", answer, seen);
    List<String> elsewhere = new CopyOnWriteArrayList<>();
    HttpServer other = server("/", "other", elsewhere);
    try {
      script(
          "bin/agent",
          "/bin/bash",
          """
          # The Gateway, by the URL the worker was given, twice (keep-alive is not needed).
          for i in 1 2; do
            exec 3<>/dev/tcp/127.0.0.1/$1 || exit 9
            printf 'POST /v1/agent/heartbeat HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\nContent-Length: 0\\r\\n\\r\\n' >&3
            cat <&3
            echo
            exec 3<&-
          done
          # Another service on the host's loopback, and an address beyond the host.
          (exec 4<>/dev/tcp/127.0.0.1/$2) 2>/dev/null && echo "REACHED loopback $2" || echo "refused loopback"
          (exec 5<>/dev/tcp/192.0.2.1/80) 2>/dev/null && echo "REACHED 192.0.2.1" || echo "no route"
          """);
      int port = gateway.getAddress().getPort();
      AttemptOutcome outcome =
          runtime()
              .start(
                  launch(
                      List.of(
                          "bin/agent",
                          Integer.toString(port),
                          Integer.toString(other.getAddress().getPort())),
                      Duration.ofSeconds(60),
                      "http://127.0.0.1:" + port))
              .await();
      Exited exited = assertInstanceOf(Exited.class, outcome, () -> outcome.toString());

      assertEquals(0, exited.exitCode(), text(exited));
      assertEquals(2, exited.lastLines().stream().filter(answer::equals).count(), text(exited));
      assertEquals(List.of("POST /v1/agent/heartbeat", "POST /v1/agent/heartbeat"), seen);
      if (bubblewrap.ownNetwork()) {
        assertTrue(exited.lastLines().contains("refused loopback"), text(exited));
        assertTrue(exited.lastLines().contains("no route"), text(exited));
        assertEquals(List.of(), elsewhere, "the other loopback service saw nothing");
      }
    } finally {
      gateway.stop(0);
      other.stop(0);
    }
  }

  @Test
  void aBuiltInAgentGetsTheSocketInsteadOfARelayInFrontAndOthersKeepTheRelay() throws Exception {
    assumeTrue(bubblewrap.ownNetwork(), "bubblewrap cannot unshare the network here");
    String report =
        """
        echo "socket=${WORKA_GATEWAY_SOCKET:-none}"
        [ -S "${WORKA_GATEWAY_SOCKET:-/nonexistent}" ] && echo "socket is a socket"
        for f in /proc/[0-9]*/cmdline; do
          tr '\\0' ' ' < "$f" 2>/dev/null | grep -q "Gateway[R]elay" && echo "relay JVM running"
        done
        echo done
        """;
    script("bin/builtin", report);
    script("bin/other", report);
    ProcessRuntime runtime =
        new ProcessRuntime(
            install,
            clock,
            temporaryRoot,
            Optional.empty(),
            bubblewrap,
            List.of(),
            WorkerNetwork.GATEWAY,
            SandboxRequirement.of(Optional.empty(), false, List.of(List.of("bin/builtin"))));
    try {
      Exited builtIn = run(runtime, List.of("bin/builtin"));
      assertEquals(0, builtIn.exitCode(), text(builtIn));
      assertTrue(builtIn.lastLines().contains("socket is a socket"), text(builtIn));
      assertFalse(builtIn.lastLines().contains("relay JVM running"), text(builtIn));
      assertTrue(builtIn.lastLines().contains("done"), text(builtIn));

      // An operator's agent is not trusted to relay: the relay JVM runs in front of it.
      Exited other = run(runtime, List.of("bin/other"));
      assertEquals(0, other.exitCode(), text(other));
      assertTrue(other.lastLines().contains("socket=none"), text(other));
      assertTrue(other.lastLines().contains("relay JVM running"), text(other));
    } finally {
      runtime.close();
    }
  }

  @Test
  void withTheHostNetworkTheWorkerReachesOtherLoopbackServicesToo() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "/bin/bash is needed for /dev/tcp");
    List<String> elsewhere = new CopyOnWriteArrayList<>();
    HttpServer other = server("/", "other", elsewhere);
    try {
      script(
          "bin/agent",
          "/bin/bash",
          """
          (exec 4<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && echo "reached loopback" || echo "refused loopback"
          """);
      ProcessRuntime hostNetwork =
          new ProcessRuntime(
              install,
              clock,
              temporaryRoot,
              Optional.empty(),
              bubblewrap,
              List.of(),
              WorkerNetwork.HOST);
      Exited exited =
          run(hostNetwork, List.of("bin/agent", Integer.toString(other.getAddress().getPort())));
      assertTrue(exited.lastLines().contains("reached loopback"), text(exited));
    } finally {
      other.stop(0);
    }
  }

  private static HttpServer server(String path, String answer, List<String> seen)
      throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        path,
        exchange -> {
          seen.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
          byte[] body = answer.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    return server;
  }

  @Test
  void aJvmFromOutsideTheSystemDirectoriesRuns() throws Exception {
    // The test's own JDK and class path, named only by the command: both must be bound.
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classPath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(e -> e.contains("test-classes"))
            .collect(Collectors.joining(File.pathSeparator));
    assumeTrue(!classPath.isEmpty(), "no test-classes directory on the class path");

    Exited exited =
        run(
            runtime(),
            List.of(
                java,
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-Xshare:auto",
                "-cp",
                classPath,
                SandboxProbe.class.getName(),
                Long.toString(ProcessHandle.current().pid())));

    assertEquals(0, exited.exitCode(), text(exited));
    assertTrue(exited.lastLines().contains("probe ran"), text(exited));
    assertTrue(exited.lastLines().contains("gateway process invisible"), text(exited));
  }

  @Test
  void exitCodeAndOutputPassThroughTheSandbox() throws Exception {
    script("bin/agent", "echo one; echo two >&2; exit 7");

    Exited exited = run(runtime(), List.of("bin/agent"));

    assertEquals(7, exited.exitCode());
    assertEquals(List.of("one", "two"), exited.lastLines());
  }

  @Test
  void aDeadlineKillsTheWholeSandboxedTreeIncludingOrphans() throws Exception {
    script(
        "bin/agent",
        """
        /bin/sleep 1000 &
        /bin/sh -c '/bin/sleep 1000 > /dev/null 2>&1 &'
        echo ready
        /bin/sleep 1000
        """);
    WorkerHandle handle = runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(3)));
    List<ProcessHandle> tree = runningTree(handle, 3);

    AttemptOutcome outcome = handle.await();

    TimedOut timedOut = assertInstanceOf(TimedOut.class, outcome);
    assertTrue(timedOut.lastLines().contains("ready"), text(timedOut));
    for (ProcessHandle process : tree) {
      awaitProcesses("process " + process.pid() + " is gone").until(() -> gone(process.pid()));
    }
    assertTrue(gone(handle.pid()));
  }

  @Test
  void stopKillsTheWholeSandboxedTree() throws Exception {
    script("bin/agent", "/bin/sleep 1000 &\n/bin/sleep 1000");
    WorkerHandle handle = runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(60)));
    List<ProcessHandle> tree = runningTree(handle, 2);

    handle.stop("run cancelled by operator");

    Stopped stopped = assertInstanceOf(Stopped.class, handle.await());
    assertEquals("run cancelled by operator", stopped.reason());
    for (ProcessHandle process : tree) {
      awaitProcesses("process " + process.pid() + " is gone").until(() -> gone(process.pid()));
    }
  }

  /** The host's view of the worker's processes, once {@code sleeps} sleeps run in it. */
  private static List<ProcessHandle> runningTree(WorkerHandle handle, int sleeps) {
    ProcessHandle root = ProcessHandle.of(handle.pid()).orElseThrow();
    awaitProcesses(sleeps + " sleeps run in the sandbox")
        .until(
            () ->
                root.descendants()
                        .filter(h -> h.info().command().orElse("").endsWith("sleep"))
                        .count()
                    >= sleeps);
    List<ProcessHandle> tree = root.descendants().toList();
    assertTrue(tree.size() >= sleeps + 1, tree.toString());
    return tree;
  }
}
