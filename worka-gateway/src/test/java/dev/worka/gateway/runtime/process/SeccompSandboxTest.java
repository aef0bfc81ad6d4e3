package dev.worka.gateway.runtime.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.AttemptOutcome.Exited;
import dev.worka.gateway.runtime.AttemptOutcome.FailedToStart;
import dev.worka.gateway.runtime.WorkerLaunch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seccomp filter in a real kernel, through bubblewrap: a hostile worker ({@code
 * HostileSyscalls.java}, a JVM calling libc's {@code syscall}) gets {@code EPERM} for each denied
 * call, {@code ENOSYS} for {@code clone3}, is killed for an x32 call or one through the i386 entry,
 * and still runs what it may; the same worker in the same sandbox without the filter gets the
 * kernel's own answers, so the filter is what refuses. A host without a table for its architecture
 * refuses a worker that must be sandboxed. Skipped where {@code bwrap} is missing or does not work
 * ({@code .ci/run} installs it).
 */
class SeccompSandboxTest {
  @TempDir Path install;
  @TempDir Path temporaryRoot;

  final InstantSource clock = InstantSource.system();
  Isolation.Bubblewrap bubblewrap;
  Path hostile;

  @BeforeEach
  void needsBubblewrap() throws IOException {
    Isolation isolation = Isolation.detected();
    assumeTrue(
        isolation instanceof Isolation.Bubblewrap,
        () ->
            "the seccomp filter is not tested here, because bubblewrap is unavailable: "
                + isolation.describe()
                + ". Install it (apt-get install bubblewrap; .ci/run does) to run these tests.");
    bubblewrap = (Isolation.Bubblewrap) isolation;
    hostile = copyHostileWorker(install);
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

  /** Copies the hostile worker's source into {@code directory}; returns its path. */
  static Path copyHostileWorker(Path directory) throws IOException {
    Path file = directory.resolve("HostileSyscalls.java");
    try (InputStream in = SeccompSandboxTest.class.getResourceAsStream("HostileSyscalls.java")) {
      Files.copy(in, file);
    }
    return file;
  }

  /** The argv that runs the hostile worker with this JDK's launcher. */
  static List<String> hostileCommand(Path source, String... options) {
    List<String> command =
        new java.util.ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED",
                source.toString()));
    command.addAll(List.of(options));
    return command;
  }

  /** Each "name errno=N" / "name returned=N" line, by name. */
  static Map<String, String> results(List<String> lines) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : lines) {
      int at = line.lastIndexOf(' ');
      if (at > 0 && (line.contains(" errno=") || line.contains(" returned="))) {
        out.put(line.substring(0, at), line.substring(at + 1));
      }
    }
    return out;
  }

  ProcessRuntime runtime(Isolation isolation, SandboxRequirement sandbox) {
    return new ProcessRuntime(
        install,
        clock,
        temporaryRoot,
        List.of(Path.of("/usr/bin/setsid"), Path.of("/bin/setsid")).stream()
            .filter(Files::isExecutable)
            .findFirst(),
        isolation,
        List.of(),
        WorkerNetwork.GATEWAY,
        sandbox);
  }

  AttemptOutcome run(ProcessRuntime runtime, List<String> command) {
    return runtime
        .start(
            new WorkerLaunch(
                UUID.randomUUID(),
                UUID.randomUUID(),
                1,
                "ernest",
                command,
                "http://127.0.0.1:8080",
                ProcessRuntimeTest.TOKEN,
                null,
                clock.instant().plus(Duration.ofSeconds(60))))
        .await();
  }

  @Test
  void theDeniedCallsGetEpermAndTheRestStillWorks() {
    assumeTrue(
        bubblewrap.seccomp(), () -> "no seccomp filter here: " + bubblewrap.withoutSeccomp());
    AttemptOutcome outcome = run(runtime(bubblewrap, null), hostileCommand(hostile));

    Exited exited = assertInstanceOf(Exited.class, outcome, outcome::toString);
    Map<String, String> got = results(exited.lastLines());
    String all = String.join("\n", exited.lastLines());
    assertEquals(3, exited.exitCode(), all);
    assertTrue(got.get("getpid").startsWith("returned="), all);
    for (String denied :
        List.of(
            "ptrace",
            "keyctl",
            "bpf",
            "perf_event_open",
            "io_uring_setup",
            "mount",
            "unshare",
            "setns",
            "init_module",
            "clone",
            "personality")) {
      assertEquals("errno=1", got.get(denied), denied + " (EPERM) in\n" + all);
    }
    assertEquals("errno=38", got.get("clone3"), "clone3 (ENOSYS) in\n" + all);
    assertTrue(exited.lastLines().contains("filter fd closed"), all);
    assertTrue(exited.lastLines().contains("done"), all);
  }

  @Test
  void withoutTheFilterTheSameCallsGetTheKernelsAnswers() {
    // The control: the same sandbox, no filter. The calls whose answer does not depend on the
    // host's settings differ, so the EPERM above is the filter's.
    Isolation.Bubblewrap unfiltered =
        new Isolation.Bubblewrap(
            bubblewrap.executable(),
            bubblewrap.disableUserns(),
            bubblewrap.ownNetwork(),
            Optional.of("the control of this test"));
    AttemptOutcome outcome = run(runtime(unfiltered, null), hostileCommand(hostile, "control"));

    Exited exited = assertInstanceOf(Exited.class, outcome, outcome::toString);
    Map<String, String> got = results(exited.lastLines());
    String all = String.join("\n", exited.lastLines());
    assertEquals("errno=22", got.get("clone"), "clone(CLONE_NEWUSER|CLONE_FS): EINVAL\n" + all);
    assertEquals("errno=22", got.get("clone3"), "clone3 without arguments: EINVAL\n" + all);
    assertEquals("returned=0", got.get("personality"), all);
    assertFalse(all.contains("x32"), all);
  }

  @Test
  void anX32CallKillsTheWorker() {
    assumeTrue(
        bubblewrap.seccomp(), () -> "no seccomp filter here: " + bubblewrap.withoutSeccomp());
    assumeTrue(
        List.of("amd64", "x86_64").contains(System.getProperty("os.arch")), "x32 is x86_64's");
    AttemptOutcome outcome = run(runtime(bubblewrap, null), hostileCommand(hostile, "x32"));

    Exited exited = assertInstanceOf(Exited.class, outcome, outcome::toString);
    String all = String.join("\n", exited.lastLines());
    assertTrue(exited.lastLines().contains("x32 getpid next"), all);
    assertFalse(all.contains("x32 getpid errno") || all.contains("x32 getpid returned"), all);
    assertFalse(exited.lastLines().contains("done"), all);
    assertTrue(exited.exitCode() != 0 && exited.exitCode() != 3, all);
  }

  @Test
  void aCallThroughTheI386EntryKillsTheWorker() {
    assumeTrue(
        bubblewrap.seccomp(), () -> "no seccomp filter here: " + bubblewrap.withoutSeccomp());
    assumeTrue(
        List.of("amd64", "x86_64").contains(System.getProperty("os.arch")), "i386 is x86_64's");
    // The control first: without the filter, int 0x80 works in the sandbox on this kernel.
    Isolation.Bubblewrap unfiltered =
        new Isolation.Bubblewrap(
            bubblewrap.executable(),
            bubblewrap.disableUserns(),
            bubblewrap.ownNetwork(),
            Optional.of("the control of this test"));
    Exited control =
        assertInstanceOf(
            Exited.class,
            run(runtime(unfiltered, null), hostileCommand(hostile, "control", "i386")));
    assumeTrue(
        results(control.lastLines()).getOrDefault("i386 getpid", "").startsWith("returned="),
        () -> "this kernel has no i386 entry (IA32 emulation): " + control.lastLines());

    AttemptOutcome outcome = run(runtime(bubblewrap, null), hostileCommand(hostile, "i386"));

    Exited exited = assertInstanceOf(Exited.class, outcome, outcome::toString);
    String all = String.join("\n", exited.lastLines());
    assertTrue(exited.lastLines().contains("i386 getpid next"), all);
    assertFalse(all.contains("i386 getpid returned"), all);
    assertFalse(exited.lastLines().contains("done"), all);
    assertTrue(exited.exitCode() != 0 && exited.exitCode() != 3, all);
  }

  @Test
  void aWorkerThatMustBeSandboxedIsNotStartedWithoutTheFilter() throws Exception {
    Path ran = temporaryRoot.resolveSibling(temporaryRoot.getFileName() + "-ran");
    Path agent = install.resolve("agent");
    Files.writeString(agent, "#!/bin/sh\ntouch " + ran + "\n");
    agent.toFile().setExecutable(true);
    Isolation.Bubblewrap noTable =
        new Isolation.Bubblewrap(
            bubblewrap.executable(),
            bubblewrap.disableUserns(),
            bubblewrap.ownNetwork(),
            SeccompFilter.unsupported("riscv64"));
    SandboxRequirement required =
        SandboxRequirement.of(Optional.of(WorkerSandbox.REQUIRED), false, List.of());

    AttemptOutcome outcome = run(runtime(noTable, required), List.of(agent.toString()));

    String reason = assertInstanceOf(FailedToStart.class, outcome, outcome::toString).reason();
    assertTrue(reason.contains("WORKA_SANDBOX=required"), reason);
    assertTrue(reason.contains("cannot filter its system calls"), reason);
    assertTrue(reason.contains("riscv64"), reason);
    assertFalse(Files.exists(ran), "the worker ran");
    assertEquals(
        "none (" + SeccompFilter.unsupported("riscv64").orElseThrow() + ")",
        runtime(noTable, required).syscallFilter());
  }

  @Test
  void aWorkerThatMayRunUnconfinedRunsSandboxedWithoutTheFilter() throws Exception {
    Path agent = install.resolve("agent");
    Files.writeString(agent, "#!/bin/sh\necho ran\n");
    agent.toFile().setExecutable(true);
    Isolation.Bubblewrap noTable =
        new Isolation.Bubblewrap(
            bubblewrap.executable(),
            bubblewrap.disableUserns(),
            bubblewrap.ownNetwork(),
            SeccompFilter.unsupported("riscv64"));
    // dry-run, unset: the built-in manifest's agents may run unconfined, so also unfiltered.
    SandboxRequirement dryRun =
        SandboxRequirement.of(Optional.empty(), false, List.of(List.of("agent")));

    AttemptOutcome outcome = run(runtime(noTable, dryRun), List.of("agent"));

    Exited exited = assertInstanceOf(Exited.class, outcome, outcome::toString);
    assertEquals(List.of("ran"), exited.lastLines());
  }
}
