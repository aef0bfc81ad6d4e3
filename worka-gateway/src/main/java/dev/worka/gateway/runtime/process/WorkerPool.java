package dev.worka.gateway.runtime.process;

import dev.worka.gateway.policy.Resources;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pre-started sandboxed built-in agents ({@code WORKA_WORKER_POOL=N}): per launch key — the exact
 * command, agent, resource limits and Gateway URL — up to N processes already in their sandbox with
 * their limits (cgroup, rlimits, seccomp, a network namespace of their own and their own relay
 * socket), their JVM started and warmed up, waiting on standard input for a claim ({@code
 * WORKA_CLAIM=stdin}). They hold no token and no step. An attempt {@linkplain #claim claims} one
 * entry — taken out of the pool at once, never returned — and only then is the token delivered; the
 * pool starts a replacement in the background. An entry that waited {@link #maxIdle} is retired and
 * replaced; a launch whose key differs from the pooled one of the same agent and command (new
 * limits, another Gateway URL) retires that agent's entries, so that none runs with old limits.
 *
 * <p>Off (0) by default: each pooled process costs a JVM's memory while it waits, and what the pool
 * saves (the JVM's start, a few hundred milliseconds per step) matters only where steps are many.
 */
public final class WorkerPool implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WorkerPool.class);

  /** The setting: how many pre-started processes per built-in agent; 0 (unset) is off. */
  public static final String VARIABLE = "WORKA_WORKER_POOL";

  /** The most {@value #VARIABLE} may ask for per agent. */
  public static final int MAX_SIZE = 8;

  /** How long an entry may wait for its claim before it is retired and replaced. */
  static final Duration MAX_IDLE = Duration.ofMinutes(5);

  /**
   * The value of {@value #VARIABLE} in {@code environment}: 0 when unset.
   *
   * @throws IllegalArgumentException for anything but a whole number from 0 to {@link #MAX_SIZE}
   */
  public static int sizeFromEnvironment(Map<String, String> environment) {
    String value = environment.get(VARIABLE);
    if (value == null || value.isBlank()) {
      return 0;
    }
    String v = value.strip().toLowerCase(Locale.ROOT);
    if (v.equals("off")) {
      return 0;
    }
    try {
      int size = Integer.parseInt(v);
      if (size >= 0 && size <= MAX_SIZE) {
        return size;
      }
    } catch (NumberFormatException e) {
      // said below
    }
    throw new IllegalArgumentException(
        VARIABLE
            + "="
            + value
            + " is not a pool size: use a number of pre-started processes per built-in agent from 0"
            + " (off, the default) to "
            + MAX_SIZE);
  }

  /** What a pooled process was started for; an attempt with another key never gets it. */
  record Key(List<String> command, String agent, Resources resources, String gatewayUrl) {
    Key {
      command = List.copyOf(command);
      Objects.requireNonNull(agent, "agent");
      Objects.requireNonNull(resources, "resources");
      Objects.requireNonNull(gatewayUrl, "gatewayUrl");
    }

    boolean sameAgent(Key other) {
      return command.equals(other.command) && agent.equals(other.agent);
    }
  }

  /** One pre-started process, waiting for its claim. */
  static final class Entry {
    final Key key;
    final Process process;
    final WorkDirectory directory;
    final AttemptCgroup cgroup;
    final CompletableFuture<ProcessWorker> worker;
    final Instant born;

    /** Closes its relay and removes its record, after it ended (claimed) or was retired. */
    final Runnable ended;

    /** Kills it with everything in its sandbox and cgroup, and removes what it had. */
    final Runnable retire;

    private final AtomicBoolean taken = new AtomicBoolean();

    Entry(
        Key key,
        Process process,
        WorkDirectory directory,
        AttemptCgroup cgroup,
        CompletableFuture<ProcessWorker> worker,
        Instant born,
        Runnable ended,
        Runnable retire) {
      this.key = key;
      this.process = process;
      this.directory = directory;
      this.cgroup = cgroup;
      this.worker = worker;
      this.born = born;
      this.ended = ended;
      this.retire = retire;
    }

    /** Takes it, once: true for exactly one caller, ever. */
    boolean take() {
      return taken.compareAndSet(false, true);
    }
  }

  /** Starts one entry for a key; empty when it cannot (logged). */
  interface Starter {
    Optional<Entry> start(Key key);
  }

  private final int size;
  private final Duration maxIdle;
  private final InstantSource clock;
  private final Starter starter;
  private final Map<Key, Deque<Entry>> ready = new HashMap<>();
  private final Set<Key> wanted = new LinkedHashSet<>();
  private final AtomicLong claims = new AtomicLong();
  private boolean closed;
  private boolean refillScheduled;

  /** Starts, claims, retires: one daemon thread, so that refills never race each other. */
  private final ScheduledExecutorService thread =
      Executors.newSingleThreadScheduledExecutor(
          task -> Thread.ofPlatform().daemon().name("worka-worker-pool").unstarted(task));

  WorkerPool(int size, Duration maxIdle, InstantSource clock, Starter starter) {
    if (size < 1) {
      throw new IllegalArgumentException("a pool holds at least one entry per key, not " + size);
    }
    this.size = size;
    this.maxIdle = Objects.requireNonNull(maxIdle, "maxIdle");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.starter = Objects.requireNonNull(starter, "starter");
    long every = Math.max(1, maxIdle.toMillis() / 4);
    var unused =
        thread.scheduleWithFixedDelay(this::retireIdle, every, every, TimeUnit.MILLISECONDS);
  }

  int size() {
    return size;
  }

  /**
   * Keeps {@code key}'s entries filled from now on (and retires the entries of the same agent and
   * command under another key).
   */
  void want(Key key) {
    List<Entry> stale;
    synchronized (this) {
      if (closed) {
        return;
      }
      stale = rekey(key);
    }
    stale.forEach(WorkerPool::retire);
    scheduleRefill();
  }

  /**
   * An entry started for exactly {@code key}, taken out of the pool for good; empty when there is
   * none (the caller starts its worker as it would without a pool). Also {@link #want}s the key.
   */
  Optional<Entry> claim(Key key) {
    List<Entry> stale;
    Entry claimed = null;
    synchronized (this) {
      if (closed) {
        return Optional.empty();
      }
      stale = rekey(key);
      Deque<Entry> entries = ready.getOrDefault(key, new ArrayDeque<>());
      while (claimed == null && !entries.isEmpty()) {
        Entry e = entries.pollFirst();
        if (e.process.isAlive() && e.take()) {
          claimed = e;
        } else {
          stale.add(e); // it died waiting: retired, never handed out
        }
      }
    }
    stale.forEach(WorkerPool::retire);
    scheduleRefill();
    if (claimed != null) {
      claims.incrementAndGet();
    }
    return Optional.ofNullable(claimed);
  }

  /**
   * Under the lock: makes {@code key} the wanted key of its agent; returns what must be retired.
   */
  private List<Entry> rekey(Key key) {
    List<Entry> stale = new ArrayList<>();
    for (Iterator<Key> it = wanted.iterator(); it.hasNext(); ) {
      Key other = it.next();
      if (other.sameAgent(key) && !other.equals(key)) {
        it.remove();
        Deque<Entry> gone = ready.remove(other);
        if (gone != null) {
          stale.addAll(gone);
          log.info(
              "retiring {} pre-started worker(s) of agent {}: its launch changed ({} → {})",
              gone.size(),
              key.agent(),
              other,
              key);
        }
      }
    }
    wanted.add(key);
    return stale;
  }

  private synchronized void scheduleRefill() {
    if (closed || refillScheduled) {
      return;
    }
    refillScheduled = true;
    thread.execute(this::refill);
  }

  /** On the pool's thread: starts entries until every wanted key has {@link #size} of them. */
  private void refill() {
    synchronized (this) {
      refillScheduled = false;
    }
    while (true) {
      Key next = null;
      synchronized (this) {
        if (closed) {
          return;
        }
        for (Key key : wanted) {
          if (ready.getOrDefault(key, new ArrayDeque<>()).size() < size) {
            next = key;
            break;
          }
        }
      }
      if (next == null) {
        return;
      }
      Optional<Entry> started = starter.start(next);
      if (started.isEmpty()) {
        return; // logged by the starter; the next claim or idle check tries again
      }
      Entry entry = started.get();
      boolean keep;
      synchronized (this) {
        keep = !closed && wanted.contains(next);
        if (keep) {
          ready.computeIfAbsent(next, k -> new ArrayDeque<>()).addLast(entry);
          notifyAll();
        }
      }
      if (!keep) {
        retire(entry);
      }
    }
  }

  /** Retires the entries that waited longer than {@link #maxIdle} (and refills). */
  void retireIdle() {
    Instant oldest = clock.instant().minus(maxIdle);
    List<Entry> idle = new ArrayList<>();
    synchronized (this) {
      for (Deque<Entry> entries : ready.values()) {
        for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
          Entry e = it.next();
          if (e.born.isBefore(oldest) || !e.process.isAlive()) {
            it.remove();
            idle.add(e);
          }
        }
      }
    }
    for (Entry e : idle) {
      if (e.take()) {
        retire(e);
      }
    }
    if (!idle.isEmpty()) {
      log.debug("retired {} pre-started worker(s) that waited {} unclaimed", idle.size(), maxIdle);
      scheduleRefill();
    }
  }

  private static void retire(Entry e) {
    try {
      e.retire.run();
    } catch (RuntimeException ex) {
      log.warn("could not retire pre-started worker pid {}: {}", e.process.pid(), ex.toString());
    }
  }

  /**
   * Waits until {@code key} has {@code count} entries waiting (tests and the benchmark); false when
   * {@code patience} passed first or the pool closed.
   */
  synchronized boolean awaitReady(Key key, int count, Duration patience)
      throws InterruptedException {
    long until = System.nanoTime() + patience.toNanos();
    while (!closed && ready.getOrDefault(key, new ArrayDeque<>()).size() < count) {
      long left = until - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return !closed;
  }

  /** The pids of the entries waiting for {@code key} now. */
  synchronized List<Long> waiting(Key key) {
    return ready.getOrDefault(key, new ArrayDeque<>()).stream().map(e -> e.process.pid()).toList();
  }

  /** How many entries were claimed so far. */
  long claims() {
    return claims.get();
  }

  /** Kills every waiting entry; nothing is started or handed out after. */
  @Override
  public void close() {
    List<Entry> all = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      ready.values().forEach(all::addAll);
      ready.clear();
      wanted.clear();
      notifyAll();
    }
    thread.shutdownNow();
    try {
      // A start under way finishes first; its entry is retired by refill (closed).
      thread.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Entry e : all) {
      if (e.take()) {
        retire(e);
      }
    }
  }
}
