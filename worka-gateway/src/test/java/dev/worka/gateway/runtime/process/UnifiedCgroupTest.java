package dev.worka.gateway.runtime.process;

import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.TOKEN;
import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.UNSANDBOXED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.AttemptOutcome.Exited;
import dev.worka.gateway.runtime.AttemptOutcome.LimitReached;
import dev.worka.gateway.runtime.WorkerLaunch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cgroup v2 path of the worker limits ({@link UnifiedCgroup}, issue 13 item 1), against a
 * directory laid out like a delegated cgroup2 mount ({@code cgroup.controllers}, {@code
 * cgroup.subtree_control}, {@code cgroup.procs}, …) and a {@code /proc} copy that points at it.
 *
 * <p>Honestly: no kernel with a usable cgroup v2 was available where this was written (the host
 * mounts cgroup v1 controllers, and a cgroup2 tree offering only {@code hugetlb}), so these tests
 * check what the Gateway writes and reads — the limits, the worker's pid in {@code cgroup.procs},
 * the controllers enabled, the Gateway moved into its leaf, the counters that burn an attempt — not
 * that a kernel enforces them. The kernel's side (that {@code memory.max} OOM-kills, that {@code
 * pids.max} refuses forks) is what {@link WorkerLimitsTest} shows with cgroup v1.
 */
class UnifiedCgroupTest {
  private static final Resources SMALL = new Resources(64L << 20, 500, 32, 256L << 20, 64);
  private static final String ALL = "cpuset cpu io memory hugetlb pids rdma misc";

  /** A fake tree's rmdir: the kernel removes a cgroup's interface files with it, here we do. */
  static final WorkerCgroups.Rmdir FAKE_RMDIR =
      dir -> {
        if (!Files.exists(dir)) {
          return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
          for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      };

  @TempDir Path proc;
  @TempDir Path sysRoot;
  @TempDir Path install;
  @TempDir Path temporaryRoot;

  final long self = ProcessHandle.current().pid();
  Path delegated;

  @BeforeEach
  void tree() throws IOException {
    delegated = sysRoot.resolve("sys/fs/cgroup/system.slice/worka.service");
    Files.createDirectories(delegated);
    Files.writeString(delegated.resolve("cgroup.controllers"), ALL + "\n");
    Files.writeString(delegated.resolve("cgroup.subtree_control"), "");
    Files.writeString(delegated.resolve("cgroup.procs"), self + "\n");
    Files.writeString(delegated.resolve("memory.swap.max"), "max\n");
    Files.createDirectories(proc.resolve("self"));
    mountinfo("rw");
    Files.writeString(proc.resolve("self/cgroup"), "0::/system.slice/worka.service\n");
  }

  void mountinfo(String access) throws IOException {
    Files.writeString(
        proc.resolve("self/mountinfo"),
        "41 31 0:38 / /sys/fs/cgroup "
            + access
            + ",nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n");
  }

  /** Adds a cgroup v1 memory hierarchy to the fake host (a hybrid one, as the build machine). */
  void v1Memory() throws IOException {
    Files.writeString(
        proc.resolve("self/mountinfo"),
        "35 25 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n",
        java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(
        proc.resolve("self/cgroup"),
        "4:memory:/\n0::/system.slice/worka.service\n",
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    Files.createDirectories(sysRoot.resolve("sys/fs/cgroup/memory"));
  }

  WorkerCgroups.Probe probe() {
    return WorkerCgroups.probe(proc, sysRoot, true, FAKE_RMDIR);
  }

  static String read(Path file) throws IOException {
    return Files.readString(file).trim();
  }

  @Test
  void aDelegatedTreeIsPreparedAndSaidToEnforceMemoryPidsAndCpu() throws IOException {
    WorkerCgroups.Probe probe = probe();
    WorkerCgroups cgroups = probe.cgroups().orElseThrow();
    assertEquals(java.util.Set.of("memory", "pids", "cpu"), cgroups.controllers());
    // The Gateway left the delegated cgroup for a leaf (no internal processes), then enabled the
    // controllers down to its own directory.
    assertEquals(Long.toString(self), read(delegated.resolve("gateway/cgroup.procs")));
    Path mine = cgroups.gatewayDirectory("memory");
    assertEquals(delegated.resolve("worka"), mine.getParent());
    for (Path dir : List.of(delegated, delegated.resolve("worka"), mine)) {
      assertEquals("+memory +pids +cpu", read(dir.resolve("cgroup.subtree_control")), dir + "");
    }
    assertTrue(cgroups.swapAccounting(), "memory.swap.max is there");

    // A second runtime of this JVM (now in D/gateway) uses the same D, moving nothing further.
    Files.writeString(proc.resolve("self/cgroup"), "0::/system.slice/worka.service/gateway\n");
    Files.writeString(delegated.resolve("cgroup.procs"), "");
    WorkerCgroups second = probe().cgroups().orElseThrow();
    assertEquals(delegated.resolve("worka"), second.gatewayDirectory("pids").getParent());
    assertFalse(Files.exists(delegated.resolve("gateway/gateway")), "moved again, one deeper");
    second.close();
    String said = WorkerLimits.of(probe, true).describe();
    assertTrue(
        said.startsWith("memory=cgroup v2, cpu=cgroup v2 (cfs quota), pids=cgroup v2, disk=tmpfs"),
        said);
    cgroups.close();
    assertFalse(Files.exists(mine), "the Gateway's directory outlived it");
  }

  ProcessRuntime runtime(WorkerLimits limits) {
    return new ProcessRuntime(
        install,
        InstantSource.system(),
        temporaryRoot,
        Optional.empty(),
        UNSANDBOXED,
        List.of(),
        WorkerNetwork.GATEWAY,
        null,
        limits);
  }

  /** Runs {@code body} as a worker whose {@code $1} is its attempt's cgroup v2 directory. */
  AttemptOutcome run(WorkerCgroups.Probe probe, String body) throws Exception {
    WorkerCgroups cgroups = probe.cgroups().orElseThrow();
    Path script = install.resolve("worker");
    Files.writeString(script, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    UUID step = UUID.randomUUID();
    Path attempt = cgroups.gatewayDirectory("pids").resolve(step + "-1");
    ProcessRuntime runtime = runtime(WorkerLimits.of(probe, true));
    try {
      AttemptOutcome outcome =
          runtime
              .start(
                  new WorkerLaunch(
                      UUID.randomUUID(),
                      step,
                      1,
                      "ernest",
                      RuntimeSpec.process(List.of(script.toString(), attempt.toString())),
                      SMALL,
                      "http://127.0.0.1:8080",
                      TOKEN,
                      null,
                      InstantSource.system().instant().plus(Duration.ofSeconds(60))))
              .await();
      assertFalse(Files.exists(attempt), "the attempt's cgroup is removed after it ended");
      return outcome;
    } finally {
      runtime.close();
    }
  }

  @Test
  void theWorkerRunsInItsCgroupWithItsLimitsFromItsFirstInstruction() throws Exception {
    AttemptOutcome outcome =
        run(
            probe(),
            """
            echo $$
            cd "$1" || exit 9
            for f in cgroup.procs memory.max memory.swap.max pids.max cpu.max; do
              read -r v < "$f"; echo "$v"
            done
            """);
    Exited exited = assertInstanceOf(Exited.class, outcome, outcome.toString());
    assertEquals(0, exited.exitCode(), exited.lastLines().toString());
    List<String> lines = exited.lastLines();
    assertEquals(lines.get(0), lines.get(1), "the launcher wrote the worker's own pid: " + lines);
    assertEquals(
        List.of(Long.toString(64L << 20), "0", "32", "50000 100000"),
        lines.subList(2, lines.size()),
        "64Mi without swap, 32 pids, 500m of a 100 ms period");
  }

  @Test
  void onAHybridHostTheWorkerJoinsItsV2LeafAndItsV1Cgroups() throws Exception {
    Files.writeString(delegated.resolve("cgroup.controllers"), "pids hugetlb\n");
    v1Memory();
    WorkerCgroups.Probe probe = probe();
    WorkerCgroups cgroups = probe.cgroups().orElseThrow();
    assertTrue(cgroups.onV2("pids"));
    assertFalse(cgroups.onV2("memory"));
    assertEquals("+pids", read(delegated.resolve("cgroup.subtree_control")));
    String said = WorkerLimits.of(probe, true).describe();
    assertTrue(said.startsWith("memory=cgroup v1 (swap not accounted here; not cgroup v2:"), said);
    assertTrue(said.contains("pids=cgroup v2, disk="), said);
    assertTrue(said.contains("cpu=not enforced (no cgroup v1 hierarchy with the cpu"), said);
    Path v1 = cgroups.gatewayDirectory("memory");
    assertTrue(v1.startsWith(sysRoot.resolve("sys/fs/cgroup/memory/worka")), v1.toString());
    AttemptOutcome outcome =
        run(
            probe,
            """
            echo $$
            read -r v < "$1/cgroup.procs"; echo "$v"
            read -r v < "$1/pids.max"; echo "$v"
            v1=%s/$(basename "$1")
            read -r v < "$v1/cgroup.procs"; echo "$v"
            read -r v < "$v1/memory.limit_in_bytes"; echo "$v"
            [ -e "$1/memory.max" ] && echo "memory.max in the v2 leaf"
            exit 0
            """
                .formatted(v1));
    Exited exited = assertInstanceOf(Exited.class, outcome, outcome.toString());
    List<String> lines = exited.lastLines();
    String pid = lines.get(0);
    assertEquals(List.of(pid, pid, "32", pid, Long.toString(64L << 20)), lines, "both joined");
    cgroups.close();
  }

  @Test
  void anOomKillInMemoryEventsBurnsTheAttemptNamingMemory() throws Exception {
    AttemptOutcome outcome =
        run(
            probe(),
            "printf 'low 0\\nhigh 0\\nmax 7\\noom 1\\noom_kill 1\\n' > \"$1/memory.events\"\n"
                + "exec sleep 60");
    LimitReached reached = assertInstanceOf(LimitReached.class, outcome, outcome.toString());
    assertEquals("memory", reached.limit());
    assertTrue(reached.detail().contains("more than 64Mi of memory"), reached.detail());
  }

  @Test
  void reclaimAtTheMemoryLimitWithoutAnOomKillIsNoBurn() throws Exception {
    AttemptOutcome outcome =
        run(probe(), "printf 'max 12\\noom 0\\noom_kill 0\\n' > \"$1/memory.events\"; exit 0");
    Exited exited = assertInstanceOf(Exited.class, outcome, outcome.toString());
    assertEquals(0, exited.exitCode());
  }

  @Test
  void aForkRefusedInPidsEventsBurnsTheAttemptNamingPids() throws Exception {
    AttemptOutcome outcome = run(probe(), "echo 'max 3' > \"$1/pids.events\"; exec sleep 60");
    LimitReached reached = assertInstanceOf(LimitReached.class, outcome, outcome.toString());
    assertEquals("pids", reached.limit());
    assertTrue(reached.detail().contains("more than 32 processes and threads"), reached.detail());
  }

  @Test
  void cgroupKillIsWrittenThenEveryProcessLeftIsKilled() throws Exception {
    Path attempt = Files.createDirectories(delegated.resolve("worka/1-1-1/s-1"));
    Files.writeString(attempt.resolve("cgroup.kill"), "");
    Process sleeper = new ProcessBuilder("sleep", "300").start();
    try {
      Files.writeString(attempt.resolve("cgroup.procs"), sleeper.pid() + "\n");
      assertEquals(1, WorkerCgroups.killAll(attempt));
      assertEquals("1", read(attempt.resolve("cgroup.kill")));
      // The fake cgroup.kill kills nothing: the fallback, each pid of cgroup.procs, did.
      assertTrue(sleeper.waitFor(10, TimeUnit.SECONDS), "still running");
    } finally {
      sleeper.destroyForcibly();
    }
  }

  @Test
  void theCgroupsOfAGatewayThatDiedAreEmptiedAndRemovedAtStart() throws Exception {
    WorkerCgroups cgroups = probe().cgroups().orElseThrow();
    Path dead = delegated.resolve("worka/4194999-1-1");
    Path attempt = Files.createDirectories(dead.resolve(UUID.randomUUID() + "-1"));
    Process sleeper = new ProcessBuilder("sleep", "300").start();
    try {
      Files.writeString(attempt.resolve("cgroup.procs"), sleeper.pid() + "\n");
      assertEquals(1, cgroups.removeLeftovers(proc));
      assertTrue(sleeper.waitFor(10, TimeUnit.SECONDS), "still running");
      assertFalse(Files.exists(dead), "the dead Gateway's cgroup is still there");
      assertTrue(Files.isDirectory(cgroups.gatewayDirectory("pids")), "this Gateway's stays");
    } finally {
      sleeper.destroyForcibly();
      cgroups.close();
    }
  }

  /** Nothing was moved nor enabled: the refused tree is as it was. */
  void untouched() throws IOException {
    assertFalse(Files.exists(delegated.resolve("gateway")), "the Gateway moved itself");
    assertFalse(Files.exists(delegated.resolve("worka")), "a subtree was created");
    assertEquals("", read(delegated.resolve("cgroup.subtree_control")));
  }

  @Test
  void aTreeWithoutTheControllersIsRefusedAndV1IsUsedSayingWhy() throws IOException {
    Files.writeString(delegated.resolve("cgroup.controllers"), "hugetlb\n");
    v1Memory();
    WorkerCgroups.Probe probe = probe();
    untouched();
    WorkerCgroups cgroups = probe.cgroups().orElseThrow();
    assertEquals(java.util.Set.of("memory"), cgroups.controllers());
    assertFalse(cgroups.onV2("memory"));
    String said = WorkerLimits.of(probe, true).describe();
    assertTrue(
        said.startsWith(
            "memory=cgroup v1 (swap not accounted here; not cgroup v2: the Gateway's cgroup v2 "
                + delegated
                + " does not offer the memory controller (its cgroup.controllers: hugetlb))"),
        said);
    assertTrue(
        said.contains(
            "pids=not enforced (no cgroup v1 hierarchy with the pids controller; not cgroup v2:"
                + " the Gateway's cgroup v2 "
                + delegated
                + " does not offer the pids controller"),
        said);
    cgroups.close();
  }

  @Test
  void aTreeOfferingNoControllerAtAllChangesNothing() throws IOException {
    Files.writeString(delegated.resolve("cgroup.controllers"), "\n");
    WorkerCgroups.Probe probe = probe();
    untouched();
    assertTrue(probe.cgroups().isEmpty());
    assertTrue(
        probe.notV2().get("cpu").endsWith("(its cgroup.controllers is empty)"),
        probe.notV2().toString());
  }

  @Test
  void aCgroupThatAlsoHoldsOtherProcessesIsNotTakenFromThem() throws IOException {
    Files.writeString(delegated.resolve("cgroup.procs"), "1\n" + self + "\n");
    WorkerCgroups.Probe probe = probe();
    untouched();
    assertTrue(probe.cgroups().isEmpty());
    String said = WorkerLimits.of(probe, true).describe();
    assertTrue(said.contains("also holds other processes ([1])"), said);
    assertTrue(said.contains("cannot enable controllers for its children"), said);
    assertTrue(said.startsWith("memory=rlimit RLIMIT_DATA"), said);
  }

  @Test
  void aReadOnlyOrUndelegatedTreeIsRefused() throws IOException {
    mountinfo("ro");
    WorkerCgroups.Probe probe = probe();
    untouched();
    assertTrue(probe.cgroups().isEmpty());
    assertTrue(
        probe.absent().get("memory").contains("hierarchy at /sys/fs/cgroup is mounted read-only"),
        probe.absent().toString());

    // Delegation makes cgroup.procs and cgroup.subtree_control the Gateway user's; these tests run
    // as root here (to whom every file is writable), so a file that is not there stands for one
    // that is not this user's.
    mountinfo("rw");
    Files.delete(delegated.resolve("cgroup.subtree_control"));
    probe = probe();
    assertTrue(probe.cgroups().isEmpty());
    assertFalse(Files.exists(delegated.resolve("gateway")), "the Gateway moved itself");
    assertTrue(
        probe.absent().get("pids").contains("is not delegated to this user"),
        probe.absent().toString());
    assertTrue(probe.absent().get("pids").contains("Delegate=yes"), probe.absent().toString());
  }

  @Test
  void v2CanBeTurnedOffForTests() {
    WorkerCgroups.Probe probe = WorkerCgroups.probe(proc, sysRoot, false, FAKE_RMDIR);
    assertTrue(probe.cgroups().isEmpty());
    assertFalse(Files.exists(delegated.resolve("gateway")));
  }
}
