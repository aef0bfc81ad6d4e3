package dev.worka.gateway.queue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Group commit for {@link TaskQueue#complete}: completions asked for while a statement is being
 * written go together into the next one, one transaction (one WAL flush) for all of them, instead
 * of one each. One statement is written at a time, by a writer thread that runs while completions
 * are pending (a lone completion is written at once: nothing waits for a batch to fill), up to
 * {@code maxBatch} per statement. A caller either waits for its answer ({@link #complete}) or goes
 * on and reads it later ({@link #completeLater}) — so a thread that finished a task can take the
 * next one while its completion is written with others'.
 *
 * <p>A caller's answer is whether its own task was completed, exactly as if it had written alone; a
 * failed statement fails every completion in it, and the next ones are written afresh.
 */
final class CompleteTogether {
  /** Completes the given tasks in one statement; returns the ids it completed. */
  @FunctionalInterface
  interface Write {
    Set<UUID> complete(Collection<UUID> taskIds);
  }

  /**
   * Writer threads, shared by every queue of this JVM: one runs per {@code CompleteTogether} while
   * it has completions pending; idle ones end after a minute. Platform threads: a blocking JDBC
   * round trip costs less on one than on a virtual thread.
   */
  private static final ExecutorService WRITERS =
      Executors.newCachedThreadPool(
          Thread.ofPlatform().name("worka-completions-", 1).daemon().factory());

  private record Pending(UUID taskId, CompletableFuture<Boolean> answer) {}

  private final Write write;
  private final int maxBatch;
  private final ReentrantLock lock = new ReentrantLock();
  private List<Pending> pending = new ArrayList<>();
  private boolean writing;

  CompleteTogether(Write write, int maxBatch) {
    this.write = write;
    this.maxBatch = maxBatch;
  }

  /** Completes the task and waits for the answer (whether it was still this claimer's). */
  boolean complete(UUID taskId) {
    try {
      return completeLater(taskId).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  /** Asks for the task's completion; the answer comes once it is durable (or failed). */
  CompletableFuture<Boolean> completeLater(UUID taskId) {
    Pending p = new Pending(taskId, new CompletableFuture<>());
    boolean startWriter;
    lock.lock();
    try {
      pending.add(p);
      startWriter = !writing;
      writing = true;
    } finally {
      lock.unlock();
    }
    if (startWriter) {
      WRITERS.execute(this::writeWhilePending);
    }
    return p.answer();
  }

  /** Writes batches, oldest first, until none is pending. */
  private void writeWhilePending() {
    while (true) {
      List<Pending> batch;
      lock.lock();
      try {
        if (pending.isEmpty()) {
          writing = false;
          return;
        }
        int n = Math.min(pending.size(), maxBatch);
        batch = new ArrayList<>(pending.subList(0, n));
        pending = new ArrayList<>(pending.subList(n, pending.size()));
      } finally {
        lock.unlock();
      }
      Set<UUID> completed;
      try {
        completed = write.complete(batch.stream().map(Pending::taskId).toList());
      } catch (RuntimeException e) {
        batch.forEach(p -> p.answer().completeExceptionally(e));
        continue;
      } catch (Error e) {
        IllegalStateException failed =
            new IllegalStateException("completing tasks failed: " + e, e);
        batch.forEach(p -> p.answer().completeExceptionally(failed));
        continue;
      }
      Set<UUID> answeredTrue = new HashSet<>();
      for (Pending p : batch) {
        // The same task twice in one batch: only one caller completed it.
        p.answer().complete(completed.contains(p.taskId()) && answeredTrue.add(p.taskId()));
      }
    }
  }
}
