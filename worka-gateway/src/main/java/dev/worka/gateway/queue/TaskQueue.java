package dev.worka.gateway.queue;

import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * The {@code tasks} table: enqueue, claim with a lease, heartbeat, complete, retry, reap. It holds
 * only work not yet done; a completed task's row is deleted, its idempotency key kept in {@code
 * task_keys}.
 */
public final class TaskQueue {
  private final DataSource dataSource;
  private final InstantSource clock;
  private final String owner;
  private final Duration lease;
  private final CompleteTogether completions = new CompleteTogether(this::completeAll, 500);
  private final Object wakeLock = new Object();
  private long wakeups;

  /**
   * @param owner this Gateway's identity in leases (unique per process)
   * @param lease how long a claim holds without a heartbeat
   */
  public TaskQueue(DataSource dataSource, InstantSource clock, String owner, Duration lease) {
    this.dataSource = dataSource;
    this.clock = clock;
    this.owner = owner;
    this.lease = lease;
  }

  /**
   * Adds a task on the caller's transaction, runnable from {@code runAt}. Returns false if a task
   * with this idempotency key was ever added, done or not (nothing is added; keys are kept in
   * {@code task_keys} for ever). Call {@link #wakeUp()} after the transaction commits so local
   * claimers look at once.
   */
  public boolean enqueue(
      Connection c, String kind, UUID runId, UUID stepId, String idempotencyKey, Instant runAt)
      throws SQLException {
    Instant now = clock.instant();
    return Sql.update(
            c,
            "with key as (insert into task_keys (idempotency_key, task_id, created_at) values (?, ?, ?)"
                + " on conflict (idempotency_key) do nothing returning task_id)"
                + " insert into tasks (id, kind, run_id, step_id, idempotency_key, status, run_at,"
                + " created_at, updated_at) select task_id, ?, ?, ?, ?, 'ready', ?, ?, ? from key",
            idempotencyKey,
            UUID.randomUUID(),
            now,
            kind,
            runId,
            stepId,
            idempotencyKey,
            runAt == null ? now : runAt,
            now,
            now)
        == 1;
  }

  /** Claims up to {@code max} ready tasks of the given kinds, oldest first, in one statement. */
  public List<Task> claim(Collection<String> kinds, int max) {
    if (max <= 0) {
      return List.of();
    }
    Instant now = clock.instant();
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.list(
                c,
                "update tasks set status = 'claimed', lease_owner = ?, lease_until = ?,"
                    + " attempts = attempts + 1, updated_at = ?"
                    + " where id in (select id from tasks where status = 'ready' and run_at <= ?"
                    + " and kind = any(?) order by run_at, created_at limit ?"
                    + " for update skip locked)"
                    + " returning id, kind, run_id, step_id, idempotency_key, attempts,"
                    + " lease_owner, lease_until",
                rs ->
                    new Task(
                        Sql.getUuid(rs, "id"),
                        rs.getString("kind"),
                        Sql.getUuid(rs, "run_id"),
                        Sql.getUuid(rs, "step_id"),
                        rs.getString("idempotency_key"),
                        rs.getInt("attempts"),
                        rs.getString("lease_owner"),
                        Sql.getInstant(rs, "lease_until")),
                owner,
                now.plus(lease),
                now,
                now,
                Sql.textArray(c, kinds),
                max));
  }

  /** Extends the lease of a task this Gateway holds; false if it is no longer ours. */
  public boolean heartbeat(UUID taskId) {
    Instant now = clock.instant();
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.update(
                    c,
                    "update tasks set lease_until = ?, updated_at = ? where id = ? and status ="
                        + " 'claimed' and lease_owner = ?",
                    now.plus(lease),
                    now,
                    taskId,
                    owner)
                == 1);
  }

  /**
   * Extends the lease of the claimed task with idempotency key {@code key}, whichever Gateway holds
   * it, to a lease from now: the worker doing that task's work says it is alive (a worker
   * heartbeat), so its attempt is not taken for lost while it works. Written only once less than
   * half a lease is left, so a worker that heartbeats often costs reads, not writes; never shortens
   * a lease.
   *
   * @return the task's lease end after the call, or empty when no claimed task has that key
   */
  public Optional<Instant> extendClaimed(String key) {
    Instant now = clock.instant();
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.one(
                c,
                "with held as (select id, lease_until from tasks where status = 'claimed' and idempotency_key = ?),"
                    + " extended as (update tasks set lease_until = ?, updated_at = ? from held"
                    + " where tasks.id = held.id and tasks.status = 'claimed' and tasks.lease_until < ?"
                    + " returning tasks.lease_until)"
                    + " select coalesce((select lease_until from extended), (select lease_until from held))"
                    + " as lease_until",
                rs -> Sql.getInstant(rs, "lease_until"),
                key,
                now.plus(lease),
                now,
                now.plus(lease.dividedBy(2))));
  }

  /**
   * Marks a task this Gateway holds as done; false if the claim had been lost. Durable when it
   * returns. Completions asked for at the same time share one statement and commit ({@link
   * CompleteTogether}); each caller still learns about its own task only.
   */
  public boolean complete(UUID taskId) {
    return completions.complete(taskId);
  }

  /**
   * {@link #complete} without waiting: the answer (true if the task was still this Gateway's and is
   * now done, false if the claim had been lost) arrives once the completion is durable, or fails
   * with the database error. A task whose completion is lost to a crash runs again after its lease.
   */
  public CompletableFuture<Boolean> completeLater(UUID taskId) {
    return completions.completeLater(taskId);
  }

  /**
   * Completes those of {@code taskIds} this Gateway still holds, in one statement: a done task's
   * row is deleted (its key stays in {@code task_keys}, so it is never enqueued again).
   */
  private Set<UUID> completeAll(Collection<UUID> taskIds) {
    // Two Gateways' batches share a row only after a lease expired and the task was claimed
    // again; it matches the new holder's alone. Both read the ids in primary-key order (an index
    // scan sorts the array), so such batches cannot wait on each other in a cycle.
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.collect(
                c,
                "delete from tasks where id = any(?) and status = 'claimed' and lease_owner = ?"
                    + " returning id",
                rs -> Sql.getUuid(rs, "id"),
                new HashSet<UUID>(),
                Sql.uuidArray(c, taskIds),
                owner));
  }

  /** Gives the task up with an error; it runs again from {@code retryAt}, or never if null. */
  public boolean release(UUID taskId, String error, Instant retryAt) {
    return retryAt == null
        ? finish(taskId, "failed", error, null)
        : finish(taskId, "ready", error, retryAt);
  }

  private boolean finish(UUID taskId, String status, String error, Instant runAt) {
    Instant now = clock.instant();
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.update(
                    c,
                    "update tasks set status = ?, last_error = coalesce(?, last_error),"
                        + " run_at = coalesce(?, run_at), lease_owner = null, lease_until = null,"
                        + " updated_at = ? where id = ? and status = 'claimed' and lease_owner = ?",
                    status,
                    error,
                    runAt,
                    now,
                    taskId,
                    owner)
                == 1);
  }

  /** Returns tasks whose lease expired (their holder died or stalled) to the queue. */
  public int reapExpired() {
    Instant now = clock.instant();
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.update(
                c,
                "update tasks set status = 'ready', lease_owner = null, lease_until = null,"
                    + " last_error = 'lease of ' || lease_owner || ' expired', updated_at = ?"
                    + " where id in (select id from tasks where status = 'claimed' and"
                    + " lease_until < ? for update skip locked)",
                now,
                now));
  }

  /** Wakes local claimers waiting in {@link #awaitWork}. */
  public void wakeUp() {
    synchronized (wakeLock) {
      wakeups++;
      wakeLock.notifyAll();
    }
  }

  /** Waits until {@link #wakeUp()} is called or {@code max} passes (other Gateways' work). */
  void awaitWork(long seenWakeups, Duration max) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(1, max.toMillis()));
    synchronized (wakeLock) {
      // In a loop: a spurious wake-up waits again for the time left.
      for (long left = until - System.nanoTime();
          wakeups == seenWakeups && left > 0;
          left = until - System.nanoTime()) {
        TimeUnit.NANOSECONDS.timedWait(wakeLock, left);
      }
    }
  }

  /** The wake-up counter, read before claiming so no wake-up is missed. */
  long wakeups() {
    synchronized (wakeLock) {
      return wakeups;
    }
  }

  /** The most tasks {@link #depth()} counts (a count above it is shown as this). */
  private static final int DEPTH_CAP = 100_000;

  /**
   * What the queue holds now: tasks ready and due, ready but due later, claimed (each count capped
   * at {@link #DEPTH_CAP}), and how long the oldest due task has waited. Two bounded reads (the
   * partial index of ready tasks; at most {@link #DEPTH_CAP} rows), under a 2 s statement timeout.
   */
  public Depth depth() {
    Instant now = clock.instant();
    return Transactions.inTransaction(
        dataSource,
        c -> {
          Sql.execute(c, "set local statement_timeout = 2000");
          Depth counts =
              Sql.one(
                      c,
                      "select count(*) filter (where status = 'ready' and run_at <= ?),"
                          + " count(*) filter (where status = 'ready' and run_at > ?),"
                          + " count(*) filter (where status = 'claimed')"
                          + " from (select status, run_at from tasks"
                          + " where status in ('ready', 'claimed') limit "
                          + DEPTH_CAP
                          + ") t",
                      rs -> new Depth(rs.getLong(1), rs.getLong(2), rs.getLong(3), Duration.ZERO),
                      now,
                      now)
                  .orElseThrow();
          Optional<Instant> oldest =
              Sql.one(
                  c,
                  "select min(run_at) from tasks where status = 'ready' and run_at <= ?",
                  rs -> Sql.getInstant(rs, "min"),
                  now);
          Duration lag = oldest.map(o -> Duration.between(o, now)).orElse(Duration.ZERO);
          return new Depth(counts.ready(), counts.scheduled(), counts.claimed(), lag);
        });
  }

  /** {@link #depth()}: counts of tasks by state, and the wait of the oldest due one. */
  public record Depth(long ready, long scheduled, long claimed, Duration lag) {}

  public String owner() {
    return owner;
  }
}
