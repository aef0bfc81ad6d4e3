package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos: live runs (each creates one issue with a title of its own on a GitHub MCP server that
 * counts effects) while the Gateway is SIGKILLed at random moments and started again on the same
 * home and database. At the end every run is terminal, no issue exists twice, every issue maps to a
 * succeeded invocation, every invocation has its allow gate, no step's attempts overlapped, every
 * run's and step's events form a complete chain, and no run failed.
 *
 * <p>Sized by system properties: {@code worka.chaos.runs} (200), {@code worka.chaos.kills} (10),
 * {@code worka.chaos.seed} (random; printed), {@code worka.chaos.concurrency}
 * (WORKA_MAX_CONCURRENT_STEPS, 4). Agents are {@link ChaosWorker} (JDK-only, fast to start). The
 * bigger run is {@code worka-bench/chaos} (1,000 runs, 20 kills).
 */
@Tag("chaos")
class ChaosTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  @TempDir Path home;

  @Test
  void runsFinishWithEveryEffectOnceWhileTheGatewayIsKilledAtRandom() throws Exception {
    int runCount = Integer.getInteger("worka.chaos.runs", 200);
    int killCount = Integer.getInteger("worka.chaos.kills", 10);
    long seed = Long.getLong("worka.chaos.seed", System.nanoTime());
    Random random = new Random(seed);
    RunLedger ledger = new RunLedger(db.dataSource());
    String policy =
        TestGateway.policyWith(
            Map.of("hari", ChaosWorker.command("plan"), "ernest", ChaosWorker.command("work")),
            null);
    policy = TestGateway.withLimit(RunLedger.quickRetryPolicy(policy), "max_attempts", "5");
    long began = System.nanoTime();
    List<String> runs = new ArrayList<>();
    List<Instant> killedAt = new ArrayList<>();
    List<Duration> restarts = new ArrayList<>();
    try (CountingGithubMcpServer server =
        CountingGithubMcpServer.http(0, RunLedger.GITHUB_TOKEN, Set.of())) {
      Map<String, String> env = RunLedger.environment(home, db.url(), server, policy);
      env.put(
          "WORKA_MAX_CONCURRENT_STEPS",
          Integer.toString(Integer.getInteger("worka.chaos.concurrency", 4)));
      GatewayProcess gateway = GatewayProcess.start(home, env);
      try {
        for (int i = 0; i < runCount; i++) {
          runs.add(
              RunLedger.submit(gateway, "open an issue in acme/widgets titled 'Chaos " + i + "'"));
        }
        while (killedAt.size() < killCount) {
          // Not a poll: the random moment of the next kill (1 to 5 s of work in flight).
          Thread.sleep(1_000 + random.nextInt(4_000));
          if (ledger.open(runs).isEmpty()) {
            // Every run ended before all the kills: keep work in flight for the rest.
            for (int i = 0; i < 20; i++) {
              runs.add(
                  RunLedger.submit(
                      gateway, "open an issue in acme/widgets titled 'Chaos " + runs.size() + "'"));
            }
            // Not a poll: let the new runs get under way for a random while before the kill.
            Thread.sleep(random.nextInt(2_000));
          }
          List<ProcessHandle> workers = gateway.descendants();
          killedAt.add(Instant.now());
          gateway.kill();
          CrashRecoveryTest.awaitGone(workers, Duration.ofSeconds(10));
          long restarting = System.nanoTime();
          gateway = GatewayProcess.start(home, env);
          restarts.add(Duration.ofNanos(System.nanoTime() - restarting));
        }
        List<String> open =
            ledger.awaitTerminal(runs, Duration.ofSeconds(Math.max(300, runs.size())));
        assertEquals(List.of(), open, "runs still open");
      } finally {
        gateway.close();
      }
      Duration took = Duration.ofNanos(System.nanoTime() - began);

      List<String> failed = ledger.notSucceeded(runs);
      List<Duration> recoveries = recoveries(killedAt);
      System.out.printf(
          "chaos: seed %d, %d runs, %d kills, %d s, %.2f runs/s; restart (kill to listening) ms %s;"
              + " kill to the next step succeeding ms %s; burns %s; failed %d %s%n",
          seed,
          runs.size(),
          killedAt.size(),
          took.toSeconds(),
          runs.size() / (took.toMillis() / 1000.0),
          restarts.stream().map(Duration::toMillis).toList(),
          recoveries.stream().map(Duration::toMillis).toList(),
          ledger.burnsByKind(runs),
          failed.size(),
          failed);

      assertTrue(runs.size() >= runCount && killedAt.size() >= killCount);
      assertEquals(List.of(), ledger.issueProblems(server, runs));
      assertEquals(List.of(), ledger.ungatedInvocations(runs));
      assertEquals(List.of(), ledger.overlappingAttempts(runs));
      assertEquals(List.of(), ledger.brokenEventChains(runs));
      assertEquals(List.of(), failed, "every run succeeds (a failed one would have to say why)");
      assertEquals(runs.size(), server.effects("create_issue"), "one issue per run");
      Map<String, Long> titles =
          server.issues("acme", "widgets").stream()
              .collect(
                  Collectors.groupingBy(
                      CountingGithubMcpServer.Issue::title, TreeMap::new, Collectors.counting()));
      assertEquals(runs.size(), titles.size(), "every run's own issue");
    }
  }

  /**
   * For each kill, how long until a step next succeeded (the restarted Gateway making progress
   * again).
   */
  private static List<Duration> recoveries(List<Instant> killedAt) throws Exception {
    List<Duration> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select min(created_at) from run_events"
                    + " where entity = 'step' and to_status = 'succeeded' and created_at > ?")) {
      for (Instant k : killedAt) {
        ps.setObject(1, java.time.OffsetDateTime.ofInstant(k, java.time.ZoneOffset.UTC));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          java.sql.Timestamp next = rs.getTimestamp(1);
          out.add(next == null ? Duration.ZERO : Duration.between(k, next.toInstant()));
        }
      }
    }
    return out;
  }
}
