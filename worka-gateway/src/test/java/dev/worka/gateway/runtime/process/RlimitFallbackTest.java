package dev.worka.gateway.runtime.process;

import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.TOKEN;
import static dev.worka.gateway.runtime.process.ProcessRuntimeTest.UNSANDBOXED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.AttemptOutcome.Exited;
import dev.worka.gateway.runtime.WorkerLaunch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host without cgroups (here: a {@code /proc} that shows none): the worker still gets its rlimits
 * — open files, and its memory as {@code RLIMIT_DATA} — and the runtime says which limits nothing
 * enforces, so that the policy warning can name them.
 */
class RlimitFallbackTest {
  @TempDir Path install;
  @TempDir Path temporaryRoot;
  @TempDir Path noCgroups;

  @Test
  void withoutCgroupsTheWorkerGetsItsRlimitsAndTheRestIsSaidToBeUnenforced() throws Exception {
    Files.createDirectories(noCgroups.resolve("self"));
    Files.writeString(noCgroups.resolve("self/mountinfo"), "");
    Files.writeString(noCgroups.resolve("self/cgroup"), "0::/\n");
    WorkerLimits limits = WorkerLimits.of(WorkerCgroups.probe(noCgroups, Path.of("")), true);
    assertTrue(limits.cgroups().isEmpty());
    String said = limits.describe();
    assertTrue(said.startsWith("memory=rlimit RLIMIT_DATA"), said);
    assertTrue(said.contains("cpu=not enforced"), said);
    assertTrue(said.contains("pids=not enforced"), said);
    assertTrue(said.contains("RLIMIT_NPROC would count every process"), said);
    assertTrue(said.contains("disk=not enforced"), said);
    assertTrue(said.contains("open_files=rlimit RLIMIT_NOFILE"), said);
    assertEquals(List.of("cpu", "pids", "disk"), limits.unenforced());

    // A host with cgroup v2 only, where the Gateway's cgroup is not one (UnifiedCgroupTest has
    // the others): the same, and said so.
    Files.writeString(
        noCgroups.resolve("self/mountinfo"),
        "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n");
    String v2 = WorkerLimits.of(WorkerCgroups.probe(noCgroups, noCgroups), true).describe();
    assertTrue(
        v2.contains(
            "pids=not enforced (no cgroup v1 hierarchy with the pids controller;"
                + " not cgroup v2: "
                + noCgroups.resolve("sys/fs/cgroup")
                + " is not a cgroup v2 directory (it has no cgroup.controllers)"),
        v2);

    ProcessRuntime runtime =
        new ProcessRuntime(
            install,
            InstantSource.system(),
            temporaryRoot,
            Optional.empty(),
            UNSANDBOXED,
            List.of(),
            WorkerNetwork.GATEWAY,
            null,
            limits);
    Path show = install.resolve("show");
    Files.writeString(show, "#!/bin/sh\nulimit -d\nulimit -Hn\n");
    Files.setPosixFilePermissions(show, PosixFilePermissions.fromString("rwxr-xr-x"));
    AttemptOutcome outcome =
        runtime
            .start(
                new WorkerLaunch(
                    UUID.randomUUID(),
                    UUID.randomUUID(),
                    1,
                    "ernest",
                    RuntimeSpec.process(List.of(show.toString())),
                    new Resources(64L << 20, 500, 32, 256L << 20, 64),
                    "http://127.0.0.1:8080",
                    TOKEN,
                    null,
                    InstantSource.system().instant().plus(Duration.ofSeconds(30))))
            .await();
    runtime.close();
    Exited exited = assertInstanceOf(Exited.class, outcome, outcome.toString());
    assertEquals(List.of("65536", "64"), exited.lastLines(), "64Mi in KiB, then 64 open files");
  }
}
