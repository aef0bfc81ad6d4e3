package dev.worka.gateway.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class ClaimLoopTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private static final Duration LEASE = Duration.ofSeconds(30);
  private final SettableClock clock = new SettableClock();
  private TaskQueue queue;

  @org.junit.jupiter.api.BeforeEach
  void newQueue() {
    queue = new TaskQueue(db.dataSource(), clock, "loop-" + UUID.randomUUID(), LEASE);
  }

  private void enqueue(String kind, int n) {
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          for (int i = 0; i < n; i++) {
            queue.enqueue(c, kind, null, null, kind + "-" + i, null);
          }
          return null;
        });
  }

  private ClaimLoop loop(String kind, int concurrency, int prefetch, Consumer<Task> handler) {
    return new ClaimLoop(
        "test-" + kind,
        queue,
        List.of(kind),
        concurrency,
        prefetch,
        clock,
        LEASE,
        Thread.ofVirtual().factory(),
        handler);
  }

  /** A handler's wait for the test to let it finish. */
  private static void awaitGo(CountDownLatch go) {
    try {
      go.await();
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Tasks of {@code kind} still in the table, by status. */
  private static Map<String, Integer> statuses(String kind) {
    return Transactions.withConnection(
        db.dataSource(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "select status, count(*) from tasks where kind = ? group by status")) {
            ps.setString(1, kind);
            Map<String, Integer> m = new TreeMap<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                m.put(rs.getString(1), rs.getInt(2));
              }
            }
            return m;
          }
        });
  }

  @Test
  void runsEachTaskOnceAtMostConcurrencyAtOnceClaimingAheadUpToPrefetch() throws Exception {
    String kind = "loop-many";
    enqueue(kind, 200);
    CountDownLatch threeStarted = new CountDownLatch(3);
    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch allDone = new CountDownLatch(200);
    AtomicInteger now = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    Map<UUID, Integer> runs = new ConcurrentHashMap<>();
    try (ClaimLoop loop =
        loop(
            kind,
            3,
            10,
            t -> {
              most.accumulateAndGet(now.incrementAndGet(), Math::max);
              runs.merge(t.id(), 1, Integer::sum);
              threeStarted.countDown();
              awaitGo(go);
              now.decrementAndGet();
              // A completion that fails never counts down: the test fails waiting for allDone.
              var unused = queue.completeLater(t.id()).thenRun(allDone::countDown);
            })) {
      loop.start();
      assertTrue(threeStarted.await(30, TimeUnit.SECONDS));
      // One claim took the three that run and the ten that wait for them; nothing more is claimed.
      assertEquals(3, loop.running());
      assertEquals(Map.of("claimed", 13, "ready", 187), statuses(kind));
      go.countDown();
      assertTrue(allDone.await(60, TimeUnit.SECONDS), "every task done");
    }
    assertEquals(200, runs.size());
    assertTrue(runs.values().stream().allMatch(n -> n == 1), "no task ran twice");
    assertEquals(3, most.get(), "never more than 3 at once, and 3 did run at once");
    assertEquals(Map.of(), statuses(kind), "a done task's row is gone");
  }

  @Test
  void aTaskThatWaitedPastHalfItsLeaseIsGivenBackAndRunOnAFreshClaim() throws Exception {
    String kind = "loop-stale";
    enqueue(kind, 6);
    CountDownLatch firstStarted = new CountDownLatch(1);
    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch allDone = new CountDownLatch(6);
    Map<UUID, Integer> attempts = new ConcurrentHashMap<>();
    try (ClaimLoop loop =
        loop(
            kind,
            1,
            5,
            t -> {
              attempts.merge(t.id(), t.attempts(), Math::max);
              firstStarted.countDown();
              awaitGo(go);
              // A completion that fails never counts down: the test fails waiting for allDone.
              var unused = queue.completeLater(t.id()).thenRun(allDone::countDown);
            })) {
      loop.start();
      assertTrue(firstStarted.await(30, TimeUnit.SECONDS));
      assertEquals(Map.of("claimed", 6), statuses(kind));
      // The five claimed ahead would start with less than half their lease left.
      clock.advance(LEASE.dividedBy(2).plusSeconds(1));
      go.countDown();
      assertTrue(allDone.await(60, TimeUnit.SECONDS), "every task done");
    }
    assertEquals(6, attempts.size());
    assertEquals(
        1,
        attempts.values().stream().filter(a -> a == 1).count(),
        "only the first ran on its first claim");
    assertEquals(
        5,
        attempts.values().stream().filter(a -> a == 2).count(),
        "the five given back ran once, claimed again");
  }

  @Test
  void closingGivesBackTheTasksClaimedAheadAndLetsTheRunningOneFinish() throws Exception {
    String kind = "loop-close";
    enqueue(kind, 6);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch go = new CountDownLatch(1);
    AtomicInteger ran = new AtomicInteger();
    ClaimLoop loop =
        loop(
            kind,
            1,
            5,
            t -> {
              ran.incrementAndGet();
              started.countDown();
              awaitGo(go);
              queue.complete(t.id());
            });
    loop.start();
    assertTrue(started.await(30, TimeUnit.SECONDS));
    loop.close();
    assertEquals(
        Map.of("claimed", 1, "ready", 5),
        statuses(kind),
        "the five waiting were given back at once");
    go.countDown();
    assertTrue(loop.awaitIdle(Duration.ofSeconds(30)));
    assertEquals(1, ran.get());
    assertEquals(Map.of("ready", 5), statuses(kind));
  }
}
