package dev.worka.gateway.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TaskQueueTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();

  private TaskQueue queue(String owner) {
    return new TaskQueue(db.dataSource(), clock, owner, Duration.ofSeconds(30));
  }

  private boolean enqueue(TaskQueue q, String key) {
    return Transactions.inTransaction(
        db.dataSource(), c -> q.enqueue(c, "work", null, null, key, null));
  }

  @Test
  void depthCountsTasksByStateAndLagIsTheWaitOfTheOldestDueOne() {
    TaskQueue q = queue("a");
    assertEquals(new TaskQueue.Depth(0, 0, 0, Duration.ZERO), q.depth());
    enqueue(q, "first");
    clock.advance(Duration.ofSeconds(3));
    enqueue(q, "second");
    Transactions.inTransaction(
        db.dataSource(),
        c -> q.enqueue(c, "work", null, null, "later", clock.instant().plusSeconds(60)));
    clock.advance(Duration.ofSeconds(2));
    assertEquals(new TaskQueue.Depth(2, 1, 0, Duration.ofSeconds(5)), q.depth());
    assertEquals(1, q.claim(Set.of("work"), 1).size()); // the oldest
    assertEquals(new TaskQueue.Depth(1, 1, 1, Duration.ofSeconds(2)), q.depth());
    clock.advance(Duration.ofSeconds(60));
    assertEquals(
        new TaskQueue.Depth(2, 0, 1, Duration.ofSeconds(62)),
        q.depth(),
        "the scheduled task fell due; the second waits longest");
  }

  @Test
  void theSameIdempotencyKeyMakesOneTask() {
    TaskQueue q = queue("a");
    assertTrue(enqueue(q, "k1"));
    assertFalse(enqueue(q, "k1"));
    assertEquals(1, q.claim(Set.of("work"), 10).size());
    assertEquals(0, q.claim(Set.of("work"), 10).size());
  }

  @Test
  void aTaskIsNotClaimedBeforeItsTimeNorByOtherKinds() {
    TaskQueue q = queue("a");
    Transactions.inTransaction(
        db.dataSource(),
        c -> q.enqueue(c, "work", null, null, "later", clock.instant().plusSeconds(10)));
    assertEquals(0, q.claim(Set.of("work"), 1).size());
    clock.advance(Duration.ofSeconds(11));
    assertEquals(0, q.claim(Set.of("other"), 1).size());
    assertEquals(1, q.claim(Set.of("work"), 1).size());
  }

  @Test
  void anExpiredLeaseIsReapedAndClaimedByAnotherGatewayWhileAHeartbeatKeepsIt() {
    TaskQueue a = queue("a");
    TaskQueue b = queue("b");
    enqueue(a, "k1");
    enqueue(a, "k2");
    List<Task> claimed = a.claim(Set.of("work"), 2);
    assertEquals(2, claimed.size());
    clock.advance(Duration.ofSeconds(20));
    assertTrue(a.heartbeat(claimed.get(0).id()), "a heartbeat extends the lease");
    clock.advance(Duration.ofSeconds(15));
    assertEquals(1, b.reapExpired(), "only the task without a heartbeat expired");
    List<Task> stolen = b.claim(Set.of("work"), 10);
    assertEquals(1, stolen.size());
    assertEquals(claimed.get(1).id(), stolen.get(0).id());
    assertEquals(2, stolen.get(0).attempts());
    assertFalse(a.complete(claimed.get(1).id()), "a lost its claim and cannot complete it");
    assertTrue(b.complete(stolen.get(0).id()));
    assertTrue(a.complete(claimed.get(0).id()));
  }

  @Test
  void aWorkersHeartbeatExtendsTheClaimWhoeverHoldsItOnceHalfALeasePassedNeverShorteningIt() {
    TaskQueue a = queue("a");
    TaskQueue other = queue("another-gateway");
    enqueue(a, "execute:1");
    Task claimed = a.claim(Set.of("work"), 1).get(0);
    enqueue(a, "waiting");
    assertEquals(
        java.util.Optional.empty(),
        other.extendClaimed("waiting"),
        "a task nobody claimed has no lease");
    assertEquals("execute:1", claimed.idempotencyKey());
    java.time.Instant claimedUntil = claimed.leaseUntil();
    assertEquals(
        java.util.Optional.of(claimedUntil),
        other.extendClaimed("execute:1"),
        "more than half a lease left: not written again");

    clock.advance(Duration.ofSeconds(20));
    assertEquals(
        java.util.Optional.of(clock.instant().plusSeconds(30)),
        other.extendClaimed("execute:1"),
        "extended to a lease from now, though another Gateway holds it");
    assertTrue(clock.instant().plusSeconds(30).isAfter(claimedUntil));
    clock.advance(Duration.ofSeconds(15));
    assertEquals(0, other.reapExpired(), "past the first lease, but kept by the heartbeat");
    assertTrue(a.complete(claimed.id()), "still the holder's to complete");

    Task waiting = a.claim(Set.of("work"), 1).get(0);
    assertEquals("waiting", waiting.idempotencyKey());
    assertTrue(a.complete(waiting.id()));
    enqueue(a, "execute:2");
    Task second = a.claim(Set.of("work"), 1).get(0);
    assertTrue(a.heartbeat(second.id()));
    java.time.Instant held = clock.instant().plusSeconds(30);
    clock.set(clock.instant().minusSeconds(10)); // a worker whose clock view is behind
    assertEquals(java.util.Optional.of(held), a.extendClaimed("execute:2"), "never shortened");

    assertEquals(java.util.Optional.empty(), a.extendClaimed("no-such-task"));
    assertTrue(a.complete(second.id()));
    assertEquals(
        java.util.Optional.empty(), a.extendClaimed("execute:2"), "a done task has no lease");
  }

  @Test
  void aReleasedTaskRunsAgainAtItsRetryTime() {
    TaskQueue q = queue("a");
    enqueue(q, "k");
    Task t = q.claim(Set.of("work"), 1).get(0);
    assertTrue(q.release(t.id(), "boom", clock.instant().plusSeconds(5)));
    assertEquals(0, q.claim(Set.of("work"), 1).size());
    clock.advance(Duration.ofSeconds(5));
    assertEquals(1, q.claim(Set.of("work"), 1).size());
  }

  @Test
  void severalClaimersCompleteEveryTaskExactlyOnce() throws Exception {
    int tasks = 3000;
    TaskQueue seed = queue("seed");
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          for (int i = 0; i < tasks; i++) {
            seed.enqueue(c, "work", null, null, "race-" + i, null);
          }
          return null;
        });
    Set<UUID> done = ConcurrentHashMap.newKeySet();
    AtomicInteger duplicates = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(6);
    List<Future<?>> futures = new ArrayList<>();
    for (int w = 0; w < 6; w++) {
      TaskQueue q = queue("gw-" + w);
      futures.add(
          pool.submit(
              () -> {
                while (true) {
                  List<Task> batch = q.claim(Set.of("work"), 25);
                  if (batch.isEmpty()) {
                    return null;
                  }
                  for (Task t : batch) {
                    if (!done.add(t.id())) {
                      duplicates.incrementAndGet();
                    }
                    assertTrue(q.complete(t.id()));
                  }
                }
              }));
    }
    for (Future<?> f : futures) {
      f.get();
    }
    pool.shutdown();
    assertEquals(0, duplicates.get());
    assertEquals(tasks, done.size());
  }
}
