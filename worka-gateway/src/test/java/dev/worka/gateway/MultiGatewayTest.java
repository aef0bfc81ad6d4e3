package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Gateway processes on one database share real runs (live side effects against a GitHub MCP
 * server that counts them): both take work, every step attempt is started by exactly one of them,
 * every issue is created once. Then one is killed (SIGKILL) with work in flight, and the other
 * finishes its runs once their leases expire.
 */
class MultiGatewayTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  @TempDir Path homes;

  @Test
  void twoGatewaysShareRunsAndTheSurvivorFinishesTheRunsOfOneKilledMidFlight() throws Exception {
    RunLedger ledger = new RunLedger(db.dataSource());
    try (CountingGithubMcpServer server =
        CountingGithubMcpServer.http(0, RunLedger.GITHUB_TOKEN, Set.of())) {
      String policy = RunLedger.quickRetryPolicy(TestGateway.builtinPolicyForTests());
      Map<String, String> envA =
          RunLedger.environment(homes.resolve("a"), db.url(), server, policy);
      Map<String, String> envB =
          RunLedger.environment(homes.resolve("b"), db.url(), server, policy);
      try (GatewayProcess a = GatewayProcess.start(homes.resolve("a"), envA);
          GatewayProcess b = GatewayProcess.start(homes.resolve("b"), envB)) {
        // 1. Twenty runs, submitted alternately to each.
        List<String> shared = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          shared.add(
              RunLedger.submit(
                  i % 2 == 0 ? a : b, "open an issue in acme/widgets titled 'Shared " + i + "'"));
        }
        assertEquals(
            List.of(), ledger.awaitTerminal(shared, Duration.ofMinutes(4)), "runs still open");
        assertEquals(List.of(), ledger.notSucceeded(shared));
        Map<String, Long> owners = ledger.attemptsByOwner(shared);
        assertTrue(
            owners.keySet().stream().anyMatch(o -> o.contains("-" + a.pid() + "-"))
                && owners.keySet().stream().anyMatch(o -> o.contains("-" + b.pid() + "-")),
            "both Gateways started step attempts: " + owners);
        // One attempt per step (a planner and a worker per run), each started by one Gateway; a
        // step is attempted again only after a failure of its attempt, recorded as a burn (under
        // a heavily loaded machine a worker can miss its deadline and be retried, as designed).
        Map<String, Long> burns = ledger.burnsByKind(shared);
        assertEquals(
            40 + burns.values().stream().mapToLong(Long::longValue).sum(),
            owners.values().stream().mapToLong(Long::longValue).sum(),
            "attempts: one per step plus one per recorded failure; by owner: "
                + owners
                + ", burns: "
                + burns);
        assertEquals(20, server.effects("create_issue"));
        assertEquals(List.of(), ledger.issueProblems(server, shared));
        assertEquals(List.of(), ledger.overlappingAttempts(shared));
        assertEquals(List.of(), ledger.brokenEventChains(shared));
        assertEquals(List.of(), ledger.ungatedInvocations(shared));

        // 2. Ten more; A is killed as soon as it runs a worker of one of them.
        List<String> more = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          more.add(
              RunLedger.submit(
                  i % 2 == 0 ? a : b, "open an issue in acme/widgets titled 'Survivor " + i + "'"));
        }
        awaitRunningAttemptOf(ledger, more, a.pid(), Duration.ofMinutes(2));
        a.kill();
        assertEquals(List.of(), a.descendants(), "no worker outlives its Gateway");
        assertEquals(
            List.of(), ledger.awaitTerminal(more, Duration.ofMinutes(4)), "runs still open");
        assertEquals(List.of(), ledger.notSucceeded(more));
        List<String> all = new ArrayList<>(shared);
        all.addAll(more);
        assertTrue(
            ledger.burnsByKind(more).getOrDefault("lost", 0L) >= 1,
            "the killed Gateway's attempt was found lost and retried by B: "
                + ledger.burnsByKind(more));
        assertEquals(30, server.effects("create_issue"), "one issue per run, none twice");
        assertEquals(List.of(), ledger.issueProblems(server, all));
        assertEquals(List.of(), ledger.overlappingAttempts(all));
        assertEquals(List.of(), ledger.brokenEventChains(all));
        assertEquals(List.of(), ledger.ungatedInvocations(all));
      }
    }
  }

  /**
   * Waits (bounded) until a step of {@code runIds} is running an attempt started by the Gateway
   * with {@code pid}.
   */
  private static void awaitRunningAttemptOf(
      RunLedger ledger, List<String> runIds, long pid, Duration max) {
    await("the Gateway " + pid + " running a step of " + runIds)
        .atMost(max)
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> ledger.attempts(runIds),
            attempts ->
                attempts.stream()
                    .anyMatch(t -> t.ended() == null && t.owner().contains("-" + pid + "-")));
  }
}
