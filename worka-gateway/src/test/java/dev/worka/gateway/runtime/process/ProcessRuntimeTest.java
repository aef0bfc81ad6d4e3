package dev.worka.gateway.runtime.process;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.AttemptOutcome.Exited;
import dev.worka.gateway.runtime.AttemptOutcome.FailedToStart;
import dev.worka.gateway.runtime.AttemptOutcome.Stopped;
import dev.worka.gateway.runtime.AttemptOutcome.TimedOut;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.protocol.AgentEnvironment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process runtime without a sandbox (the fallback when bubblewrap is missing), and what holds
 * in both modes. The sandbox itself is {@link BubblewrapSandboxTest}.
 */
class ProcessRuntimeTest {
  static final Isolation UNSANDBOXED = new Isolation.None("unsandboxed on purpose in this test");

  static final String TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJlcm5lc3QifQ.c2lnbmF0dXJl";
  static final String TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

  @TempDir Path install;
  @TempDir Path temporaryRoot;

  final InstantSource clock = InstantSource.system();
  final UUID runId = UUID.randomUUID();
  final UUID stepId = UUID.randomUUID();

  ProcessRuntime runtime() {
    return new ProcessRuntime(
        install, clock, temporaryRoot, Optional.empty(), UNSANDBOXED, List.of());
  }

  ProcessRuntime runtimeWithSessions() {
    Optional<Path> setsid =
        List.of(Path.of("/usr/bin/setsid"), Path.of("/bin/setsid")).stream()
            .filter(Files::isExecutable)
            .findFirst();
    assumeTrue(setsid.isPresent(), "setsid is not installed");
    return new ProcessRuntime(install, clock, temporaryRoot, setsid, UNSANDBOXED, List.of());
  }

  WorkerLaunch launch(List<String> command, Duration timeout, String traceparent) {
    return new WorkerLaunch(
        runId,
        stepId,
        1,
        "ernest",
        command,
        "http://127.0.0.1:8080",
        TOKEN,
        traceparent,
        clock.instant().plus(timeout));
  }

  WorkerLaunch launch(List<String> command, Duration timeout) {
    return launch(command, timeout, TRACEPARENT);
  }

  Path script(String name, String body) throws Exception {
    Path file = install.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  static Map<String, String> environmentOf(List<String> lines) {
    return lines.stream()
        .filter(line -> line.contains("="))
        .collect(
            Collectors.toMap(
                line -> line.substring(0, line.indexOf('=')),
                line -> line.substring(line.indexOf('=') + 1)));
  }

  /**
   * Waiting for processes to appear or be gone: bounded polling (every 5 ms, up to 10 s), not a
   * sleep on a guess.
   */
  static ConditionFactory awaitProcesses(String what) {
    return await(what).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5));
  }

  /**
   * Whether {@code pid} no longer runs. A killed orphan stays a zombie until init reaps it (this
   * container's init does so only every couple of seconds); a zombie runs nothing.
   */
  static boolean gone(long pid) {
    if (ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true)) {
      return true;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return stat.substring(stat.lastIndexOf(')') + 1).trim().startsWith("Z");
    } catch (java.io.IOException e) {
      return true;
    }
  }

  static long pidAfter(String prefix, List<String> lines) {
    return lines.stream()
        .filter(line -> line.startsWith(prefix))
        .map(line -> Long.parseLong(line.substring(prefix.length()).trim()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no '" + prefix + "' line in " + lines));
  }

  @AfterEach
  void noWorkerDirectoryLeftBehind() throws Exception {
    try (var left = Files.list(temporaryRoot)) {
      assertEquals(List.of(), left.toList(), "worker directories left behind");
    }
  }

  @Test
  void environmentIsExactlyTheAgentProtocolVariables() throws Exception {
    AttemptOutcome outcome =
        runtime().start(launch(List.of("/usr/bin/env"), Duration.ofSeconds(30))).await();

    Exited exited = assertInstanceOf(Exited.class, outcome);
    assertEquals(0, exited.exitCode());
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
    assertEquals("http://127.0.0.1:8080", env.get(AgentEnvironment.GATEWAY_URL));
    assertEquals(runId.toString(), env.get(AgentEnvironment.RUN_ID));
    assertEquals(stepId.toString(), env.get(AgentEnvironment.STEP_ID));
    assertEquals("ernest", env.get(AgentEnvironment.AGENT));
    assertEquals(TRACEPARENT, env.get(AgentEnvironment.TRACEPARENT));
    assertTrue(AgentEnvironment.ALL.containsAll(env.keySet()));
    assertFalse(env.containsKey(AgentEnvironment.TOKEN), "the token goes in a file, not the env");
    assertFalse(String.join("\n", exited.lastLines()).contains(TOKEN));

    Path tokenFile = Path.of(env.get(AgentEnvironment.TOKEN_FILE));
    assertTrue(tokenFile.getParent().startsWith(temporaryRoot), tokenFile.toString());
    assertFalse(Files.exists(tokenFile.getParent()), "the worker directory is deleted");
  }

  @Test
  void withoutTraceContextThereIsNoTraceparent() throws Exception {
    AttemptOutcome outcome =
        runtime().start(launch(List.of("/usr/bin/env"), Duration.ofSeconds(30), null)).await();

    Map<String, String> env = environmentOf(assertInstanceOf(Exited.class, outcome).lastLines());
    assertEquals(
        Set.of(
            AgentEnvironment.GATEWAY_URL,
            AgentEnvironment.TOKEN_FILE,
            AgentEnvironment.RUN_ID,
            AgentEnvironment.STEP_ID,
            AgentEnvironment.AGENT),
        env.keySet());
  }

  @Test
  void shellScriptSeesNothingOfTheGatewayEnvironment() throws Exception {
    assertNotEquals(null, System.getenv("PATH"), "the test JVM itself has a PATH");
    script("bin/agent", "/usr/bin/env; echo \"cwd=$(pwd)\"");

    AttemptOutcome outcome =
        runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(30))).await();

    Exited exited = assertInstanceOf(Exited.class, outcome);
    Map<String, String> env = environmentOf(exited.lastLines());
    // dash exports PWD itself; nothing else may appear that the runtime did not set.
    Set<String> names = new java.util.TreeSet<>(env.keySet());
    names.removeAll(Set.of("PWD", "cwd"));
    assertEquals(
        new java.util.TreeSet<>(
            Set.of(
                AgentEnvironment.GATEWAY_URL,
                AgentEnvironment.TOKEN_FILE,
                AgentEnvironment.RUN_ID,
                AgentEnvironment.STEP_ID,
                AgentEnvironment.AGENT,
                AgentEnvironment.TRACEPARENT)),
        names);
    for (String leak : List.of("PATH", "HOME", "USER", "JAVA_HOME", "MAVEN_OPTS", "LANG")) {
      assertFalse(env.containsKey(leak), leak + " leaked into the worker");
    }
    Path workDir = Path.of(env.get("cwd"));
    assertEquals(workDir, Path.of(env.get(AgentEnvironment.TOKEN_FILE)).getParent());
    assertTrue(workDir.getFileName().toString().startsWith("worka-step-"));
    assertFalse(Files.exists(workDir));
  }

  @Test
  void tokenFileIsOwnerOnlyAndHoldsTheToken() throws Exception {
    script(
        "bin/agent",
        """
        echo "dir=$(stat -c %a .)"
        echo "mode=$(stat -c %a "$WORKA_TOKEN_FILE")"
        echo "sha=$(sha256sum "$WORKA_TOKEN_FILE" | cut -d ' ' -f 1)"
        cat "$WORKA_TOKEN_FILE"; echo
        """);

    AttemptOutcome outcome =
        runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(30))).await();

    Exited exited = assertInstanceOf(Exited.class, outcome);
    Map<String, String> lines = environmentOf(exited.lastLines());
    assertEquals("700", lines.get("dir"));
    assertEquals("600", lines.get("mode"));
    String expected =
        HexFormat.of()
            .formatHex(
                MessageDigest.getInstance("SHA-256")
                    .digest(TOKEN.getBytes(StandardCharsets.US_ASCII)));
    assertEquals(expected, lines.get("sha"));
    // A worker printing its token does not get it into logs or burn rows.
    assertTrue(exited.lastLines().contains("<token>"), exited.lastLines().toString());
    assertFalse(String.join("\n", exited.lastLines()).contains(TOKEN));
  }

  @Test
  void exitCodeAndLastLinesOfStdoutAndStderrAreCaptured() throws Exception {
    script("bin/agent", "echo one; echo two >&2; printf 'no newline at the end'; exit 3");

    AttemptOutcome outcome =
        runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(30))).await();

    Exited exited = assertInstanceOf(Exited.class, outcome);
    assertEquals(3, exited.exitCode());
    assertEquals(List.of("one", "two", "no newline at the end"), exited.lastLines());
    assertFalse(exited.ran().isNegative());
  }

  @Test
  void argumentsArePassedAndRelativeCommandsResolveAgainstTheInstallation() throws Exception {
    script("bin/agent", "echo \"args=$1|$2\"");

    AttemptOutcome outcome =
        runtime()
            .start(launch(List.of("bin/agent", "ernest", "two words"), Duration.ofSeconds(30)))
            .await();

    assertEquals(
        List.of("args=ernest|two words"), assertInstanceOf(Exited.class, outcome).lastLines());
  }

  @Test
  void outputIsBoundedToTheLastFortyShortLines() throws Exception {
    script(
        "bin/agent",
        """
        i=0
        while [ $i -lt 10000 ]; do echo "line $i"; i=$((i+1)); done
        /usr/bin/head -c 1000000 /dev/zero | /usr/bin/tr '\\0' 'x'
        echo
        echo last
        """);

    AttemptOutcome outcome =
        runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(60))).await();

    List<String> lines = assertInstanceOf(Exited.class, outcome).lastLines();
    assertEquals(OutputTail.MAX_LINES, lines.size());
    assertEquals("line 9962", lines.get(0));
    assertEquals("line 9999", lines.get(37));
    assertEquals(OutputTail.MAX_LINE_CHARS, lines.get(38).length());
    assertTrue(lines.get(38).endsWith("…"));
    assertEquals("last", lines.get(39));
  }

  @Test
  void deadlineKillsTheWholeTreeIncludingABackgroundGrandchild() throws Exception {
    script(
        "bin/agent",
        """
        /bin/sleep 1000 &
        echo "grandchild $!"
        echo "worker $$"
        /bin/sleep 1000
        """);
    WorkerHandle handle = runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(2)));

    AttemptOutcome outcome = handle.await();

    TimedOut timedOut = assertInstanceOf(TimedOut.class, outcome);
    long grandchild = pidAfter("grandchild ", timedOut.lastLines());
    assertEquals(handle.pid(), pidAfter("worker ", timedOut.lastLines()));
    awaitProcesses("the grandchild is gone").until(() -> gone(grandchild));
    assertTrue(gone(handle.pid()));
    assertTrue(timedOut.ran().compareTo(Duration.ofSeconds(1)) > 0, timedOut.ran().toString());
    assertEquals(outcome, handle.await(), "await is idempotent");
  }

  @Test
  void inItsOwnSessionEvenOrphansAreKilledAtTheDeadline() throws Exception {
    script(
        "bin/agent",
        """
        /bin/sh -c '/bin/sleep 1000 & echo "orphan $!"'
        echo "worker $$"
        /bin/sleep 1000
        """);
    WorkerHandle handle =
        runtimeWithSessions().start(launch(List.of("bin/agent"), Duration.ofSeconds(2)));

    TimedOut timedOut = assertInstanceOf(TimedOut.class, handle.await());

    long orphan = pidAfter("orphan ", timedOut.lastLines());
    assertEquals(handle.pid(), pidAfter("worker ", timedOut.lastLines()), "setsid did not fork");
    awaitProcesses("the orphan is gone").until(() -> gone(orphan));
    assertTrue(gone(handle.pid()));
  }

  @Test
  void workersLeftByAGatewayThatStoppedAreKilledByTheNextOneWithAllTheyStarted(
      @TempDir Path records) throws Exception {
    script(
        "bin/agent",
        """
        /bin/sh -c '/bin/sleep 1000 & echo "orphan $!"'
        echo "worker $$"
        /bin/sleep 1000
        """);
    ProcessRuntime dead = runtimeWithSessions();
    assertEquals(0, dead.killWorkersLeftIn(records));
    WorkerHandle handle = dead.start(launch(List.of("bin/agent"), Duration.ofSeconds(60)));
    ProcessHandle worker = ProcessHandle.of(handle.pid()).orElseThrow();
    long session = handle.pid();
    awaitProcesses("the worker and its detached child run")
        .until(
            () ->
                ProcessHandle.allProcesses()
                        .filter(
                            h -> h.pid() != session && ProcessTree.sessionOf(h.pid()) == session)
                        .count()
                    >= 2);
    List<ProcessHandle> started =
        ProcessHandle.allProcesses()
            .filter(h -> h.pid() == session || ProcessTree.sessionOf(h.pid()) == session)
            .toList();
    assertEquals(1, entries(records), "the running worker is recorded");
    assertEquals(1, entries(temporaryRoot), "its work directory");

    // The Gateway that started it is gone without ending it; the next one starts on the same home.
    int killed = runtimeWithSessions().killWorkersLeftIn(records);

    assertEquals(1, killed);
    for (ProcessHandle p : started) {
      awaitProcesses("process " + p.pid() + " is gone").until(() -> gone(p.pid()));
    }
    assertTrue(!worker.isAlive() || gone(worker.pid()));
    assertEquals(0, entries(records), "its record is removed");
    assertEquals(0, entries(temporaryRoot), "its work directory is removed");
  }

  @Test
  void aRecordWhosePidNowNamesAnotherProcessKillsNothing(@TempDir Path records) throws Exception {
    long self = ProcessHandle.current().pid();
    Files.writeString(
        records.resolve(self + ".worker"),
        "{\"pid\": "
            + self
            + ", \"started\": \"2001-01-01T00:00:00Z\","
            + " \"run_id\": \"r\", \"step_id\": \"s\", \"attempt\": 1}");
    assertEquals(
        0, runtime().killWorkersLeftIn(records), "the pid was reused: not the recorded worker");
    assertEquals(0, entries(records));
  }

  @Test
  void aWorkerThatEndsRemovesItsRecord(@TempDir Path records) throws Exception {
    script("bin/agent", "echo done");
    ProcessRuntime runtime = runtime();
    runtime.killWorkersLeftIn(records);
    assertInstanceOf(
        Exited.class, runtime.start(launch(List.of("bin/agent"), Duration.ofSeconds(30))).await());
    assertEquals(0, entries(records));
  }

  @Test
  void leftoversOfACleanExitAreKilledToo() throws Exception {
    script(
        "bin/agent",
        """
        /bin/sleep 1000 > /dev/null 2>&1 &
        echo "grandchild $!"
        exit 0
        """);
    WorkerHandle handle =
        runtimeWithSessions().start(launch(List.of("bin/agent"), Duration.ofSeconds(30)));

    Exited exited = assertInstanceOf(Exited.class, handle.await());

    assertEquals(0, exited.exitCode());
    long grandchild = pidAfter("grandchild ", exited.lastLines());
    awaitProcesses("the grandchild is gone").until(() -> gone(grandchild));
  }

  @Test
  void stopKillsTheTreeAndIsReportedAsStopped() throws Exception {
    script("bin/agent", "/bin/sleep 1000 &\n/bin/sleep 1000");
    WorkerHandle handle = runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(60)));
    ProcessHandle worker = ProcessHandle.of(handle.pid()).orElseThrow();
    awaitProcesses("both sleeps run").until(() -> worker.descendants().count() >= 2);
    List<ProcessHandle> children = worker.descendants().toList();

    handle.stop("run cancelled by operator");
    AttemptOutcome outcome = handle.await();

    Stopped stopped = assertInstanceOf(Stopped.class, outcome);
    assertEquals("run cancelled by operator", stopped.reason());
    assertTrue(stopped.ran().compareTo(Duration.ofSeconds(30)) < 0);
    for (ProcessHandle child : children) {
      awaitProcesses("child " + child.pid() + " is gone").until(() -> gone(child.pid()));
    }
    assertTrue(gone(handle.pid()));
    handle.stop("again"); // no-op
    assertEquals(outcome, handle.await());
  }

  @Test
  void stopFromAnotherThreadEndsAnAwait() throws Exception {
    script("bin/agent", "/bin/sleep 1000");
    WorkerHandle handle = runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(60)));
    Thread stopper =
        Thread.ofVirtual()
            .start(
                () -> {
                  ProcessHandle worker = ProcessHandle.of(handle.pid()).orElseThrow();
                  awaitProcesses("the sleep runs").until(() -> worker.descendants().count() >= 1);
                  handle.stop("gateway shutting down");
                });

    AttemptOutcome outcome = handle.await();
    stopper.join();

    assertEquals("gateway shutting down", assertInstanceOf(Stopped.class, outcome).reason());
  }

  @Test
  void stopAfterTheEndChangesNothing() throws Exception {
    script("bin/agent", "exit 0");
    WorkerHandle handle = runtime().start(launch(List.of("bin/agent"), Duration.ofSeconds(30)));
    AttemptOutcome outcome = handle.await();
    handle.stop("too late");
    assertEquals(outcome, handle.await());
    assertInstanceOf(Exited.class, outcome);
  }

  @Test
  void missingOrNonExecutableCommandFailsToStart() throws Exception {
    FailedToStart missing =
        assertInstanceOf(
            FailedToStart.class,
            runtime().start(launch(List.of("bin/nope"), Duration.ofSeconds(30))).await());
    assertTrue(missing.reason().contains(install.resolve("bin/nope").toString()), missing.reason());
    assertTrue(missing.reason().contains("does not exist"), missing.reason());

    Path plain = install.resolve("bin/plain");
    Files.createDirectories(plain.getParent());
    Files.writeString(plain, "#!/bin/sh\n");
    FailedToStart notExecutable =
        assertInstanceOf(
            FailedToStart.class,
            runtime().start(launch(List.of(plain.toString()), Duration.ofSeconds(30))).await());
    assertTrue(notExecutable.reason().contains("not an executable"), notExecutable.reason());

    FailedToStart directory =
        assertInstanceOf(
            FailedToStart.class,
            runtime().start(launch(List.of("bin"), Duration.ofSeconds(30))).await());
    assertTrue(directory.reason().contains("not an executable"), directory.reason());

    WorkerHandle handle =
        runtime().start(launch(List.of("/nonexistent/agent"), Duration.ofSeconds(5)));
    assertEquals(-1, handle.pid());
    handle.stop("nothing to stop");
    assertInstanceOf(FailedToStart.class, handle.await());
  }

  @Test
  void aDeadlineInThePastFailsToStart() throws Exception {
    script("bin/agent", "exit 0");
    WorkerLaunch late =
        new WorkerLaunch(
            runId,
            stepId,
            2,
            "ernest",
            List.of("bin/agent"),
            "http://127.0.0.1:8080",
            TOKEN,
            null,
            Instant.parse("2020-01-01T00:00:00Z"));

    FailedToStart failed = assertInstanceOf(FailedToStart.class, runtime().start(late).await());
    assertTrue(failed.reason().contains("deadline"), failed.reason());
  }

  @Test
  void launchNeverPrintsItsToken() {
    String text = launch(List.of("bin/agent"), Duration.ofSeconds(1)).toString();
    assertFalse(text.contains(TOKEN));
    assertTrue(text.contains("<redacted>"));
  }

  @Test
  void aWorkerThatMustBeSandboxedAndCannotBeLeavesNothingBehind() throws Exception {
    Path ran = install.resolve("ran");
    script("bin/worka-agent", "touch " + ran);
    script("bin/other", "touch " + ran);
    Path workRoot = Files.createDirectory(install.resolve("work"));
    ProcessRuntime runtime =
        new ProcessRuntime(
            install,
            clock,
            workRoot,
            Optional.empty(),
            UNSANDBOXED,
            List.of(),
            WorkerNetwork.GATEWAY,
            SandboxRequirement.of(
                Optional.empty(), false, List.of(List.of("bin/worka-agent", "hari"))));
    // The built-in command with other arguments is another program: an operator's.
    for (List<String> command :
        List.of(
            List.of("bin/other", "hari"),
            List.of("bin/worka-agent", "hari", "--debug"),
            List.of(install.resolve("bin/other").toString()))) {
      FailedToStart refused =
          assertInstanceOf(
              FailedToStart.class, runtime.start(launch(command, Duration.ofSeconds(30))).await());
      assertTrue(refused.reason().contains("install bubblewrap"), refused.reason());
    }
    assertFalse(Files.exists(ran), "a refused worker ran");
    assertEquals(0, entries(workRoot), "a refused worker left a directory or token file");
    // The built-in manifest's own argv, however written, may run unconfined in dry-run.
    List<String> builtIn = List.of(install.resolve("bin/../bin/worka-agent").toString(), "hari");
    assertInstanceOf(Exited.class, runtime.start(launch(builtIn, Duration.ofSeconds(30))).await());
    assertTrue(Files.exists(ran));
  }

  @Test
  void publicConstructorFindsItsOwnWay() throws Exception {
    script("bin/agent", "echo ok");
    ProcessRuntime runtime = new ProcessRuntime(install, clock);
    assertEquals(Isolation.detected().describe(), runtime.isolation());
    AttemptOutcome outcome =
        runtime.start(launch(List.of("bin/agent"), Duration.ofSeconds(30))).await();
    assertEquals(List.of("ok"), assertInstanceOf(Exited.class, outcome).lastLines());
  }

  /** How many entries {@code dir} holds (the listing closed after counting). */
  private static long entries(Path dir) throws IOException {
    try (Stream<Path> listing = Files.list(dir)) {
      return listing.count();
    }
  }
}
