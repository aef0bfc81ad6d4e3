package dev.worka.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which launch specs a host allows, case by case (HostileTokenHolderTest goes through the API). */
class LaunchAllowanceTest {
  private static final String SHA = "0".repeat(64);
  @TempDir Path host;

  static Path executable(Path file) throws Exception {
    Files.createDirectories(file.getParent());
    Files.writeString(file, "#!/bin/sh\nexit 0\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  LaunchAllowance allowance(List<String> entries) {
    return LaunchAllowance.of(host.resolve("install"), List.of(BuiltinPolicy.compiled()), entries);
  }

  static String refused(LaunchAllowance a, String... argv) {
    Optional<String> why = a.commandRefusal(List.of(argv));
    assertTrue(why.isPresent(), List.of(argv) + " was allowed");
    return why.get();
  }

  static void allowed(LaunchAllowance a, String... argv) {
    assertEquals(Optional.empty(), a.commandRefusal(List.of(argv)), List.of(argv).toString());
  }

  @Test
  void theHostsOwnCommandsAreAllowedWholeAndOnlyWhole() {
    LaunchAllowance a = allowance(List.of());
    allowed(a, "bin/worka-agent", "hari");
    allowed(a, "bin/worka-agent", "ernest");
    allowed(a, "./bin/../bin/worka-agent", "daneel");
    allowed(a, host.resolve("install/bin/worka-agent").toString(), "hari");
    assertTrue(
        refused(a, "bin/worka-agent", "hari", "--other")
            .contains("WORKA_ALLOWED_LAUNCH is not set"));
    refused(a, "bin/worka-agent");
    refused(a, "bin/worka-agent", "Hari");
    refused(a, "../install/bin/worka-agent", "hari", "x");
    refused(a, "/bin/sh", "-c", "bin/worka-agent hari");
  }

  @Test
  void aPrefixAllowsItsProgramsWithAnyArgumentsAndNothingBesideOrBehindIt() throws Exception {
    Path agents = Files.createDirectories(host.resolve("agents"));
    Path ok = executable(agents.resolve("sub/ok"));
    Path evil = executable(host.resolve("agents-evil/prog"));
    Path shell = Files.createSymbolicLink(agents.resolve("sh"), Path.of("/bin/sh"));
    Path aliasDir = Files.createSymbolicLink(host.resolve("alias"), agents);
    LaunchAllowance a = allowance(List.of(agents.toString()));

    allowed(a, ok.toString());
    allowed(a, ok.toString(), "-c", "anything", "--at=/etc/shadow");
    allowed(a, agents + "/x/../sub/ok");
    // Named under another directory that leads to the same place: not what the host named.
    assertTrue(refused(a, aliasDir + "/sub/ok").contains("is not under WORKA_ALLOWED_LAUNCH"));
    assertTrue(refused(a, evil.toString()).contains("is not under WORKA_ALLOWED_LAUNCH"));
    assertTrue(refused(a, agents + "/../agents-evil/prog").contains(evil + " is not under"));
    assertTrue(refused(a, shell.toString(), "-c", "id").contains("is really /"));
    assertTrue(refused(a, agents + "/missing").contains("does not exist"));
    assertTrue(refused(a, agents.resolve("sub").toString()).contains("is not a file"));
    refused(a, "/usr/bin/env", "LD_PRELOAD=/tmp/x.so", ok.toString());
    refused(a, "LD_PRELOAD=" + host.resolve("x.so"), ok.toString());
    String why = refused(a, "/bin/sh");
    assertTrue(why.contains("WORKA_ALLOWED_LAUNCH: " + agents), why);
  }

  @Test
  void imagesAndModulesFollowTheSameRules() throws Exception {
    Path modules = Files.createDirectories(host.resolve("modules"));
    Path module = Files.writeString(modules.resolve("a.wasm"), "");
    LaunchAllowance a = allowance(List.of("registry.test/agents", modules.toString()));

    assertEquals(Optional.empty(), a.refusal(RuntimeSpec.kubernetes("registry.test/agents/x:1")));
    assertEquals(Optional.empty(), a.refusal(RuntimeSpec.kubernetes("registry.test/agents:2")));
    assertEquals(
        Optional.empty(), a.refusal(RuntimeSpec.kubernetes("registry.test/agents@sha256:00")));
    assertTrue(a.refusal(RuntimeSpec.kubernetes("registry.test/agents-evil/x")).isPresent());
    assertTrue(a.refusal(RuntimeSpec.kubernetes("evil.test/registry.test/agents/x")).isPresent());
    assertEquals(Optional.empty(), a.refusal(RuntimeSpec.wasm(module.toString(), SHA)));
    assertTrue(a.refusal(RuntimeSpec.wasm(modules + "/../evil.wasm", SHA)).isPresent());
    assertTrue(a.refusal(RuntimeSpec.wasm("/etc/passwd", SHA)).isPresent());
  }

  @Test
  void aPrefixThatIsTooBroadOrWritableByOthersIsRefusedAtStart() throws Exception {
    for (String broad :
        List.of("/", "/usr", "/usr/bin", "/bin", "/tmp", "/etc", "/home", "/root")) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> allowance(List.of(broad)), broad);
      assertTrue(
          e.getMessage().contains("too broad") || e.getMessage().contains("does not exist"),
          e.getMessage());
    }
    Path open = Files.createDirectories(host.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    IllegalArgumentException writable =
        assertThrows(IllegalArgumentException.class, () -> allowance(List.of(open.toString())));
    assertTrue(writable.getMessage().contains("every user"), writable.getMessage());
    IllegalArgumentException missing =
        assertThrows(
            IllegalArgumentException.class,
            () -> allowance(List.of(host.resolve("nowhere").toString())));
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
  }

  @Test
  void everyAgentOfAManifestIsChecked() {
    LaunchAllowance a = allowance(List.of());
    CompiledPolicy evil =
        switch (PolicyCompiler.compile(
            BuiltinPolicy.source()
                .replace(
                    "command: [bin/worka-agent, daneel]",
                    "command: [/bin/sh, -c, id]\n    enabled: false"))) {
          case Compilation.Compiled c -> c.policy();
          case Compilation.Invalid i -> throw new AssertionError(i.errors());
        };
    List<String> refusals = a.refusals(evil);
    assertEquals(1, refusals.size(), refusals.toString());
    assertTrue(
        refusals.get(0).startsWith("agent daneel: command [/bin/sh, -c, id]"), refusals.get(0));
    assertEquals(List.of(), a.refusals(BuiltinPolicy.compiled()));
  }
}
