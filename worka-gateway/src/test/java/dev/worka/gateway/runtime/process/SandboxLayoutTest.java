package dev.worka.gateway.runtime.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The mounts a sandboxed worker gets, without running bubblewrap. */
class SandboxLayoutTest {
  @TempDir Path install;
  @TempDir Path workRoot;
  @TempDir Path outside;

  Path work() throws Exception {
    return Files.createDirectories(workRoot.resolve("worka-step-123"));
  }

  List<String> layout(List<String> arguments, Path... hidden) throws Exception {
    return SandboxLayout.of(
            install, install.resolve("bin/agent"), false, arguments, work(), List.of(hidden))
        .arguments();
  }

  /** The index of {@code option target…} in {@code args}, or -1. */
  static int indexOf(List<String> args, String... sequence) {
    return Collections.indexOfSubList(args, List.of(sequence));
  }

  @Test
  void theSystemPartIsReadOnlyWithItsOwnProcDevAndTmp() {
    List<String> args = SandboxLayout.system().arguments();

    assertTrue(indexOf(args, "--ro-bind", "/usr", "/usr") >= 0, args.toString());
    assertTrue(indexOf(args, "--proc", "/proc") >= 0, args.toString());
    assertTrue(indexOf(args, "--dev", "/dev") >= 0, args.toString());
    assertTrue(indexOf(args, "--tmpfs", "/tmp") >= 0, args.toString());
    assertEquals(List.of("--remount-ro", "/"), args.subList(args.size() - 2, args.size()));
    // Only chosen parts of /etc: not the whole of it (shadow, ssh keys, service secrets).
    assertEquals(-1, indexOf(args, "--ro-bind", "/etc", "/etc"), args.toString());
    assertFalse(args.contains("/etc/shadow"), args.toString());
    if (Files.exists(Path.of("/etc/passwd"))) {
      assertTrue(indexOf(args, "--ro-bind", "/etc/passwd", "/etc/passwd") >= 0, args.toString());
    }
    assertFalse(args.contains("/sys"), args.toString());
    assertFalse(args.contains("/home") || args.contains("/root"), args.toString());
    assertFalse(args.contains("--bind"), "nothing of the host is writable: " + args);
  }

  @Test
  void theInstallationIsReadOnlyAndTheWorkDirectoryWritableBelowTheFreshTmp() throws Exception {
    List<String> args = layout(List.of());
    String work = work().toString();

    int tmp = indexOf(args, "--tmpfs", "/tmp");
    int installBind = indexOf(args, "--ro-bind", install.toString(), install.toString());
    int workBind = indexOf(args, "--bind", work, work);
    assertTrue(tmp >= 0 && installBind > tmp && workBind > tmp, args.toString());
    assertEquals(-1, indexOf(args, "--bind", install.toString(), install.toString()));
    assertEquals(-1, indexOf(args, "--ro-bind", workRoot.toString(), workRoot.toString()));
  }

  @Test
  void aHiddenPathUnderABoundDirectoryIsCoveredAfterItAndMadeReadOnlyAtTheEnd() throws Exception {
    Path home = Files.createDirectories(install.resolve("home"));
    Path token = Files.writeString(install.resolve("operator-token"), "x");

    List<String> args = layout(List.of(), home, token);

    int installBind = indexOf(args, "--ro-bind", install.toString(), install.toString());
    int mask = indexOf(args, "--tmpfs", home.toString());
    int fileMask = indexOf(args, "--ro-bind", "/dev/null", token.toString());
    int remount = indexOf(args, "--remount-ro", home.toString());
    assertTrue(installBind >= 0 && mask > installBind, args.toString());
    assertTrue(fileMask > installBind, args.toString());
    assertTrue(remount > mask, args.toString());
    assertEquals(List.of("--remount-ro", "/"), args.subList(args.size() - 2, args.size()));
  }

  @Test
  void aHiddenPathInsideAnotherIsCoveredByTheOuterMaskAlone() throws Exception {
    // WORKA_HOME and the policy file inside it: one empty tmpfs, no /dev/null file inside it.
    Path home = Files.createDirectories(install.resolve("home"));
    Path policy = Files.writeString(home.resolve("policy.yaml"), "x");

    List<String> args = layout(List.of(), home, policy);

    assertTrue(indexOf(args, "--tmpfs", home.toString()) >= 0, args.toString());
    assertFalse(args.contains(policy.toString()), args.toString());
  }

  @Test
  void aHiddenPathInsideAnInstallationInsideAHiddenHomeIsCoveredToo() throws Exception {
    Path home = Files.createDirectories(outside.resolve("home"));
    Path app = Files.createDirectories(home.resolve("app"));
    Path secret = Files.writeString(app.resolve("secret.env"), "x");

    List<String> args =
        SandboxLayout.of(
                app, app.resolve("bin/agent"), false, List.of(), work(), List.of(home, secret))
            .arguments();

    int appBind = indexOf(args, "--ro-bind", app.toString(), app.toString());
    int secretMask = indexOf(args, "--ro-bind", "/dev/null", secret.toString());
    assertTrue(appBind >= 0 && secretMask > appBind, args.toString());
  }

  @Test
  void theGatewaysOwnJdkIsBoundReadOnlyUnlessItIsHidden() throws Exception {
    Path install = Files.createDirectories(outside.resolve("install"));
    Path jdk = Files.createDirectories(outside.resolve("user-home/.sdkman/candidates/java/25"));
    List<String> args =
        SandboxLayout.of(
                install,
                install.resolve("bin/worka-agent"),
                false,
                List.of(),
                work(),
                List.of(),
                List.of(jdk))
            .arguments();
    assertTrue(indexOf(args, "--ro-bind", jdk.toString(), jdk.toString()) >= 0, args.toString());

    List<String> hidden =
        SandboxLayout.of(
                install,
                install.resolve("bin/worka-agent"),
                false,
                List.of(),
                work(),
                List.of(outside.resolve("user-home")),
                List.of(jdk))
            .arguments();
    assertTrue(indexOf(hidden, "--ro-bind", jdk.toString(), jdk.toString()) < 0, hidden.toString());
  }

  @Test
  void aHiddenPathNothingExposesNeedsNoMask() throws Exception {
    Path home = Files.createDirectories(outside.resolve("home"));

    List<String> args = layout(List.of(), home);

    assertFalse(args.contains(home.toString()), args.toString());
  }

  @Test
  void anInstallationInsideTheHiddenHomeIsBoundAfterTheMaskAndBeforeItsRemount() throws Exception {
    // WORKA_HOME=/opt/x, installation /opt/x/app: the mask must not leave the app invisible, and
    // the app's mount point must be made before the mask turns read-only.
    Path home = Files.createDirectories(outside.resolve("home"));
    Path app = Files.createDirectories(home.resolve("app"));
    Files.writeString(home.resolve("operator-token"), "x");
    SandboxLayout layout =
        SandboxLayout.of(app, app.resolve("bin/agent"), false, List.of(), work(), List.of(home));

    List<String> args = layout.arguments();
    assertTrue(indexOf(args, "--ro-bind", app.toString(), app.toString()) >= 0, args.toString());
    assertEquals(List.of(), layout.refusals());

    // And when the home's parent is bound too (an argument names it), the home is masked first.
    SandboxLayout exposed =
        SandboxLayout.of(
            app,
            app.resolve("bin/agent"),
            false,
            List.of(outside.toString()),
            work(),
            List.of(home));
    List<String> more = exposed.arguments();
    int parent = indexOf(more, "--ro-bind", outside.toString(), outside.toString());
    int mask = indexOf(more, "--tmpfs", home.toString());
    int appBind = indexOf(more, "--ro-bind", app.toString(), app.toString());
    int remount = indexOf(more, "--remount-ro", home.toString());
    assertTrue(
        parent >= 0 && parent < mask && mask < appBind && appBind < remount, more.toString());
  }

  @Test
  void anInstallationHoldingTheWorkDirectoriesShowsOnlyTheOwnOne() throws Exception {
    Path tmp = Files.createDirectories(install.resolve("tmp"));
    Path own = Files.createDirectories(tmp.resolve("worka-step-own"));

    List<String> args =
        SandboxLayout.of(install, install.resolve("bin/agent"), false, List.of(), own, List.of())
            .arguments();

    int installBind = indexOf(args, "--ro-bind", install.toString(), install.toString());
    int mask = indexOf(args, "--tmpfs", tmp.toString());
    int ownBind = indexOf(args, "--bind", own.toString(), own.toString());
    assertTrue(installBind >= 0 && installBind < mask && mask < ownBind, args.toString());
  }

  @Test
  void argumentPathsAreBoundOneByOneIncludingClassPathEntries() throws Exception {
    Path a = Files.writeString(outside.resolve("a.jar"), "a");
    Path b = Files.createDirectories(outside.resolve("classes"));
    Path lib = Files.createDirectories(outside.resolve("lib"));

    List<String> args =
        layout(
            List.of(
                "-cp",
                a + File.pathSeparator + b + File.pathSeparator + lib + "/*",
                "--config=" + a,
                "relative/path",
                "/does/not/exist"));

    assertTrue(indexOf(args, "--ro-bind", a.toString(), a.toString()) >= 0, args.toString());
    assertTrue(indexOf(args, "--ro-bind", b.toString(), b.toString()) >= 0, args.toString());
    assertTrue(indexOf(args, "--ro-bind", lib.toString(), lib.toString()) >= 0, args.toString());
    assertEquals(-1, indexOf(args, "--ro-bind", outside.toString(), outside.toString()));
    assertFalse(args.contains("/does/not/exist"), args.toString());
  }

  @Test
  void anAbsoluteCommandBringsItsInstallationPrefix() throws Exception {
    Path jdk = Files.createDirectories(outside.resolve("jdk"));
    Files.createDirectories(jdk.resolve("lib"));
    Path java = Files.createDirectories(jdk.resolve("bin")).resolve("java");
    Files.writeString(java, "");
    // A bin directory without a lib beside it (say ~/bin) brings only itself.
    Path tools = Files.createDirectories(outside.resolve("tools/bin"));
    Path tool = Files.writeString(tools.resolve("tool"), "");

    List<String> withJdk =
        SandboxLayout.of(install, java, true, List.of(), work(), List.of()).arguments();
    List<String> withTool =
        SandboxLayout.of(install, tool, true, List.of(), work(), List.of()).arguments();

    assertTrue(
        indexOf(withJdk, "--ro-bind", jdk.toString(), jdk.toString()) >= 0, withJdk.toString());
    assertTrue(indexOf(withTool, "--ro-bind", tools.toString(), tools.toString()) >= 0);
    String toolsParent = tools.getParent().toString();
    assertEquals(-1, indexOf(withTool, "--ro-bind", toolsParent, toolsParent), withTool.toString());
    // System programs are visible already and bring nothing more.
    List<String> sh =
        SandboxLayout.of(install, Path.of("/bin/sh"), true, List.of(), work(), List.of())
            .arguments();
    assertEquals(layout(List.of()), sh);
  }

  @Test
  void dangerousArgumentPathsAreRefusedWithTheReason() throws Exception {
    Path home = Files.createDirectories(outside.resolve("home"));
    Path key = Files.writeString(home.resolve("gateway-signing.jwk"), "k");
    Path other = Files.createDirectories(workRoot.resolve("worka-step-other"));
    Path otherToken = Files.writeString(other.resolve("token"), "t");
    List<String> arguments =
        new ArrayList<>(
            List.of(
                "/",
                "/proc/1/environ",
                "/sys/kernel",
                workRoot.toString(),
                workRoot.getParent().toString(),
                otherToken.toString(),
                key.toString()));

    SandboxLayout layout =
        SandboxLayout.of(
            install, install.resolve("bin/agent"), false, arguments, work(), List.of(home));

    List<String> args = layout.arguments();
    for (String refused : arguments) {
      assertEquals(-1, indexOf(args, "--ro-bind", refused, refused), refused + " in " + args);
    }
    String refusals = String.join("\n", layout.refusals());
    assertEquals(arguments.size(), layout.refusals().size(), refusals);
    assertTrue(refusals.contains("the whole file system"), refusals);
    assertTrue(refusals.contains("under /proc"), refusals);
    assertTrue(refusals.contains("work directories of all attempts"), refusals);
    assertTrue(refusals.contains("inside the work directory of an attempt"), refusals);
    assertTrue(refusals.contains("inside a hidden path"), refusals);
  }

  @Test
  void aSymlinkedArgumentIsBoundAtItsRealPathAndAtTheNameGiven() throws Exception {
    Path real = Files.writeString(outside.resolve("real.jar"), "r");
    Path links = Files.createDirectories(install.getParent().resolve(install.getFileName() + "-l"));
    try {
      Path link = Files.createSymbolicLink(links.resolve("link.jar"), real);

      List<String> args = layout(List.of(link.toString()));

      assertTrue(
          indexOf(args, "--ro-bind", real.toString(), real.toString()) >= 0, args.toString());
      assertTrue(
          indexOf(args, "--ro-bind", real.toString(), link.toString()) >= 0, args.toString());
    } finally {
      Files.deleteIfExists(links.resolve("link.jar"));
      Files.deleteIfExists(links);
    }
  }

  // --- home directories ---------------------------------------------------------------------

  /** A layout whose host has the home directories {@code homes}. */
  SandboxLayout withHomes(
      Path installDir,
      Path program,
      boolean absolute,
      List<String> arguments,
      List<Path> alsoReadOnly,
      Path... homes)
      throws Exception {
    return SandboxLayout.of(
        installDir,
        program,
        absolute,
        arguments,
        work(),
        List.of(),
        alsoReadOnly,
        HomeDirectories.of(List.of(homes)));
  }

  static boolean binds(List<String> args, Path path) {
    for (int i = 0; i + 2 < args.size(); i++) {
      if (args.get(i).equals("--ro-bind")
          && (args.get(i + 2).equals(path.toString()) || args.get(i + 1).equals(path.toString()))) {
        return true;
      }
    }
    return false;
  }

  @Test
  void anArgumentNamingAHomeOrAParentOfOneIsNeverBoundButAFileInsideOneIs() throws Exception {
    Path people = Files.createDirectories(outside.resolve("home"));
    Path alice = Files.createDirectories(people.resolve("alice"));
    Path jar =
        Files.writeString(Files.createDirectories(alice.resolve(".m2")).resolve("x.jar"), "x");
    List<String> arguments =
        List.of(alice.toString(), people.toString(), outside.toString(), "-cp", jar.toString());

    SandboxLayout layout =
        withHomes(install, install.resolve("bin/agent"), false, arguments, List.of(), alice);

    List<String> args = layout.arguments();
    for (Path refused : List.of(alice, people, outside)) {
      assertFalse(binds(args, refused), refused + " in " + args);
    }
    assertTrue(binds(args, jar), "a file inside a home is bound alone: " + args);
    String refusals = String.join("\n", layout.refusals());
    assertEquals(3, layout.refusals().size(), refusals);
    assertTrue(refusals.contains("a home directory or a parent of one (" + alice + ")"), refusals);
  }

  @Test
  void theHostsRealHomesAndTheirParentsAreRefusedToo() throws Exception {
    // Detected: /root (and user.home), /home/*, people's homes in /etc/passwd.
    List<String> arguments = new ArrayList<>(List.of("/root", "/home"));
    arguments.add(System.getProperty("user.home"));
    SandboxLayout layout =
        SandboxLayout.of(
            install, install.resolve("bin/agent"), false, arguments, work(), List.of());
    List<String> args = layout.arguments();
    for (String refused : arguments) {
      assertEquals(-1, indexOf(args, "--ro-bind", refused, refused), refused + " in " + args);
    }
    assertTrue(HomeDirectories.detected().holdsAHome(Path.of("/root")));
    assertTrue(HomeDirectories.detected().holdsAHome(Path.of("/")));
    assertTrue(HomeDirectories.detected().holdsAHome(Path.of(System.getProperty("user.home"))));
    assertFalse(
        HomeDirectories.detected().holdsAHome(Path.of("/usr")),
        HomeDirectories.detected().sorted().toString());
  }

  @Test
  void anAbsoluteCommandInAHomeBringsOnlyWhatIsNotAHome() throws Exception {
    // ~/bin/agent with ~/lib beside it: the prefix would be the home itself; only ~/bin is bound.
    Path alice = Files.createDirectories(outside.resolve("alice"));
    Files.createDirectories(alice.resolve("lib"));
    Path program =
        Files.writeString(Files.createDirectories(alice.resolve("bin")).resolve("agent"), "");
    SandboxLayout layout = withHomes(install, program, true, List.of(), List.of(), alice);
    List<String> args = layout.arguments();
    assertFalse(binds(args, alice), args.toString());
    assertTrue(binds(args, alice.resolve("bin")), args.toString());
    assertTrue(
        String.join("\n", layout.refusals()).contains("only " + alice.resolve("bin") + " is bound"),
        layout.refusals().toString());

    // ~/agent: its directory is the home: the program file alone.
    Path direct = Files.writeString(alice.resolve("agent"), "");
    List<String> alone = withHomes(install, direct, true, List.of(), List.of(), alice).arguments();
    assertFalse(binds(alone, alice), alone.toString());
    assertTrue(
        indexOf(alone, "--ro-bind", direct.toString(), direct.toString()) >= 0, alone.toString());
  }

  @Test
  void aJdkThatIsAHomeOrAboveOneIsNotBoundAndOneInsideAHomeIs() throws Exception {
    Path alice = Files.createDirectories(outside.resolve("alice"));
    Path jdk = Files.createDirectories(alice.resolve(".sdkman/candidates/java/25"));
    assertTrue(
        binds(
            withHomes(
                    install,
                    install.resolve("bin/worka-agent"),
                    false,
                    List.of(),
                    List.of(jdk),
                    alice)
                .arguments(),
            jdk));
    SandboxLayout above =
        withHomes(
            install, install.resolve("bin/worka-agent"), false, List.of(), List.of(outside), alice);
    assertFalse(binds(above.arguments(), outside), above.arguments().toString());
    assertTrue(
        String.join("\n", above.refusals()).contains("a home directory or a parent of one"),
        above.refusals().toString());
  }

  @Test
  void anInstallationDirectoryThatHoldsAHomeIsNotBound() throws Exception {
    Path alice = Files.createDirectories(install.resolve("alice"));
    SandboxLayout layout =
        withHomes(install, install.resolve("bin/agent"), false, List.of(), List.of(), alice);
    assertFalse(binds(layout.arguments(), install), layout.arguments().toString());
    assertTrue(
        String.join("\n", layout.refusals())
            .contains(install + " (a home directory or a parent of one (" + alice + "))"),
        layout.refusals().toString());
  }

  @Test
  void aGatewayWhoseInstallationDirectoryIsAHomeDoesNotStartWhenSandboxed() {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        Isolation.detected() instanceof Isolation.Bubblewrap, "bubblewrap is not usable here");
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () ->
                new ProcessRuntime(
                    Path.of("/root"),
                    java.time.InstantSource.system(),
                    List.of(),
                    WorkerNetwork.GATEWAY));
    assertTrue(
        e.getMessage().contains("WORKA_INSTALL_DIR") && e.getMessage().contains("home directory"),
        e.getMessage());
  }
}
