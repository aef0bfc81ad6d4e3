package dev.worka.gateway.runtime.process;

import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.awaitProcesses;
import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.gone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.AttemptOutcome.Exited;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker pool ({@code WORKA_WORKER_POOL}) through the real runtime and a real sandbox: a
 * pre-started process runs with its limits and without a token until one attempt claims it; each is
 * used by exactly one attempt, which alone receives its token; a changed launch (new limits) is
 * never served by a process started for the old one; the waiting processes of a Gateway that died
 * are killed by the next. The "agent" is a shell script declared built-in that waits for its claim
 * line on stdin, as {@code bin/worka-agent} does with {@code WORKA_CLAIM=stdin}.
 */
class WorkerPoolTest {
  static final String URL = "http://127.0.0.1:8080";
  static final List<String> COMMAND = List.of("bin/builtin");

  @TempDir Path install;
  @TempDir Path temporaryRoot;
  @TempDir Path records;

  final InstantSource clock = InstantSource.system();
  final List<ProcessRuntime> runtimes = new ArrayList<>();
  Isolation.Bubblewrap bubblewrap;

  @BeforeEach
  void needsTheWholeSandbox() throws Exception {
    Isolation isolation = Isolation.detected();
    assumeTrue(
        isolation instanceof Isolation.Bubblewrap b && b.ownNetwork() && b.seccomp(),
        () -> "the pool needs bubblewrap with seccomp and a network of the worker's own here");
    bubblewrap = (Isolation.Bubblewrap) isolation;
    Path script = install.resolve("bin/builtin");
    Files.createDirectories(script.getParent());
    Files.writeString(
        script,
        """
        #!/bin/sh
        echo "before claim: token=${WORKA_TOKEN:-none} file=${WORKA_TOKEN_FILE:-none}\
         run=${WORKA_RUN_ID:-none} claim=${WORKA_CLAIM:-none} nofile=$(ulimit -n)"
        read -r claim || { echo "no claim"; exit 3; }
        echo "claimed: $claim"
        read -r more && echo "a second line: $more"
        echo done
        """);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterEach
  void closeAndLeaveNothing() throws Exception {
    runtimes.forEach(ProcessRuntime::close);
    if (bubblewrap == null) {
      return;
    }
    try (var left = Files.list(temporaryRoot)) {
      assertEquals(List.of(), left.toList(), "worker directories left behind");
    }
  }

  ProcessRuntime runtime(int size) {
    return runtime(size, clock);
  }

  ProcessRuntime runtime(int size, InstantSource clock) {
    ProcessRuntime runtime =
        new ProcessRuntime(
            install,
            clock,
            temporaryRoot,
            Optional.empty(),
            bubblewrap,
            List.of(),
            WorkerNetwork.GATEWAY,
            SandboxRequirement.of(Optional.empty(), false, List.of(COMMAND)),
            WorkerLimits.probe());
    runtimes.add(runtime);
    assertTrue(runtime.enablePool(size));
    return runtime;
  }

  static WorkerLaunch launch(UUID runId, String token, Resources resources) {
    return new WorkerLaunch(
        runId,
        UUID.randomUUID(),
        1,
        "ernest",
        RuntimeSpec.process(COMMAND),
        resources,
        URL,
        token,
        null,
        InstantSource.system().instant().plusSeconds(60));
  }

  WorkerPool.Key key(ProcessRuntime runtime, Resources resources) {
    return runtime.poolKey(launch(UUID.randomUUID(), "x", resources)).orElseThrow();
  }

  static String text(AttemptOutcome outcome) {
    return outcome instanceof Exited e ? String.join("\n", e.lastLines()) : outcome.toString();
  }

  @Test
  void eachWaitingProcessServesOneAttemptWhichAloneReceivesItsToken() throws Exception {
    ProcessRuntime runtime = runtime(2);
    runtime.prime("ernest", COMMAND, Resources.DEFAULTS, URL);
    WorkerPool.Key key = key(runtime, Resources.DEFAULTS);
    assertTrue(runtime.pool().awaitReady(key, 2, Duration.ofSeconds(30)));
    List<Long> waiting = runtime.pool().waiting(key);

    UUID runA = UUID.randomUUID();
    UUID runB = UUID.randomUUID();
    WorkerHandle a = runtime.start(launch(runA, "token.of.a", Resources.DEFAULTS));
    WorkerHandle b = runtime.start(launch(runB, "token.of.b", Resources.DEFAULTS));
    assertTrue(waiting.contains(a.pid()), "A ran in a pre-started process");
    assertTrue(waiting.contains(b.pid()), "B ran in a pre-started process");
    assertNotEquals(a.pid(), b.pid(), "two attempts, two processes");
    assertEquals(2, runtime.pooledStarts());

    for (var attempt : List.of(List.of(a, runA, runB), List.of(b, runB, runA))) {
      AttemptOutcome outcome = ((WorkerHandle) attempt.get(0)).await();
      Exited exited = assertInstanceOf(Exited.class, outcome, outcome::toString);
      assertEquals(0, exited.exitCode(), text(exited));
      String said = text(exited);
      // Before its claim: no token, no token file, no step; its limits already in force.
      assertTrue(said.contains("before claim: token=none file=none run=none claim=stdin"), said);
      if (runtime.limits().contains("open_files=rlimit")) {
        assertTrue(said.contains("nofile=" + Resources.DEFAULTS.openFiles()), said);
      }
      // Its own attempt, and only its own; the pipe closed after the one line.
      assertTrue(said.contains("claimed: {") && said.contains(attempt.get(1).toString()), said);
      assertFalse(said.contains(attempt.get(2).toString()), said);
      assertFalse(said.contains("a second line"), said);
      assertTrue(said.contains("done"), said);
    }

    // Never returned: the pool refills with other processes.
    assertTrue(runtime.pool().awaitReady(key, 2, Duration.ofSeconds(30)));
    List<Long> refilled = runtime.pool().waiting(key);
    assertFalse(refilled.contains(a.pid()) || refilled.contains(b.pid()), refilled.toString());
  }

  @Test
  void aLaunchWithOtherLimitsIsNeverServedByProcessesStartedWithTheOldOnes() throws Exception {
    ProcessRuntime runtime = runtime(1);
    runtime.prime("ernest", COMMAND, Resources.DEFAULTS, URL);
    WorkerPool.Key old = key(runtime, Resources.DEFAULTS);
    assertTrue(runtime.pool().awaitReady(old, 1, Duration.ofSeconds(30)));
    List<Long> stale = runtime.pool().waiting(old);

    Resources tighter =
        new Resources(
            Resources.DEFAULTS.memoryBytes() / 2,
            Resources.DEFAULTS.cpuMillis(),
            Resources.DEFAULTS.pids(),
            Resources.DEFAULTS.diskBytes(),
            Resources.DEFAULTS.openFiles() / 2);
    WorkerHandle started = runtime.start(launch(UUID.randomUUID(), "token.new", tighter));
    assertFalse(stale.contains(started.pid()), "the stale process was handed out");
    assertEquals(0, runtime.pooledStarts());
    Exited exited = assertInstanceOf(Exited.class, started.await());
    assertEquals(3, exited.exitCode(), "started cold, as without a pool: " + text(exited));
    awaitProcesses("the stale process retired").until(() -> stale.stream().allMatch(p -> gone(p)));

    // The pool now serves the new limits, with them in force.
    WorkerPool.Key now = key(runtime, tighter);
    assertTrue(runtime.pool().awaitReady(now, 1, Duration.ofSeconds(30)));
    WorkerHandle pooled = runtime.start(launch(UUID.randomUUID(), "token.newer", tighter));
    assertEquals(1, runtime.pooledStarts());
    String said = text(pooled.await());
    if (runtime.limits().contains("open_files=rlimit")) {
      assertTrue(said.contains("nofile=" + tighter.openFiles()), said);
    }
  }

  @Test
  void theWaitingProcessesOfAGatewayThatDiedAreKilledByTheNext() throws Exception {
    ProcessRuntime dead = runtime(1);
    dead.killWorkersLeftIn(records);
    dead.prime("ernest", COMMAND, Resources.DEFAULTS, URL);
    WorkerPool.Key key = key(dead, Resources.DEFAULTS);
    assertTrue(dead.pool().awaitReady(key, 1, Duration.ofSeconds(30)));
    long pid = dead.pool().waiting(key).getFirst();
    try (var recorded = Files.list(records)) {
      assertEquals(
          List.of(pid + ".worker"), recorded.map(p -> p.getFileName().toString()).toList());
    }
    // A Gateway killed while it was starting one leaves a pending record: its directory goes too.
    Path half = Files.createDirectory(temporaryRoot.resolve("worka-half-started"));
    new WorkerRecords(records).pending("pool-x", half);

    // The next Gateway, on the same home, before the first one could clean up (it was "killed").
    ProcessRuntime next =
        new ProcessRuntime(install, clock, temporaryRoot, Optional.empty(), bubblewrap, List.of());
    runtimes.add(next);
    assertEquals(1, next.killWorkersLeftIn(records));
    assertTrue(gone(pid), "the pre-started process was killed");
    assertFalse(Files.exists(half));
    try (var recorded = Files.list(records)) {
      assertEquals(List.of(), recorded.toList());
    }
  }

  @Test
  void aProcessLeftUnclaimedTooLongIsRetiredAndReplaced() throws Exception {
    java.util.concurrent.atomic.AtomicReference<java.time.Instant> now =
        new java.util.concurrent.atomic.AtomicReference<>(clock.instant());
    ProcessRuntime runtime = runtime(1, now::get);
    runtime.prime("ernest", COMMAND, Resources.DEFAULTS, URL);
    WorkerPool.Key key = key(runtime, Resources.DEFAULTS);
    assertTrue(runtime.pool().awaitReady(key, 1, Duration.ofSeconds(30)));
    long old = runtime.pool().waiting(key).getFirst();

    runtime.pool().retireIdle();
    assertEquals(List.of(old), runtime.pool().waiting(key), "not yet too old");

    now.set(now.get().plus(WorkerPool.MAX_IDLE).plusSeconds(1));
    runtime.pool().retireIdle();
    awaitProcesses("the idle process retired").until(() -> gone(old));
    assertTrue(runtime.pool().awaitReady(key, 1, Duration.ofSeconds(30)));
    assertFalse(runtime.pool().waiting(key).contains(old));
  }
}
