package dev.worka.gateway.queue;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims tasks of some kinds from a {@link TaskQueue} and runs them, at most {@code concurrency} at
 * once. Up to {@code prefetch} more may be claimed ahead and wait here for a free slot, so that the
 * next claim (one statement for many tasks) overlaps with running the previous ones instead of
 * starting only once they are done: the loop claims again as soon as the tasks in hand (running or
 * waiting) fall to {@code concurrency + prefetch / 2}, up to {@code concurrency + prefetch}. With
 * {@code prefetch = 0} it claims whenever a slot is free, as many tasks as slots are free (right
 * for long tasks, such as step executions).
 *
 * <p>A task that waited here for longer than half its lease before a slot freed is given back to
 * the queue (due at once) instead of run, so a task is never started on a lease that may be about
 * to expire and be taken over by another Gateway (this rare path writes while holding the loop's
 * lock). {@link #close()} gives back every waiting task the same way; {@link #awaitIdle} then waits
 * for the running ones.
 *
 * <p>When nothing is due, the loop sleeps until {@link TaskQueue#wakeUp()} or half a second (other
 * Gateways' work). What a task does, and what happens when it fails, is the handler's business; the
 * handler completes or releases its task itself.
 */
public final class ClaimLoop implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClaimLoop.class);
  private static final Duration IDLE_WAIT = Duration.ofMillis(500);

  private final TaskQueue queue;
  private final List<String> kinds;
  private final int concurrency;
  private final int prefetch;
  private final Consumer<Task> handler;
  private final InstantSource clock;
  private final Duration lease;
  private final String name;
  private final ExecutorService threads;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Task> waiting = new ArrayDeque<>();
  private int running;
  private volatile boolean open = true;
  private Thread claimer;

  /**
   * @param name names the claiming thread
   * @param lease the queue's lease (a task waiting here half of it is given back)
   * @param threads makes the (at most {@code concurrency}) threads that run tasks, each running
   *     waiting tasks one after the other
   */
  public ClaimLoop(
      String name,
      TaskQueue queue,
      List<String> kinds,
      int concurrency,
      int prefetch,
      InstantSource clock,
      Duration lease,
      ThreadFactory threads,
      Consumer<Task> handler) {
    if (concurrency < 1 || prefetch < 0) {
      throw new IllegalArgumentException("need concurrency >= 1 and prefetch >= 0");
    }
    this.name = name;
    this.queue = queue;
    this.kinds = List.copyOf(kinds);
    this.concurrency = concurrency;
    this.prefetch = prefetch;
    this.clock = clock;
    this.lease = lease;
    this.handler = handler;
    this.threads = Executors.newFixedThreadPool(concurrency, threads);
  }

  /** Starts claiming on a platform thread of its own. */
  public synchronized ClaimLoop start() {
    if (claimer == null) {
      claimer = Thread.ofPlatform().name(name).daemon().start(this::claimUntilClosed);
    }
    return this;
  }

  private void claimUntilClosed() {
    int capacity = concurrency + prefetch;
    int claimAt = concurrency + prefetch / 2 - (prefetch == 0 ? 1 : 0);
    while (open) {
      try {
        long seen = queue.wakeups();
        int room;
        lock.lockInterruptibly();
        try {
          while (open && running + waiting.size() > claimAt) {
            changed.await();
          }
          room = capacity - running - waiting.size();
        } finally {
          lock.unlock();
        }
        if (!open) {
          return;
        }
        List<Task> claimed = queue.claim(kinds, room);
        if (claimed.isEmpty()) {
          queue.awaitWork(seen, IDLE_WAIT);
          continue;
        }
        boolean closed;
        lock.lock();
        try {
          closed = !open;
          if (!closed) {
            waiting.addAll(claimed);
            startWaiting();
          }
        } finally {
          lock.unlock();
        }
        if (closed) {
          // Closed while this claim was under way: what it took goes back at once.
          claimed.forEach(t -> giveBack(t, null));
          return;
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.warn("{}: claiming failed (retrying in 1s): {}", name, e.toString());
        try {
          Thread.sleep(1_000);
        } catch (InterruptedException interrupted) {
          return;
        }
      }
    }
  }

  /** Starts a thread for each waiting task while slots are free. Holds {@link #lock}. */
  private void startWaiting() {
    Task t;
    while (running < concurrency && (t = nextWaiting()) != null) {
      running++;
      Task first = t;
      threads.execute(() -> runFrom(first));
    }
  }

  /**
   * The next waiting task fit to start, or null; gives back those that waited past half their
   * lease. Holds {@link #lock}.
   */
  private Task nextWaiting() {
    Instant startBy = null;
    Task t;
    while (open && (t = waiting.poll()) != null) {
      if (t.leaseUntil() != null) {
        startBy = startBy != null ? startBy : clock.instant().plus(lease.dividedBy(2));
        if (t.leaseUntil().isBefore(startBy)) {
          giveBack(t, "waited too long for a free slot in " + queue.owner());
          continue;
        }
      }
      return t;
    }
    return null;
  }

  /** Runs {@code t}, then waiting tasks one after the other on this thread while there are any. */
  private void runFrom(Task t) {
    while (t != null) {
      try {
        handler.accept(t);
      } catch (RuntimeException e) {
        log.warn("{}: task {} {} escaped its handler: {}", name, t.kind(), t.id(), e.toString());
      }
      lock.lock();
      try {
        t = nextWaiting();
        if (t == null) {
          running--;
        }
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  private void giveBack(Task t, String why) {
    try {
      queue.release(t.id(), why, clock.instant());
    } catch (RuntimeException e) {
      log.warn(
          "{}: could not give task {} back (its lease will expire): {}",
          name,
          t.id(),
          e.getMessage());
    }
  }

  /** Tasks running now. */
  public int running() {
    lock.lock();
    try {
      return running;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until no task of this loop is running, up to {@code max}; true if none is. Meant for
   * after {@link #close()}.
   */
  public boolean awaitIdle(Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    lock.lock();
    try {
      while (running > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        changed.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops claiming and gives every task still waiting back to the queue (due at once, for this or
   * another Gateway). Running tasks go on; {@link #awaitIdle} waits for them.
   */
  @Override
  public void close() {
    open = false;
    Thread t;
    synchronized (this) {
      t = claimer;
    }
    if (t != null) {
      t.interrupt();
      try {
        t.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    List<Task> left;
    lock.lock();
    try {
      left = List.copyOf(waiting);
      waiting.clear();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    for (Task task : left) {
      giveBack(task, null);
    }
    threads.shutdown();
  }

  @Override
  public String toString() {
    return name + " (" + concurrency + " at once, " + prefetch + " ahead)";
  }
}
