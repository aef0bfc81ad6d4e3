package dev.worka.gateway.runtime.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.worka.gateway.runtime.AttemptOutcome.Exited;
import dev.worka.gateway.runtime.WorkerLaunch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding bubblewrap, proving it works, and the honest fallback when it is missing or broken. */
class IsolationTest {
  @TempDir Path dir;

  Path executable(String name, String body) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  @Test
  void withoutBwrapThereIsNoIsolationAndTheReasonSaysSo() {
    Isolation isolation = Isolation.detect(List.of(dir.resolve("bwrap"), dir.resolve("nope")));

    Isolation.None none = assertInstanceOf(Isolation.None.class, isolation);
    assertTrue(none.reason().contains("not installed"), none.reason());
    assertTrue(
        isolation.describe().startsWith("none (bwrap is not installed"), isolation.describe());
  }

  @Test
  void aBwrapThatCannotStartASandboxIsNotUsedAndItsErrorIsTheReason() throws Exception {
    Path broken =
        executable("bwrap", "echo 'bwrap: setting up uid map: Permission denied' >&2; exit 1");

    Isolation isolation = Isolation.detect(List.of(dir.resolve("missing"), broken));

    Isolation.None none = assertInstanceOf(Isolation.None.class, isolation);
    assertTrue(none.reason().contains(broken.toString()), none.reason());
    assertTrue(none.reason().contains("setting up uid map: Permission denied"), none.reason());
  }

  @Test
  void aBrokenBwrapEarlierOnThePathDoesNotHideAWorkingOne() throws Exception {
    Path broken = executable("broken-bwrap", "echo 'bwrap: No permissions' >&2; exit 1");
    Path working = executable("working-bwrap", "exit 0");

    Isolation isolation = Isolation.detect(List.of(broken, working));

    assertEquals(working, assertInstanceOf(Isolation.Bubblewrap.class, isolation).executable());
  }

  @Test
  void aBwrapWithoutDisableUsernsIsUsedWithoutIt() throws Exception {
    // bubblewrap before 0.8 refuses --disable-userns; everything else works.
    Path old =
        executable(
            "bwrap",
            "for a in \"$@\"; do [ \"$a\" = --disable-userns ] && { echo 'bwrap: Unknown option"
                + " --disable-userns' >&2; exit 1; }; done; exit 0");

    Isolation.Bubblewrap bubblewrap =
        assertInstanceOf(Isolation.Bubblewrap.class, Isolation.probe(old));

    assertEquals(false, bubblewrap.disableUserns());
    assertTrue(!bubblewrap.flags().contains("--disable-userns"));
  }

  @Test
  void aBwrapThatCannotLoadTheSeccompFilterIsUsedWithoutItAndSaysWhy() throws Exception {
    assumeTrue(SeccompFilter.unsupportedHere().isEmpty(), "no seccomp table for this host");
    // A kernel without seccomp filters, a bubblewrap without --seccomp: the rest works.
    Path noSeccomp =
        executable(
            "bwrap",
            "for a in \"$@\"; do [ \"$a\" = --seccomp ] && { echo 'bwrap: prctl(PR_SET_SECCOMP):"
                + " Invalid argument' >&2; exit 1; }; done; exit 0");

    Isolation.Bubblewrap bubblewrap =
        assertInstanceOf(Isolation.Bubblewrap.class, Isolation.probe(noSeccomp));

    assertTrue(!bubblewrap.seccomp());
    String why = bubblewrap.withoutSeccomp().orElseThrow();
    assertTrue(why.contains("PR_SET_SECCOMP"), why);
    assertEquals(List.of(noSeccomp.toString()), bubblewrap.launch(dir.resolve("unused")));
  }

  @Test
  void theFilterReachesBwrapAsDescriptor3ThroughAShellThatPassesArgumentsAsTheyAre()
      throws Exception {
    assumeTrue(SeccompFilter.unsupportedHere().isEmpty(), "no seccomp table for this host");
    // This fake bwrap copies what it reads from descriptor 3 and records its arguments.
    Path seen = dir.resolve("seen.bpf");
    Path arguments = dir.resolve("arguments");
    Path fake =
        executable(
            "bwrap",
            "cat <&3 > '"
                + seen
                + "'; for a in \"$@\"; do echo \"$a\"; done > '"
                + arguments
                + "'");
    Isolation.Bubblewrap bubblewrap =
        assertInstanceOf(Isolation.Bubblewrap.class, Isolation.probe(fake));
    assertTrue(bubblewrap.seccomp(), bubblewrap.toString());
    Path filter = SeccompFilter.write(Files.createDirectories(dir.resolve("work")));
    List<String> argv = new java.util.ArrayList<>(bubblewrap.launch(filter));
    argv.addAll(List.of("--", "a b", "$(touch " + dir.resolve("injected") + ")", "'\"", ""));

    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    assertEquals(
        0,
        process.waitFor(),
        new String(
            process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));

    assertTrue(
        java.util.Arrays.equals(SeccompFilter.program(), Files.readAllBytes(seen)),
        "bwrap read the program from descriptor 3");
    assertEquals(
        List.of(
            "--seccomp", "3", "--", "a b", "$(touch " + dir.resolve("injected") + ")", "'\"", ""),
        Files.readAllLines(arguments));
    assertTrue(!Files.exists(dir.resolve("injected")), "an argument was run as shell code");
  }

  @Test
  void candidatesComeFromThePathThenTheWellKnownPlaces() {
    assertEquals(
        List.of(
            Path.of("/a/bwrap"),
            Path.of("/b/bwrap"),
            Path.of("/usr/bin/bwrap"),
            Path.of("/bin/bwrap")),
        Isolation.candidates("/a:relative:/b::/usr/bin"));
    assertEquals(Isolation.WELL_KNOWN, Isolation.candidates(null));
  }

  @Test
  void theFlagsShareOnlyTheNetwork() {
    List<String> flags = new Isolation.Bubblewrap(Path.of("/usr/bin/bwrap"), true).flags();

    for (String flag :
        List.of(
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--clearenv")) {
      assertTrue(flags.contains(flag), flag + " in " + flags);
    }
    assertTrue(
        Collections.indexOfSubList(flags, List.of("--cap-drop", "ALL")) >= 0, flags.toString());
    assertTrue(
        !flags.contains("--unshare-net") && !flags.contains("--unshare-all"), flags.toString());
  }

  @Test
  void whenBwrapWorksHereItIsWhatTheRuntimeUses() {
    Isolation isolation = Isolation.detected();
    assumeTrue(
        isolation instanceof Isolation.Bubblewrap,
        () -> "bubblewrap is unavailable here: " + isolation.describe());
    assertEquals("bubblewrap", isolation.describe());
    assertEquals(
        isolation,
        Isolation.detect(Isolation.candidates(System.getenv("PATH"))),
        "the cached detection equals a fresh one");
  }

  @Test
  void theFallbackRunsWorkersUnconfinedAndSaysSo() throws Exception {
    Path install = Files.createDirectories(dir.resolve("install"));
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    Path hostFile = Files.writeString(dir.resolve("host-file"), "the host is visible\n");
    Path script = install.resolve("agent");
    Files.writeString(script, "#!/bin/sh\ncat " + hostFile + "\necho \"self=$$\"\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    ProcessRuntime runtime =
        new ProcessRuntime(
            install,
            InstantSource.system(),
            tmp,
            Optional.empty(),
            Isolation.detect(List.of(dir.resolve("no-bwrap"))),
            List.of(hostFile));

    var handle =
        runtime.start(
            new WorkerLaunch(
                UUID.randomUUID(),
                UUID.randomUUID(),
                1,
                "ernest",
                List.of("agent"),
                "http://127.0.0.1:8080",
                ProcessRuntimeTest.TOKEN,
                null,
                InstantSource.system().instant().plus(Duration.ofSeconds(30))));
    Exited exited = assertInstanceOf(Exited.class, handle.await());

    assertTrue(runtime.isolation().startsWith("none (bwrap is not installed"), runtime.isolation());
    assertTrue(runtime.toString().contains("isolation=none ("), runtime.toString());
    // Unconfined: it reads what it is told to hide, and its pid is the host's.
    assertEquals(List.of("the host is visible", "self=" + handle.pid()), exited.lastLines());
  }
}
