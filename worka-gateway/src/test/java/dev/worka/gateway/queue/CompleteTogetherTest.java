package dev.worka.gateway.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CompleteTogetherTest {
  @Test
  void everyCompletionIsWrittenInExactlyOneBatchAndAnsweredToItsOwnCaller() throws Exception {
    Map<UUID, Integer> written = new ConcurrentHashMap<>();
    AtomicInteger writing = new AtomicInteger();
    AtomicInteger mostAtOnce = new AtomicInteger();
    AtomicInteger batches = new AtomicInteger();
    Set<UUID> lost = ConcurrentHashMap.newKeySet();
    CompleteTogether together =
        new CompleteTogether(
            ids -> {
              mostAtOnce.accumulateAndGet(writing.incrementAndGet(), Math::max);
              batches.incrementAndGet();
              try {
                Set<UUID> done = new HashSet<>();
                for (UUID id : ids) {
                  written.merge(id, 1, Integer::sum);
                  if (!lost.contains(id)) {
                    done.add(id);
                  }
                }
                Thread.onSpinWait();
                return done;
              } finally {
                writing.decrementAndGet();
              }
            },
            50);
    int callers = 16;
    int each = 2_000;
    List<Future<List<String>>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(callers)) {
      for (int c = 0; c < callers; c++) {
        results.add(
            pool.submit(
                () -> {
                  List<String> wrong = new ArrayList<>();
                  for (int i = 0; i < each; i++) {
                    UUID id = UUID.randomUUID();
                    boolean claimLost = i % 7 == 0;
                    if (claimLost) {
                      lost.add(id);
                    }
                    if (together.complete(id) == claimLost) {
                      wrong.add(id + " answered " + !claimLost);
                    }
                  }
                  return wrong;
                }));
      }
      for (Future<List<String>> f : results) {
        assertEquals(List.of(), f.get(1, TimeUnit.MINUTES));
      }
    }
    assertEquals(callers * each, written.size());
    assertTrue(written.values().stream().allMatch(n -> n == 1), "no completion written twice");
    assertEquals(1, mostAtOnce.get(), "one statement at a time");
    assertTrue(batches.get() < callers * each, "completions shared statements");
  }

  @Test
  void aFailureReachesTheCallerAndTheNextCallerWritesAgain() {
    RuntimeException down = new IllegalStateException("database down");
    AtomicInteger calls = new AtomicInteger();
    CompleteTogether together =
        new CompleteTogether(
            ids -> {
              if (calls.incrementAndGet() == 1) {
                throw down;
              }
              return Set.copyOf(ids);
            },
            10);
    assertSame(
        down,
        assertThrows(IllegalStateException.class, () -> together.complete(UUID.randomUUID())));
    assertTrue(
        together.complete(UUID.randomUUID()),
        "after a failure the next completion is written again");
    assertFalse(new CompleteTogether(ids -> Set.of(), 10).complete(UUID.randomUUID()));
  }

  @Test
  void aCallerThatDoesNotWaitGetsItsAnswerOnceTheBatchIsWritten() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
    List<List<UUID>> statements = java.util.Collections.synchronizedList(new ArrayList<>());
    CompleteTogether together =
        new CompleteTogether(
            ids -> {
              statements.add(List.copyOf(ids));
              writing.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
              return Set.copyOf(ids);
            },
            500);
    UUID first = UUID.randomUUID();
    var firstAnswer = together.completeLater(first);
    assertTrue(writing.await(10, TimeUnit.SECONDS), "a lone completion is written at once");
    // While the first statement is held, later completions pile up for the next one.
    List<java.util.concurrent.CompletableFuture<Boolean>> later = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      later.add(together.completeLater(UUID.randomUUID()));
    }
    assertFalse(firstAnswer.isDone(), "answered before its statement was written");
    assertTrue(later.stream().noneMatch(java.util.concurrent.CompletableFuture::isDone));
    release.countDown();
    assertTrue(firstAnswer.get(10, TimeUnit.SECONDS));
    for (var f : later) {
      assertTrue(f.get(10, TimeUnit.SECONDS));
    }
    assertEquals(List.of(first), statements.get(0));
    assertEquals(
        2, statements.size(), "the hundred that waited shared one statement: " + statements.size());
    assertEquals(100, statements.get(1).size());
  }
}
