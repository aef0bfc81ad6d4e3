package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sandbox fails closed ({@code WORKA_SANDBOX}, issue 13 item 2), through a real Gateway on a
 * host "without bubblewrap". The attacker: whoever declares an agent (an operator's manifest, a
 * policy file) whose program would otherwise run unconfined as the Gateway's user — reading its
 * signing key, operator token and database — on a host where bubblewrap is missing or broken. A
 * worker that must be sandboxed is never started: its attempt is burned {@code dispatch} with what
 * to install.
 */
class SandboxRequiredTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  @TempDir Path install;
  @TempDir Path elsewhere;

  Path builtInRan;
  Path operatorProgram;
  Path operatorRan;

  @BeforeEach
  void programs() throws Exception {
    // The built-in manifest's [bin/worka-agent, hari], resolved against WORKA_INSTALL_DIR.
    builtInRan = elsewhere.resolve("built-in-ran");
    executable(install.resolve("bin/worka-agent"), "touch " + builtInRan);
    operatorRan = elsewhere.resolve("operator-ran");
    operatorProgram = executable(elsewhere.resolve("agents/planner"), "touch " + operatorRan);
  }

  @Test
  void inLiveModeEveryWorkerNeedsTheSandboxEvenTheBuiltInOnes() throws Exception {
    try (TestGateway gw =
        TestGateway.startWithoutBubblewrap(home, db.url(), null, "live", Map.of(), install)) {
      JsonNode burn = awaitDispatchBurn(gw, gw.submit("what time is it?"));
      String reason = burn.path("reason").asText();
      assertTrue(reason.contains("every worker must be sandboxed with WORKA_SIDE_EFFECTS=live"));
      assertInstallHint(reason);
      assertFalse(Files.exists(builtInRan), "the built-in agent's program ran unconfined");
    }
  }

  @Test
  void inDryRunAnAgentTheOperatorDeclaredNeedsTheSandbox() throws Exception {
    try (TestGateway gw =
        TestGateway.startWithoutBubblewrap(
            home, db.url(), operatorManifest(), "dry-run", Map.of(), install)) {
      JsonNode burn = awaitDispatchBurn(gw, gw.submit("what time is it?"));
      String reason = burn.path("reason").asText();
      assertTrue(reason.contains("not one of the built-in manifest's"), reason);
      assertInstallHint(reason);
      assertFalse(Files.exists(operatorRan), "the operator's program ran unconfined");
    }
  }

  @Test
  void requiredRefusesEvenTheBuiltInAgentsInDryRun() throws Exception {
    try (TestGateway gw =
        TestGateway.startWithoutBubblewrap(
            home, db.url(), null, "dry-run", Map.of("WORKA_SANDBOX", "required"), install)) {
      JsonNode burn = awaitDispatchBurn(gw, gw.submit("what time is it?"));
      assertTrue(burn.path("reason").asText().contains("WORKA_SANDBOX=required"));
      assertInstallHint(burn.path("reason").asText());
      assertFalse(Files.exists(builtInRan), "the built-in agent's program ran unconfined");
    }
  }

  @Test
  void theBuiltInAgentsInDryRunStillRunUnconfinedWhenTheVariableIsUnset() throws Exception {
    try (TestGateway gw =
        TestGateway.startWithoutBubblewrap(home, db.url(), null, "dry-run", Map.of(), install)) {
      gw.submit("what time is it?");
      awaitFile(builtInRan);
    }
  }

  @Test
  void aPolicyFileAgentWithExactlyABuiltInCommandRunsTheBuiltInCodeAndIsNotAnOperators()
      throws Exception {
    try (TestGateway gw =
        TestGateway.startWithoutBubblewrap(
            home,
            db.url(),
            dev.worka.gateway.policy.BuiltinPolicy.source(),
            "dry-run",
            Map.of(),
            install)) {
      gw.submit("what time is it?");
      awaitFile(builtInRan);
    }
  }

  @Test
  void offRunsAnOperatorsAgentUnconfined() throws Exception {
    try (TestGateway gw =
        TestGateway.startWithoutBubblewrap(
            home, db.url(), operatorManifest(), "live", Map.of("WORKA_SANDBOX", "off"), install)) {
      gw.submit("what time is it?");
      awaitFile(operatorRan);
    }
  }

  @Test
  void offSkipsBubblewrapEvenWhereItWorks() throws Exception {
    assumeTrue(SandboxHere.usable(), "bubblewrap is not usable here");
    try (TestGateway sandboxed =
        TestGateway.startWithEnvironment(home, db.url(), operatorManifest(), "dry-run", Map.of())) {
      String runId = sandboxed.submit("what time is it?");
      awaitAttempt(sandboxed, runId);
      // Sandboxed, the program ran in a private /tmp: the host's shows nothing.
      assertFalse(Files.exists(operatorRan), "a sandboxed worker wrote to the host's /tmp");
    }
    try (TestGateway unconfined =
        TestGateway.startWithEnvironment(
            home, db.url(), operatorManifest(), "dry-run", Map.of("WORKA_SANDBOX", "off"))) {
      unconfined.submit("what time is it?");
      awaitFile(operatorRan);
    }
  }

  @Test
  void anInvalidValueRefusesToStartNamingTheVariable() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                TestGateway.startWithEnvironment(
                    home, db.url(), null, "dry-run", Map.of("WORKA_SANDBOX", "optional")));
    assertTrue(
        e.problems().stream().anyMatch(p -> p.startsWith("WORKA_SANDBOX=optional")),
        e.problems().toString());
  }

  /** The built-in manifest, its planner {@code hari} running the operator's program instead. */
  private String operatorManifest() {
    return TestGateway.policyWith(Map.of("hari", List.of(operatorProgram.toString())), null);
  }

  private static void assertInstallHint(String reason) {
    assertTrue(
        reason.contains("install bubblewrap (apt install bubblewrap")
            && reason.contains("set WORKA_SANDBOX=off to run workers unconfined")
            && reason.contains("bwrap is not installed"),
        reason);
  }

  private static JsonNode awaitDispatchBurn(TestGateway gw, String runId) {
    return await("a dispatch burn in run " + runId)
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> dispatchBurn(gw.story(runId)), Optional::isPresent)
        .orElseThrow();
  }

  private static Optional<JsonNode> dispatchBurn(JsonNode story) {
    for (JsonNode burn : story.path("burns")) {
      if (burn.path("kind").asText().equals("dispatch")) {
        return Optional.of(burn);
      }
    }
    return Optional.empty();
  }

  /** Waits until the run has a burn (the program exits 1): its first attempt ended. */
  private static void awaitAttempt(TestGateway gw, String runId) {
    await("an ended attempt (a burn) in run " + runId)
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> !gw.story(runId).path("burns").isEmpty());
  }

  private static void awaitFile(Path file) {
    await(file + " written: the worker ran")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> Files.exists(file));
  }

  private static Path executable(Path file, String body) throws Exception {
    Files.createDirectories(file.getParent());
    Files.writeString(file, "#!/bin/sh\n" + body + "\nexit 1\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
    return file;
  }
}
