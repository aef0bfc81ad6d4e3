package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Gateway killed (SIGKILL) at distinct moments of a live run — while its planner runs, while
 * its worker runs, in the middle of delivering its result — and started again on the same home and
 * database: the run succeeds, the killed Gateway's (sandboxed) workers died with it, no two
 * attempts of a step overlapped, no event is missing, and the one issue the run asks for exists
 * once, after an allow gate.
 *
 * <p>Unsandboxed workers do not die with their Gateway; the next Gateway kills them from their
 * records under WORKA_HOME/workers: {@code ProcessRuntimeTest
 * .workersLeftByAGatewayThatStoppedAreKilledByTheNextOneWithAllTheyStarted} shows that.
 */
class CrashRecoveryTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  @TempDir Path home;

  /**
   * The planner is held inside its plan's submission (the plan gate's insert waits, uncommitted),
   * so it is certainly alive when the Gateway dies: a planner that finished first would make the
   * moment a race.
   */
  @Test
  void killedWhileThePlannerRunsTheRunStillSucceeds() throws Exception {
    hold("insert", "gates", "new.action = 'plan.submit'");
    killAndRecover("Killed planning", "planning", "planner", "insert into gates");
  }

  /** The worker is held inside its skill call, as the planner above. */
  @Test
  void killedWhileTheWorkerRunsTheRunStillSucceeds() throws Exception {
    hold("insert", "gates", "new.skill = 'github.create_issue'");
    killAndRecover("Killed working", "running", "worker", "insert into gates");
  }

  @Test
  void killedInTheMiddleOfDeliveryTheRunStillSucceeds() throws Exception {
    hold("update", "runs", "new.status = 'succeeded'");
    killAndRecover("Killed delivering", "delivering", null, "update runs");
  }

  @Test
  void killedAfterThePlanWasAcceptedBeforeThePlannersResultTheRunStillSucceeds() throws Exception {
    hold("update", "steps", "new.status = 'succeeded' and new.role = 'planner'");
    killAndRecover("Killed planned", "planning", null, "update steps");
  }

  /**
   * Test instrumentation on this test's own database: an {@code operation} (insert or update) on
   * {@code table} matching {@code when} waits while kill_hold has a row, so the Gateway can be
   * killed inside that transaction.
   */
  private static void hold(String operation, String table, String when) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("create table kill_hold (held boolean)");
      s.execute("insert into kill_hold values (true)");
      s.execute(
          "create function kill_hold_wait() returns trigger language plpgsql as $$ begin"
              + " while exists (select 1 from kill_hold) loop perform pg_sleep(0.05); end loop; return new; end $$");
      s.execute(
          "create trigger kill_hold_write before "
              + operation
              + " on "
              + table
              + " for each row"
              + " when ("
              + when
              + ") execute function kill_hold_wait()");
    }
  }

  /**
   * Runs one live run on a first Gateway, kills it once the run is in {@code runStatus} with a
   * {@code runningRole} step running (if not null) and with a statement starting {@code held}
   * waiting in {@link #hold} (if not null), starts a second Gateway on the same home and checks the
   * run's story.
   */
  @SuppressWarnings("try") // `second` is the Gateway recovering the run while the block waits
  private void killAndRecover(String title, String runStatus, String runningRole, String held)
      throws Exception {
    RunLedger ledger = new RunLedger(db.dataSource());
    try (CountingGithubMcpServer server =
        CountingGithubMcpServer.http(0, RunLedger.GITHUB_TOKEN, Set.of())) {
      Map<String, String> env =
          RunLedger.environment(
              home,
              db.url(),
              server,
              RunLedger.quickRetryPolicy(TestGateway.builtinPolicyForTests()));
      String runId;
      try (GatewayProcess first = GatewayProcess.start(home, env)) {
        runId = RunLedger.submit(first, "open an issue in acme/widgets titled '" + title + "'");
        awaitMoment(
            runId,
            runStatus,
            runningRole,
            held,
            () -> runningRole == null || !first.descendants().isEmpty(),
            Duration.ofSeconds(90));
        List<ProcessHandle> workers = first.descendants();
        if (runningRole != null) {
          assertTrue(!workers.isEmpty(), "a worker process runs at the moment of the kill");
        }
        first.kill();
        awaitGone(workers, Duration.ofSeconds(10));
      }
      if (held != null) {
        assertEquals(
            runStatus,
            ledger.statuses(List.of(runId)).get(runId),
            "killed before the held update committed");
        try (Connection c = db.dataSource().getConnection();
            Statement s = c.createStatement()) {
          s.execute("delete from kill_hold");
        }
      }

      try (GatewayProcess second = GatewayProcess.start(home, env)) {
        assertEquals(List.of(), ledger.awaitTerminal(List.of(runId), Duration.ofMinutes(2)));
      }
      assertEquals(List.of(), ledger.notSucceeded(List.of(runId)));
      assertEquals(1, server.effects("create_issue"), "one issue");
      assertEquals(List.of(), ledger.issueProblems(server, List.of(runId)));
      assertEquals(List.of(), ledger.overlappingAttempts(List.of(runId)));
      assertEquals(List.of(), ledger.brokenEventChains(List.of(runId)));
      assertEquals(List.of(), ledger.ungatedInvocations(List.of(runId)));
      if (runningRole != null || "update steps".equals(held)) {
        assertEquals(
            Map.of("lost", 1L),
            ledger.burnsByKind(List.of(runId)),
            "the killed attempt is recorded lost, once, and retried");
        assertEquals(3, ledger.attempts(List.of(runId)).size(), "two steps, one of them twice");
      } else {
        assertEquals(Map.of(), ledger.burnsByKind(List.of(runId)), "no attempt was running");
      }
    }
  }

  /** Waits (bounded) for the moment to kill at. */
  private static void awaitMoment(
      String runId,
      String runStatus,
      String runningRole,
      String held,
      java.util.function.BooleanSupplier workerStarted,
      Duration max)
      throws Exception {
    String sql =
        "select (select count(*) from runs where id = ?::uuid and status = ?) > 0"
            + " and (?::text is null or exists (select 1 from steps where run_id = ?::uuid"
            + " and role = ? and status = 'running'))"
            // the held statement waits in kill_hold_wait, its transaction open
            + " and (?::text is null or exists (select 1 from pg_stat_activity"
            + " where datname = current_database() and wait_event = 'PgSleep'"
            + " and query ilike '%' || ? || '%'))";
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, runId);
      s.setString(2, runStatus);
      s.setString(3, runningRole);
      s.setString(4, runId);
      s.setString(5, runningRole);
      s.setString(6, held);
      s.setString(7, held);
      await("run " + runId + " reaching " + runStatus + " with a " + runningRole + " step running")
          .atMost(max)
          .pollInSameThread() // on the test's connection
          .pollInterval(Duration.ofMillis(10))
          .until(
              () -> {
                try (ResultSet rs = s.executeQuery()) {
                  rs.next();
                  return rs.getBoolean(1) && workerStarted.getAsBoolean();
                }
              });
    }
  }

  /** Waits (bounded) until every one of {@code processes} has exited. */
  static void awaitGone(List<ProcessHandle> processes, Duration max) {
    await("no process outliving its Gateway")
        .atMost(max)
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                processes.stream()
                    .filter(ProcessHandle::isAlive)
                    .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
                    .toList(),
            List::isEmpty);
  }
}
