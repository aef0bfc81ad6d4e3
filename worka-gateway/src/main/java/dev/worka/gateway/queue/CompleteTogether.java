package dev.worka.gateway.queue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Group commit for {@link TaskQueue#complete}: callers that complete tasks while completions are
 * being written are written together in a following statement, one transaction (one WAL flush)
 * for all of them, instead of one each. Up to {@code maxWriters} statements run at once, so a
 * caller that finds a writer free writes at once (nothing waits for a batch to fill); one that
 * finds them all busy waits for one of those statements, then is written in the next.
 *
 * <p>Each writing caller leads: it takes the completions waiting (its own first), writes them with
 * {@code write}, hands each caller its own answer (or the failure, which every caller of that
 * batch then throws), writes a few more batches if callers are still waiting, then passes the lead
 * to the oldest caller still waiting, if any. A caller's
 * answer is whether its own task was completed, exactly as if it had written alone. Batches never
 * share a task unless the same task is completed twice at once (only one of those callers gets
 * true), so concurrent statements do not wait on each other's rows.
 *
 * <p>Waiting callers park ({@link LockSupport}), each woken alone when its answer is in or the lead
 * is its turn; no monitor is held while waiting, so virtual threads (the Dispatcher runs executions
 * on them) do not pin their carrier.
 */
final class CompleteTogether {
  /** Completes the given tasks in one statement; returns the ids it completed. */
  @FunctionalInterface
  interface Write {
    Set<UUID> complete(Collection<UUID> taskIds);
  }

  private static final int WAITING = 0;
  private static final int LEADING = 1;
  private static final int ANSWERED = 2;
  /** Batches a leader writes for others after its own before it passes the lead on. */
  static final int EXTRA_BATCHES = 3;

  private static final class Waiter {
    final UUID taskId;
    final Thread thread = Thread.currentThread();
    boolean completed;
    RuntimeException failure;
    /** Written last, after the answer, by the thread that wakes this one. */
    volatile int state = WAITING;

    Waiter(UUID taskId) {
      this.taskId = taskId;
    }
  }

  private final Write write;
  private final int maxWriters;
  private final int maxBatch;
  private final ReentrantLock lock = new ReentrantLock();
  private List<Waiter> waiting = new ArrayList<>();
  private int leaders;

  CompleteTogether(Write write, int maxWriters, int maxBatch) {
    this.write = write;
    this.maxWriters = maxWriters;
    this.maxBatch = maxBatch;
  }

  boolean complete(UUID taskId) {
    Waiter me = new Waiter(taskId);
    lock.lock();
    try {
      if (leaders < maxWriters) {
        leaders++;
        me.state = LEADING;
      } else {
        waiting.add(me);
      }
    } finally {
      lock.unlock();
    }
    // Each waiter is woken alone (no herd): when answered, or when handed the lead.
    boolean interrupted = false;
    while (me.state == WAITING) {
      LockSupport.park(this);
      if (Thread.interrupted()) {
        // The completion is on its way to the database: wait for its answer, keep the interrupt.
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (me.state == LEADING) {
      lead(me);
    }
    if (me.failure != null) {
      throw me.failure;
    }
    return me.completed;
  }

  /**
   * Writes the leader's batch (its own completion first in it) and answers it; then, while callers
   * are waiting, writes up to {@link #EXTRA_BATCHES} more batches for them — the leader is running
   * already, a waiting caller handed the lead would first have to be scheduled, and under a busy
   * CPU that wait would hold up everyone behind it — and finally passes the lead on or gives the
   * writer up. After a failed write it stops serving others: each then tries for itself.
   */
  private void lead(Waiter me) {
    List<Waiter> batch;
    lock.lock();
    try {
      batch = take(me);
    } finally {
      lock.unlock();
    }
    for (int extra = 0; ; extra++) {
      boolean failed = writeAndAnswer(batch);
      lock.lock();
      try {
        if (waiting.isEmpty()) {
          leaders--;
          return;
        }
        if (failed || extra == EXTRA_BATCHES) {
          // Out of the list at once, so that no other writer hands the lead to it too.
          Waiter next = waiting.remove(0);
          next.state = LEADING;
          LockSupport.unpark(next.thread);
          return;
        }
        batch = take(null);
      } finally {
        lock.unlock();
      }
    }
  }

  /** Writes a batch and answers each of its callers; true if the write failed. */
  private boolean writeAndAnswer(List<Waiter> batch) {
    Set<UUID> completed = Set.of();
    RuntimeException failure = null;
    try {
      completed = write.complete(batch.stream().map(w -> w.taskId).toList());
    } catch (RuntimeException e) {
      failure = e;
    } catch (Error e) {
      answer(batch, Set.of(), new IllegalStateException("completing tasks failed: " + e, e));
      lock.lock();
      try {
        if (waiting.isEmpty()) {
          leaders--;
        } else {
          Waiter next = waiting.remove(0);
          next.state = LEADING;
          LockSupport.unpark(next.thread);
        }
      } finally {
        lock.unlock();
      }
      throw e;
    }
    answer(batch, completed, failure);
    return failure != null;
  }

  /**
   * The leader and up to {@code maxBatch - 1} waiting callers, oldest first. A leader is never in
   * the waiting list: it either found a writer free, or was taken out of the list when handed the
   * lead — so no completion is ever in two batches.
   */
  private List<Waiter> take(Waiter leader) {
    int others = Math.min(waiting.size(), leader == null ? maxBatch : maxBatch - 1);
    List<Waiter> batch = new ArrayList<>(others + 1);
    if (leader != null) {
      batch.add(leader);
    }
    batch.addAll(waiting.subList(0, others));
    waiting = new ArrayList<>(waiting.subList(others, waiting.size()));
    return batch;
  }

  private static void answer(List<Waiter> batch, Set<UUID> completed, RuntimeException failure) {
    Set<UUID> answeredTrue = new HashSet<>();
    for (Waiter w : batch) {
      w.failure = failure;
      // The same task twice in one batch: only one caller completed it.
      w.completed = failure == null && completed.contains(w.taskId) && answeredTrue.add(w.taskId);
    }
    Thread self = Thread.currentThread();
    for (Waiter w : batch) {
      w.state = ANSWERED;
      if (w.thread != self) {
        LockSupport.unpark(w.thread);
      }
    }
  }
}
