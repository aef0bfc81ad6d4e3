package dev.worka.gateway.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Several Gateways on one tasks table (db-scheduler's {@code ClusterTests}): four {@link
 * TaskQueue}s with distinct owners, each with its own connection pool as separate Gateways have,
 * each running three claiming threads, over 10,000 tasks. Some claimers die holding claims — all of
 * one Gateway (a crash) and one thread of another (a stuck worker) — so their leases expire and the
 * reaper hands those tasks to the survivors.
 *
 * <p>To execute a task is to record its effect in {@code race_effects} (one row per task, a unique
 * key, and a count of executions, so a second execution shows as a count of 2 rather than being
 * swallowed), then complete the task. A dead claimer's execution never completes: it may have
 * started (it is counted as started) but records no effect and never calls {@code complete}.
 *
 * <p>Time is a {@link SettableClock}. It jumps past the lease after each death, and only while no
 * live claimer holds a batch (a read–write lock: claimers hold it from claim to the last complete,
 * the jump takes it exclusively) — i.e. live executions are much shorter than the lease, as
 * heartbeats make them in the Gateway; the dead hold their claims across jumps.
 *
 * <p>Checked: every task is done and its effect recorded exactly once, by a live claimer whose
 * {@code complete} succeeded; no task is ever claimed while another claimer holds it, unless that
 * claimer is dead and its lease ended before the new claim (a claim log kept as the claims happen);
 * every task a dead claimer held was taken over after expiry (attempts ≥ 2); and a dead claimer
 * that comes back can neither complete nor heartbeat what it held.
 */
class TaskQueueRaceTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private static final int TASKS = 10_000;
  private static final int GATEWAYS = 4;
  private static final int THREADS_PER_GATEWAY = 3;
  private static final int BATCH = 20;
  private static final Duration LEASE = Duration.ofSeconds(30);
  private static final Set<String> KINDS = Set.of("work");

  /** Who holds a task's claim, per the claimers themselves. */
  private static final class Holder {
    final String who;
    final Instant leaseUntil;
    volatile boolean dead;

    Holder(String who, Instant leaseUntil) {
      this.who = who;
      this.leaseUntil = leaseUntil;
    }
  }

  private final SettableClock clock = new SettableClock();
  private final ReentrantReadWriteLock timeLock = new ReentrantReadWriteLock(true);
  private final Map<UUID, Holder> holders = new ConcurrentHashMap<>();
  private final Map<UUID, AtomicInteger> started = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
  private final AtomicInteger completed = new AtomicInteger();
  private final Semaphore deaths = new Semaphore(0);
  private final Map<String, List<Task>> heldByDead = new ConcurrentHashMap<>();

  @Test
  void fourGatewaysCompleteTenThousandTasksExactlyOnceWhileSomeClaimersDie() throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "create table race_effects (task_id uuid primary key, owner text not null,"
              + " attempt integer not null, executions integer not null default 1)");
      s.execute("grant select, insert, update on race_effects to " + Database.APPLICATION_ROLE);
    }
    TaskQueue seed = new TaskQueue(db.dataSource(), clock, "seed", LEASE);
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          for (int i = 0; i < TASKS; i++) {
            seed.enqueue(c, "work", null, null, "race-" + i, null);
          }
          return null;
        });
    clock.advance(Duration.ofSeconds(1));

    // gw-3 crashes: its three threads die once 10%, 20% and 30% of the tasks are done. One thread
    // of gw-1 gets stuck for good at 45%. The others run to the end.
    Map<String, Integer> dieAt =
        Map.of(
            "gw-3/0", TASKS / 10,
            "gw-3/1", TASKS / 5,
            "gw-3/2", TASKS * 3 / 10,
            "gw-1/0", TASKS * 45 / 100);
    List<Database> pools = new ArrayList<>();
    List<TaskQueue> queues = new ArrayList<>();
    ExecutorService threads = Executors.newFixedThreadPool(GATEWAYS * THREADS_PER_GATEWAY + 1);
    try {
      for (int g = 0; g < GATEWAYS; g++) {
        Database pool =
            Database.connect(db.applicationUrl(), THREADS_PER_GATEWAY + 1, "race-gw-" + g);
        pools.add(pool);
        queues.add(new TaskQueue(pool.dataSource(), clock, "gw-" + g, LEASE));
      }
      List<Future<?>> running = new ArrayList<>();
      for (int g = 0; g < GATEWAYS; g++) {
        for (int t = 0; t < THREADS_PER_GATEWAY; t++) {
          String who = "gw-" + g + "/" + t;
          TaskQueue queue = queues.get(g);
          Database pool = pools.get(g);
          Integer death = dieAt.get(who);
          running.add(threads.submit(() -> claimer(who, queue, pool, death == null ? -1 : death)));
        }
      }
      Future<?> timeKeeper = threads.submit(() -> keepTime(queues, dieAt.size()));
      for (Future<?> f : running) {
        f.get(2, TimeUnit.MINUTES);
      }
      timeKeeper.get(1, TimeUnit.MINUTES);

      assertEquals(List.of(), List.copyOf(violations), "violations seen while running");
      assertEquals(dieAt.keySet(), heldByDead.keySet(), "every claimer meant to die died");
      assertEquals(TASKS, completed.get());
      try (Connection c = db.dataSource().getConnection();
          Statement s = c.createStatement()) {
        assertEquals(Map.of(), statusCounts(s), "every task is done (its row deleted), none left");
        assertEquals(
            TASKS, single(s, "select count(*) from task_keys"), "every task's key is kept");
        assertEquals(
            TASKS, single(s, "select count(*) from race_effects"), "every task has its effect");
        assertEquals(
            0,
            single(s, "select count(*) from race_effects where executions <> 1"),
            "no task's effect was recorded twice");
      }
      // Every task a dead claimer held was reaped and completed by someone else (alive then: it
      // may be a claimer that died later), as a later attempt.
      List<UUID> orphaned =
          heldByDead.values().stream().flatMap(List::stream).map(Task::id).distinct().toList();
      assertFalse(orphaned.isEmpty(), "the dead held claims when they died");
      for (var e : heldByDead.entrySet()) {
        try (Connection c = db.dataSource().getConnection();
            PreparedStatement ps =
                c.prepareStatement(
                    "select count(*) from race_effects e where e.task_id = any(?) and e.owner <> ?"
                        + " and e.attempt >= 2 and not exists (select 1 from tasks t where t.id = e.task_id)")) {
          ps.setArray(1, c.createArrayOf("uuid", e.getValue().stream().map(Task::id).toArray()));
          ps.setString(2, e.getKey());
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertEquals(
                e.getValue().size(),
                rs.getInt(1),
                "each task " + e.getKey() + " held when it died was taken over after expiry");
          }
        }
      }
      // A dead claimer's execution started but never completed; its task still ran exactly once.
      for (UUID id : orphaned) {
        assertTrue(started.get(id).get() >= 1);
      }
      // The dead come back: what they held is no longer theirs.
      for (var e : heldByDead.entrySet()) {
        TaskQueue queue = queues.get(e.getKey().charAt(3) - '0');
        for (Task t : e.getValue()) {
          assertFalse(queue.heartbeat(t.id()), e.getKey() + " cannot extend a lost claim");
          assertFalse(queue.complete(t.id()), e.getKey() + " cannot complete a lost claim");
        }
      }
    } finally {
      threads.shutdownNow();
      threads.awaitTermination(30, TimeUnit.SECONDS);
      for (Database pool : pools) {
        pool.close();
      }
    }
  }

  /**
   * One claiming thread: claim a batch, execute and complete each task, until every task is done —
   * or, if {@code dieAt >= 0}, until that many tasks are done, when it claims one more batch,
   * starts executing its first task, and dies holding the batch.
   */
  private Void claimer(String who, TaskQueue queue, Database pool, int dieAt) throws Exception {
    while (completed.get() < TASKS) {
      long seen = queue.wakeups();
      boolean dying = dieAt >= 0 && completed.get() >= dieAt;
      List<Task> batch;
      timeLock.readLock().lock();
      try {
        batch = queue.claim(KINDS, BATCH);
        Instant now = clock.instant();
        for (Task t : batch) {
          logClaim(who, t, now);
        }
        if (dying && !batch.isEmpty()) {
          started.computeIfAbsent(batch.get(0).id(), k -> new AtomicInteger()).incrementAndGet();
          for (Task t : batch) {
            holders.get(t.id()).dead = true;
          }
          heldByDead.put(who, batch);
          deaths.release();
          return null;
        }
        for (Task t : batch) {
          started.computeIfAbsent(t.id(), k -> new AtomicInteger()).incrementAndGet();
          recordEffect(pool, t.id(), t.attempts(), who);
          Holder h = holders.remove(t.id());
          if (h == null || !h.who.equals(who)) {
            violations.add(
                who
                    + " finished "
                    + t.id()
                    + " but the claim log says "
                    + (h == null ? "nobody" : h.who)
                    + " held it");
          }
          if (!queue.complete(t.id())) {
            violations.add(who + " executed " + t.id() + " but lost its claim before completing");
          }
          completed.incrementAndGet();
        }
      } finally {
        timeLock.readLock().unlock();
      }
      if (batch.isEmpty()) {
        // Nothing ready now: what is left is held by others, or by the dead until the reaper runs.
        queue.reapExpired();
        queue.awaitWork(seen, Duration.ofMillis(20));
      }
    }
    return null;
  }

  /** The claim log: a claim must not overlap the claim of anyone else on the same task. */
  private void logClaim(String who, Task t, Instant now) {
    if (!t.leaseOwner().equals(who.substring(0, who.indexOf('/')))) {
      violations.add(who + " claimed " + t.id() + " with lease owner " + t.leaseOwner());
    }
    Holder previous = holders.put(t.id(), new Holder(who, t.leaseUntil()));
    if (previous != null) {
      if (!previous.dead) {
        violations.add(who + " claimed " + t.id() + " while " + previous.who + " (alive) held it");
      } else if (!now.isAfter(previous.leaseUntil)) {
        violations.add(
            who
                + " claimed "
                + t.id()
                + " at "
                + now
                + " before the lease of dead "
                + previous.who
                + " ended at "
                + previous.leaseUntil);
      }
    }
  }

  private static void recordEffect(Database pool, UUID taskId, int attempt, String who) {
    Transactions.withConnection(
        pool.dataSource(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "insert into race_effects (task_id, owner, attempt) values (?, ?, ?)"
                      + " on conflict (task_id) do update set executions = race_effects.executions + 1")) {
            ps.setObject(1, taskId);
            ps.setString(2, who);
            ps.setInt(3, attempt);
            return ps.executeUpdate();
          }
        });
  }

  /**
   * After each death, moves time past the lease while no live claimer holds a batch, reaps, and
   * wakes every Gateway's claimers.
   */
  private Void keepTime(List<TaskQueue> queues, int expectedDeaths) throws InterruptedException {
    for (int d = 0; d < expectedDeaths; d++) {
      while (!deaths.tryAcquire(50, TimeUnit.MILLISECONDS)) {
        if (completed.get() >= TASKS) {
          return null;
        }
      }
      timeLock.writeLock().lock();
      try {
        clock.advance(LEASE.plusSeconds(1));
      } finally {
        timeLock.writeLock().unlock();
      }
      queues.get(0).reapExpired();
      for (TaskQueue q : queues) {
        q.wakeUp();
      }
    }
    return null;
  }

  private static Map<String, Long> statusCounts(Statement s) throws SQLException {
    Map<String, Long> counts = new TreeMap<>();
    try (ResultSet rs = s.executeQuery("select status, count(*) from tasks group by status")) {
      while (rs.next()) {
        counts.put(rs.getString(1), rs.getLong(2));
      }
    }
    return counts;
  }

  private static long single(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
