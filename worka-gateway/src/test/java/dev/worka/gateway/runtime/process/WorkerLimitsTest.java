package dev.worka.gateway.runtime.process;

import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.TOKEN;
import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.UNSANDBOXED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.AttemptOutcome.Exited;
import dev.worka.gateway.runtime.AttemptOutcome.LimitReached;
import dev.worka.gateway.runtime.WorkerLaunch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker's resource limits, enforced by a cgroup v1 per step attempt (issue 13 item 1), with real
 * hostile workers: a fork bomb, a memory hog. The attacker: an agent's program (or whatever it was
 * tricked into running) that tries to take the host's processes or memory from the Gateway and its
 * database, which share its user. Skipped only where this host has no writable cgroup v1 hierarchy
 * for the memory and pids controllers.
 */
class WorkerLimitsTest {
  private static final Resources SMALL = new Resources(64L << 20, 500, 32, 256L << 20, 64);

  @TempDir Path install;
  @TempDir Path temporaryRoot;

  final InstantSource clock = InstantSource.system();
  WorkerLimits limits;
  ProcessRuntime runtime;

  @BeforeEach
  void runtime() {
    limits = WorkerLimits.probe();
    assumeTrue(
        limits
            .cgroups()
            .map(c -> c.controllers().containsAll(List.of("memory", "pids")))
            .orElse(false),
        "no writable cgroup v1 memory and pids hierarchies here: " + limits.describe());
    Optional<Path> setsid =
        List.of(Path.of("/usr/bin/setsid"), Path.of("/bin/setsid")).stream()
            .filter(Files::isExecutable)
            .findFirst();
    runtime =
        new ProcessRuntime(
            install,
            clock,
            temporaryRoot,
            setsid,
            UNSANDBOXED,
            List.of(),
            WorkerNetwork.GATEWAY,
            null,
            limits);
  }

  @AfterEach
  void nothingLeftBehind() throws Exception {
    if (runtime == null) {
      return;
    }
    for (String controller : limits.cgroups().orElseThrow().controllers()) {
      Path mine = limits.cgroups().orElseThrow().gatewayDirectory(controller);
      try (var left = Files.list(mine)) {
        assertEquals(
            List.of(),
            left.filter(Files::isDirectory).toList(),
            "attempt cgroups left behind in " + mine);
      }
    }
    runtime.close();
    for (String controller : limits.cgroups().orElseThrow().controllers()) {
      assertFalse(
          Files.exists(limits.cgroups().orElseThrow().gatewayDirectory(controller)),
          "the runtime's cgroup directory outlived it");
    }
  }

  WorkerLaunch launch(Path program, Resources resources) {
    return new WorkerLaunch(
        UUID.randomUUID(),
        UUID.randomUUID(),
        1,
        "ernest",
        RuntimeSpec.process(List.of(program.toString())),
        resources,
        "http://127.0.0.1:8080",
        TOKEN,
        null,
        clock.instant().plus(Duration.ofSeconds(60)));
  }

  Path script(String name, String body) throws Exception {
    Path file = install.resolve(name);
    Files.writeString(file, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  @Test
  void theStartLineSaysWhatEnforcesEachLimit() {
    String said = limits.describe();
    assertTrue(said.startsWith("memory=cgroup v1"), said);
    assertTrue(said.contains("pids=cgroup v1"), said);
    assertTrue(said.contains("open_files=rlimit RLIMIT_NOFILE"), said);
    assertFalse(limits.unenforced().contains("memory"), said);
    assertFalse(limits.unenforced().contains("pids"), said);
  }

  @Test
  void aForkBombIsStoppedAtItsPidsLimitLongBeforeItsDeadline() throws Exception {
    Path bomb = script("bomb", "echo bombing; b() { b & b & wait; }; b");
    AttemptOutcome outcome = runtime.start(launch(bomb, SMALL)).await();
    LimitReached reached = assertInstanceOf(LimitReached.class, outcome, outcome.toString());
    assertEquals("pids", reached.limit());
    assertTrue(reached.detail().contains("more than 32 processes and threads"), reached.detail());
    assertTrue(reached.ran().compareTo(Duration.ofSeconds(60)) < 0, reached.ran().toString());
  }

  @Test
  void aMemoryHogIsKilledAtItsMemoryLimitAndSaidSo() throws Exception {
    // Doubles a shell variable until the kernel's OOM killer ends it inside its cgroup.
    Path hog = script("hog", "echo hogging; x=0123456789; while :; do x=$x$x; done");
    AttemptOutcome outcome = runtime.start(launch(hog, SMALL)).await();
    LimitReached reached = assertInstanceOf(LimitReached.class, outcome, outcome.toString());
    assertEquals("memory", reached.limit());
    assertTrue(reached.detail().contains("more than 64Mi of memory"), reached.detail());
  }

  @Test
  void openFilesAndTheCpuQuotaAreSetBeforeTheWorkerRuns() throws Exception {
    Path show =
        script(
            "show",
            """
            ulimit -n
            ulimit -Hn
            p=$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' /proc/self/cgroup | cut -d: -f3)
            for d in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct; do
              [ -f "$d$p/cpu.cfs_quota_us" ] && cat "$d$p/cpu.cfs_quota_us"
            done
            p=$(grep -E '^[0-9]+:pids:' /proc/self/cgroup | cut -d: -f3)
            cat /sys/fs/cgroup/pids$p/pids.max
            """);
    AttemptOutcome outcome = runtime.start(launch(show, SMALL)).await();
    Exited exited = assertInstanceOf(Exited.class, outcome, outcome.toString());
    assertEquals(0, exited.exitCode(), exited.lastLines().toString());
    List<String> lines = exited.lastLines();
    assertEquals("64", lines.get(0), lines.toString());
    assertEquals("64", lines.get(1), "the hard limit too: the worker cannot raise it");
    if (limits.cgroups().orElseThrow().controllers().contains("cpu")) {
      assertTrue(lines.contains("50000"), "500m of a 100 ms period: " + lines);
    }
    assertEquals("32", lines.get(lines.size() - 1), lines.toString());
  }

  @Test
  void aWorkerWithinItsLimitsEndsAsItWouldWithout() throws Exception {
    Path fine = script("fine", "echo fine; exit 3");
    AttemptOutcome outcome = runtime.start(launch(fine, SMALL)).await();
    Exited exited = assertInstanceOf(Exited.class, outcome, outcome.toString());
    assertEquals(3, exited.exitCode());
  }

  @Test
  void theCgroupsOfAGatewayThatDiedAreEmptiedAndRemovedAtStart() throws Exception {
    WorkerCgroups cgroups = limits.cgroups().orElseThrow();
    // A dead Gateway's directory (a pid that cannot exist) holding a worker that still runs.
    Path mine = cgroups.gatewayDirectory("pids");
    Path deadGateway = mine.resolveSibling("4194999-1-1");
    Path attempt = deadGateway.resolve(UUID.randomUUID() + "-1");
    Files.createDirectories(attempt);
    Process sleeper = new ProcessBuilder("sleep", "300").start();
    try {
      Files.writeString(attempt.resolve("cgroup.procs"), Long.toString(sleeper.pid()));
      assertEquals(1, cgroups.removeLeftovers(Path.of("/proc")));
      assertTrue(sleeper.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), "still running");
      assertFalse(Files.exists(deadGateway), "the dead Gateway's cgroup is still there");
      assertTrue(Files.isDirectory(mine), "this Gateway's own cgroup must stay");
    } finally {
      sleeper.destroyForcibly();
    }
  }
}
