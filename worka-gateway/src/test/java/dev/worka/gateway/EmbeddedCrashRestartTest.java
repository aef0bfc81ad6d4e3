package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.EmbeddedServerFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code worka serve} on the embedded default (no WORKA_DATABASE_URL), killed with SIGKILL and
 * started again at once on the same WORKA_HOME, in each state the dead Gateway's PostgreSQL can be
 * in: still running (the postmaster is not the JVM's child and outlives it), killed too (a stale
 * {@code postmaster.pid}, its children dying), shutting down. Every restart starts on its first try
 * ({@link GatewayProcess#start} fails the test otherwise), and the runs submitted before the kills
 * all succeed, each issue created once after an allow gate, their events unbroken, the audit chain
 * intact. Agents are {@link ChaosWorker}s (fast to start).
 */
@Tag("slow")
class EmbeddedCrashRestartTest {
  @TempDir Path home;
  private final List<GatewayProcess> started = new ArrayList<>();
  private EmbeddedServerFiles server;

  @AfterEach
  void stopEverything() throws Exception {
    for (GatewayProcess gateway : started) {
      gateway.close();
    }
    if (server != null) {
      server.stopLeftovers(); // only after a failure is anything left
    }
  }

  @Test
  void runsContinueAcrossRepeatedKillsWhileThePostmasterLivesOn() throws Exception {
    try (CountingGithubMcpServer github =
        CountingGithubMcpServer.http(0, RunLedger.GITHUB_TOKEN, Set.of())) {
      Map<String, String> env = environment(github);
      GatewayProcess gateway = start(env);
      List<String> runs = new ArrayList<>();
      for (int kill = 0; kill < 4; kill++) {
        for (int i = 0; i < 3; i++) {
          runs.add(
              RunLedger.submit(
                  gateway,
                  "open an issue in acme/widgets titled 'Kill " + kill + " run " + i + "'"));
        }
        awaitStepRunning();
        long postmaster = server.postmasterPid().orElseThrow();
        gateway.kill();
        assertTrue(
            ProcessHandle.of(postmaster).map(ProcessHandle::isAlive).orElse(false),
            "the postmaster outlived the Gateway killed with SIGKILL");

        gateway = start(env); // the first try
        assertFalse(
            server.serverProcesses().contains(postmaster),
            "the left postmaster was shut down before a new one started");
        assertNotEquals(postmaster, server.postmasterPid().orElseThrow());
        assertTrue(
            Files.readString(gateway.log()).contains("left running"), "the log says what it found");
      }
      assertRunsFinishedIntact(gateway, github, runs);
    }
  }

  @Test
  void startsOnTheFirstTryWhenThePostmasterWasKilledTooOrIsShuttingDown() throws Exception {
    try (CountingGithubMcpServer github =
        CountingGithubMcpServer.http(0, RunLedger.GITHUB_TOKEN, Set.of())) {
      Map<String, String> env = environment(github);
      GatewayProcess gateway = start(env);
      List<String> runs = new ArrayList<>();

      // Killed together with its postmaster: postmaster.pid stays behind, the children die after
      // it,
      // and for a moment the pid is a zombie (alive to PostgreSQL's own check).
      runs.add(
          RunLedger.submit(
              gateway, "open an issue in acme/widgets titled 'Postmaster killed too'"));
      awaitStepRunning();
      long postmaster = server.postmasterPid().orElseThrow();
      gateway.kill();
      ProcessHandle.of(postmaster).ifPresent(ProcessHandle::destroyForcibly);
      gateway = start(env);
      assertNotEquals(postmaster, server.postmasterPid().orElseThrow());

      // Its postmaster shutting down (smart shutdown, held by a session) when the Gateway is
      // killed.
      runs.add(
          RunLedger.submit(
              gateway, "open an issue in acme/widgets titled 'Postmaster shutting down'"));
      awaitStepRunning();
      postmaster = server.postmasterPid().orElseThrow();
      Connection held = server.superuser().getConnection();
      try (Statement s = held.createStatement()) {
        held.setAutoCommit(false);
        s.execute(
            "select txid_current()"); // a session in a transaction: a smart shutdown waits for it
      }
      ProcessHandle.of(postmaster).orElseThrow().destroy(); // SIGTERM: smart shutdown
      awaitMoment("the postmaster is shutting down")
          .until(() -> "stopping".equals(server.postmasterState()));
      gateway.kill();
      assertEquals(
          "stopping", server.postmasterState(), "still shutting down when the Gateway died");
      gateway = start(env);
      assertFalse(
          held.isValid(5), "the left server's fast shutdown ended the session that held it");
      held.close();
      assertFalse(server.serverProcesses().contains(postmaster));

      // Killed during its own shutdown (SIGTERM, then SIGKILL as the server stops, or just after).
      runs.add(
          RunLedger.submit(
              gateway, "open an issue in acme/widgets titled 'Killed while stopping'"));
      awaitStepRunning();
      postmaster = server.postmasterPid().orElseThrow();
      long stopping = postmaster;
      GatewayProcess terminated = gateway;
      ProcessHandle.of(terminated.pid())
          .orElseThrow()
          .destroy(); // SIGTERM: its shutdown hook closes everything
      awaitMoment("the Gateway's shutdown reached its database")
          .until(
              () ->
                  "stopping".equals(server.postmasterState())
                      || !ProcessHandle.of(stopping).map(ProcessHandle::isAlive).orElse(false)
                      || !terminated.alive());
      terminated.kill();
      gateway = start(env);

      assertRunsFinishedIntact(gateway, github, runs);
    }
  }

  private Map<String, String> environment(CountingGithubMcpServer github) throws Exception {
    String policy =
        TestGateway.policyWith(
            Map.of("hari", ChaosWorker.command("plan"), "ernest", ChaosWorker.command("work")),
            null);
    policy = TestGateway.withLimit(RunLedger.quickRetryPolicy(policy), "max_attempts", "5");
    Files.createDirectories(home);
    Files.writeString(home.resolve("policy.yaml"), policy);
    Map<String, String> env = new HashMap<>();
    env.put("WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN);
    env.put("WORKA_POLICY_FILE", home.resolve("policy.yaml").toString());
    env.put("WORKA_INSTALL_DIR", Path.of("..").toAbsolutePath().normalize().toString());
    env.put("WORKA_SIDE_EFFECTS", "live");
    env.put("WORKA_LEASE_SECONDS", "2");
    env.put("WORKA_SKILL_TIMEOUT", "2s");
    env.put("GITHUB_MCP_URL", github.url());
    env.put("GITHUB_TOKEN", RunLedger.GITHUB_TOKEN);
    server = new EmbeddedServerFiles(home);
    return env;
  }

  private GatewayProcess start(Map<String, String> env) throws Exception {
    GatewayProcess gateway = GatewayProcess.start(home, env);
    started.add(gateway);
    return gateway;
  }

  /** Waits until some step is running (the moment to kill at: work in flight). */
  private void awaitStepRunning() {
    awaitMoment("a step is running")
        .ignoreExceptions() // the database may not answer yet
        .until(
            () -> {
              try (Connection c = server.superuser().getConnection();
                  Statement s = c.createStatement();
                  ResultSet rs =
                      s.executeQuery("select count(*) from steps where status = 'running'")) {
                rs.next();
                return rs.getInt(1) > 0;
              }
            });
  }

  private void assertRunsFinishedIntact(
      GatewayProcess gateway, CountingGithubMcpServer github, List<String> runs) throws Exception {
    RunLedger ledger = new RunLedger(server.superuser());
    assertEquals(List.of(), ledger.awaitTerminal(runs, Duration.ofMinutes(3)), "runs still open");
    assertEquals(List.of(), ledger.notSucceeded(runs));
    assertEquals(List.of(), ledger.issueProblems(github, runs));
    assertEquals(runs.size(), github.effects("create_issue"), "one issue per run");
    assertEquals(List.of(), ledger.ungatedInvocations(runs));
    assertEquals(List.of(), ledger.overlappingAttempts(runs));
    assertEquals(List.of(), ledger.brokenEventChains(runs));
    JsonNode audit =
        gateway.call("GET", "/v1/audit/verify", null, TestGateway.OPERATOR_TOKEN).body();
    assertTrue(audit.path("intact").asBoolean(), audit.toString());
    List<String> logs = new ArrayList<>();
    for (GatewayProcess g : started) {
      logs.add(Files.readString(g.log()));
    }
    assertTrue(logs.stream().noneMatch(l -> l.contains("could not start")), "no start failed");
  }

  /** The moments to kill at are short: look every 5 ms, for up to 90 s. */
  private static ConditionFactory awaitMoment(String what) {
    return await(what).atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(5));
  }
}
