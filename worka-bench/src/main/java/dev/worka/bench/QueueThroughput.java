package dev.worka.bench;

import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerName;
import com.github.kagkarlsson.scheduler.event.AbstractSchedulerListener;
import com.github.kagkarlsson.scheduler.task.ExecutionComplete;
import com.github.kagkarlsson.scheduler.task.helper.OneTimeTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import dev.worka.gateway.control.Dispatcher;
import dev.worka.gateway.queue.ClaimLoop;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.store.DatabaseUrl;
import dev.worka.gateway.store.EmbeddedDatabase;
import dev.worka.gateway.store.Transactions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Claim → complete throughput of Worka's task queue ({@link TaskQueue}) side by side with
 * db-scheduler's single-statement lock-and-fetch polling, on the same embedded PostgreSQL (fsync
 * and {@code synchronous_commit} on, as the Gateway runs it), in one run.
 *
 * <p>Each round puts {@code --tasks} due tasks in a table (not timed), vacuums it and takes a
 * checkpoint, then times from "start claiming" to "every task completed" with a no-op task body.
 * The two take turns within each round, so noise from other work on the machine falls on both; the
 * report is each one's median round and the ratio of the medians.
 *
 * <p>Both get {@code --threads} executing threads and their own connection pool of {@code --threads
 * + 2} ({@link Database#connect}; each on its own database of the same server); each runs as it is
 * built to run:
 *
 * <ul>
 *   <li><b>db-scheduler</b> is built with {@code threads(n).pollUsingLockAndFetch(lower, upper)}
 *       (defaults 0.5 and 3.0, its own: one poller fetches — locks and returns, in one statement —
 *       when at most {@code lower × threads} executions are in flight, up to {@code upper ×
 *       threads} minus those); its tasks are {@link OneTimeTask}s, each deleted by the thread that
 *       ran it when it completes. A round ends at the last {@code onExecutionComplete}, which
 *       db-scheduler calls after that delete.
 *   <li><b>Worka</b> runs the Gateway's own {@link ClaimLoop} with the Gateway's settings for
 *       control tasks: {@code threads} at once, up to {@link Dispatcher#CONTROL_PREFETCH} claimed
 *       ahead ({@code --prefetch}), and each task's thread asks for its completion with {@link
 *       TaskQueue#completeLater} and takes the next task, as the Dispatcher does — completions are
 *       written together, one statement and one commit for many. A round ends when the last
 *       completion is durable.
 * </ul>
 *
 * <pre>{@code
 * worka-bench/queue-throughput [--tasks N] [--threads N] [--lower F] [--upper F] [--prefetch N]
 *                              [--rounds N] [--warmup-rounds N]
 * }</pre>
 *
 * or, once built, {@code java -cp "worka-bench/target/worka-bench-0.1.0-SNAPSHOT.jar:
 * worka-bench/target/lib/*" dev.worka.bench.QueueThroughput [options]}. Defaults: 10,000 tasks, 8
 * threads, db-scheduler's limits 0.5 and 3.0, Worka's prefetch 64, 15 timed rounds after one
 * untimed warm-up round. It prints every round, then each side's median round, the ratio of the
 * medians and the median of each round's ratio (the two sides of a round ran back to back, so that
 * one is less disturbed by other work), and how much of the machine other work took.
 */
public final class QueueThroughput {
  private static final String WORKA_DB = "bench_worka_queue";
  private static final String SCHEDULER_DB = "bench_db_scheduler";
  private static final String KIND = "bench";
  private static final Duration LEASE = Duration.ofMinutes(5);

  private QueueThroughput() {}

  /** One timed round: wall time, CPU per task of this JVM and of PostgreSQL, others' share. */
  record Round(
      double seconds, double jvmMicrosPerTask, double postgresMicrosPerTask, double othersBusy) {
    static Round between(CpuUse before, CpuUse after, long start, long end, int tasks) {
      CpuUse.Interval i = before.until(after, tasks);
      return new Round(
          (end - start) / 1e9,
          i.jvmMsPerCall() * 1000,
          i.postgresMsPerCall() * 1000,
          i.othersBusy());
    }

    String describe(int tasks) {
      return String.format(
          Locale.ROOT,
          "%6.3f s %,7.0f tasks/s  CPU/task: JVM %3.0f µs, PostgreSQL %3.0f µs  (others used %2.0f%% of the machine)",
          seconds,
          tasks / seconds,
          jvmMicrosPerTask,
          postgresMicrosPerTask,
          othersBusy * 100);
    }
  }

  /** A contestant: its name and how it runs one round (filling its table first). */
  private record Contestant(String name, RoundWork work) {
    Round round(Options o) throws Exception {
      return work.round(o);
    }
  }

  @FunctionalInterface
  private interface RoundWork {
    Round round(Options o) throws Exception;
  }

  record Options(
      int tasks,
      int threads,
      double lower,
      double upper,
      int prefetch,
      int rounds,
      int warmupRounds) {
    Options {
      if (lower >= upper || upper < 1) {
        throw new IllegalArgumentException(
            "need --lower < --upper and --upper >= 1, got " + lower + ", " + upper);
      }
    }

    static Options parse(String[] args) {
      int tasks = 10_000;
      int threads = 8;
      double lower = 0.5;
      double upper = 3.0;
      int prefetch = Dispatcher.CONTROL_PREFETCH;
      int rounds = 15;
      int warmup = 1;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--tasks" -> tasks = positive(a, args, ++i);
          case "--threads" -> threads = positive(a, args, ++i);
          case "--lower" -> lower = Double.parseDouble(args[++i]);
          case "--upper" -> upper = Double.parseDouble(args[++i]);
          case "--prefetch" -> prefetch = Integer.parseInt(args[++i]);
          case "--rounds" -> rounds = positive(a, args, ++i);
          case "--warmup-rounds" -> warmup = Integer.parseInt(args[++i]);
          default ->
              throw new IllegalArgumentException(
                  "unknown option "
                      + a
                      + " (options: --tasks N --threads N --lower F --upper F --prefetch N --rounds N"
                      + " --warmup-rounds N)");
        }
      }
      return new Options(tasks, threads, lower, upper, prefetch, rounds, warmup);
    }

    private static int positive(String name, String[] args, int i) {
      if (i >= args.length) {
        throw new IllegalArgumentException(name + " needs a value");
      }
      int v = Integer.parseInt(args[i]);
      if (v <= 0) {
        throw new IllegalArgumentException(name + " must be positive, was " + v);
      }
      return v;
    }
  }

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    Path home = Files.createTempDirectory("worka-queue-bench");
    Path data = home.resolve("postgres");
    try (EmbeddedDatabase pg = EmbeddedDatabase.start(data)) {
      DatabaseUrl admin = pg.url("postgres");
      try (Database a = Database.connect(admin, 1, "bench-admin");
          Connection c = a.dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute("create database " + WORKA_DB);
        s.execute("create database " + SCHEDULER_DB);
      }
      int poolSize = o.threads() + 2;
      try (Database worka = Database.connect(pg.url(WORKA_DB), poolSize, "bench-worka");
          Database scheduler =
              Database.connect(pg.url(SCHEDULER_DB), poolSize, "bench-db-scheduler")) {
        worka.migrate();
        createSchedulerTable(scheduler);
        List<Contestant> contestants =
            List.of(
                new Contestant(
                    "Worka `TaskQueue` + `ClaimLoop`", o2 -> workaRound(worka, data, o2)),
                new Contestant(
                    "db-scheduler " + schedulerVersion(),
                    o2 -> schedulerRound(scheduler, data, o2)));
        System.out.printf(
            Locale.ROOT,
            "%,d tasks a round, %d threads and %d connections each; db-scheduler's lock-and-fetch limits %s"
                + " × threads, Worka's ClaimLoop claiming up to %d ahead; %d warm-up + %d timed rounds,"
                + " taking turns%n",
            o.tasks(),
            o.threads(),
            poolSize,
            o.lower() + " / " + o.upper(),
            o.prefetch(),
            o.warmupRounds(),
            o.rounds());
        List<List<Round>> rounds = new ArrayList<>();
        for (int i = 0; i < contestants.size(); i++) {
          rounds.add(new ArrayList<>());
        }
        for (int r = 0; r < o.warmupRounds() + o.rounds(); r++) {
          boolean timed = r >= o.warmupRounds();
          System.out.printf(
              Locale.ROOT,
              "%s %d%n",
              timed ? "round" : "warm-up",
              timed ? r - o.warmupRounds() + 1 : r + 1);
          for (int i = 0; i < contestants.size(); i++) {
            Round round = contestants.get(i).round(o);
            System.out.printf(
                Locale.ROOT, "  %-40s %s%n", contestants.get(i).name(), round.describe(o.tasks()));
            if (timed) {
              rounds.get(i).add(round);
            }
          }
        }
        System.out.println();
        System.out.println(
            "| queue | median time for "
                + String.format(Locale.ROOT, "%,d", o.tasks())
                + " tasks | tasks/s | JVM CPU µs/task | PostgreSQL CPU µs/task |");
        System.out.println("|---|---:|---:|---:|---:|");
        double[] medians = new double[contestants.size()];
        for (int i = 0; i < contestants.size(); i++) {
          List<Round> rs = rounds.get(i);
          medians[i] = median(rs.stream().map(Round::seconds).toList());
          System.out.printf(
              Locale.ROOT,
              "| %s | %.3f s | %,.0f | %.0f | %.0f |%n",
              contestants.get(i).name(),
              medians[i],
              o.tasks() / medians[i],
              median(rs.stream().map(Round::jvmMicrosPerTask).toList()),
              median(rs.stream().map(Round::postgresMicrosPerTask).toList()));
        }
        List<Double> paired = new ArrayList<>();
        for (int r = 0; r < o.rounds(); r++) {
          paired.add(rounds.get(1).get(r).seconds() / rounds.get(0).get(r).seconds());
        }
        System.out.printf(
            Locale.ROOT,
            "%nWorka / db-scheduler throughput: %.2f× (ratio of the median times),"
                + " %.2f× (median of the rounds' ratios)%n",
            medians[1] / medians[0],
            median(paired));
        System.out.printf(
            Locale.ROOT,
            "median share of the machine used by other work: %.0f%% (Worka rounds),"
                + " %.0f%% (db-scheduler rounds)%n",
            100 * median(rounds.get(0).stream().map(Round::othersBusy).toList()),
            100 * median(rounds.get(1).stream().map(Round::othersBusy).toList()));
      }
    } finally {
      deleteTree(home);
    }
  }

  // ---------------------------------------------------------------------------------------- Worka

  private static Round workaRound(Database db, Path data, Options o) throws Exception {
    TaskQueue queue =
        new TaskQueue(db.dataSource(), InstantSource.system(), "bench-gateway", LEASE);
    sql(db, "delete from tasks");
    sql(db, "delete from task_keys");
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          Instant due = Instant.now().minusSeconds(1);
          for (int i = 0; i < o.tasks(); i++) {
            queue.enqueue(c, KIND, null, null, "bench-" + i, due);
          }
          return null;
        });
    settle(db, "tasks");
    CpuUse before = CpuUse.now(data);
    long start = System.nanoTime();
    claimLoopToEnd(queue, o);
    long end = System.nanoTime();
    Round round = Round.between(before, CpuUse.now(data), start, end, o.tasks());
    long left = count(db, "select count(*) from tasks");
    if (left != 0) {
      throw new IllegalStateException("worka round ended with " + left + " task(s) not done");
    }
    return round;
  }

  /**
   * Runs every task through the Gateway's own {@link ClaimLoop}: {@code threads} at once, {@code
   * prefetch × threads} claimed ahead; each task (a no-op) is completed by its handler. Returns
   * once all {@code tasks} completed.
   */
  private static void claimLoopToEnd(TaskQueue queue, Options o) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(o.tasks());
    java.util.concurrent.atomic.AtomicReference<RuntimeException> failure =
        new java.util.concurrent.atomic.AtomicReference<>();
    try (ClaimLoop loop =
        new ClaimLoop(
            "bench-claims",
            queue,
            List.of(KIND),
            o.threads(),
            o.prefetch(),
            InstantSource.system(),
            LEASE,
            Dispatcher.CONTROL_THREADS,
            t -> {
              // As the Gateway's Dispatcher does: the task's thread asks for the completion and
              // takes
              // the next task; the round ends when every completion is durable. The handler below
              // sees every outcome (failure included), so its own future holds nothing more.
              var unused =
                  queue
                      .completeLater(t.id())
                      .whenComplete(
                          (completed, e) -> {
                            if (e != null) {
                              failure.compareAndSet(
                                  null,
                                  new IllegalStateException(
                                      "completing task " + t.id() + " failed", e));
                            } else if (!completed) {
                              failure.compareAndSet(
                                  null,
                                  new IllegalStateException("lost the claim of task " + t.id()));
                            }
                            done.countDown();
                          });
            })) {
      loop.start();
      while (!done.await(100, TimeUnit.MILLISECONDS)) {
        if (failure.get() != null) {
          throw failure.get();
        }
      }
    }
    if (failure.get() != null) {
      throw failure.get();
    }
  }

  // --------------------------------------------------------------------------------- db-scheduler

  private static void createSchedulerTable(Database db) throws SQLException {
    // db-scheduler's PostgreSQL schema (db-scheduler/src/test/resources/postgresql_tables.sql).
    sql(
        db,
        """
        create table scheduled_tasks (
          task_name text not null,
          task_instance text not null,
          task_data bytea,
          execution_time timestamp with time zone not null,
          picked boolean not null,
          picked_by text,
          last_success timestamp with time zone,
          last_failure timestamp with time zone,
          consecutive_failures int,
          last_heartbeat timestamp with time zone,
          version bigint not null,
          priority smallint,
          primary key (task_name, task_instance)
        );
        create index execution_time_idx on scheduled_tasks (execution_time);
        create index last_heartbeat_idx on scheduled_tasks (last_heartbeat);
        create index priority_execution_time_idx on scheduled_tasks (priority desc, execution_time asc);
        """);
  }

  private static Round schedulerRound(Database db, Path data, Options o) throws Exception {
    sql(db, "delete from scheduled_tasks");
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "insert into scheduled_tasks (task_name, task_instance, task_data, execution_time, picked, version)"
                      + " values (?, ?, null, ?, false, 1)")) {
            Timestamp due = Timestamp.from(Instant.now().minusSeconds(1));
            for (int i = 0; i < o.tasks(); i++) {
              ps.setString(1, KIND);
              ps.setString(2, "bench-" + i);
              ps.setTimestamp(3, due);
              ps.addBatch();
            }
            ps.executeBatch();
          }
          return null;
        });
    settle(db, "scheduled_tasks");
    CountDownLatch done = new CountDownLatch(o.tasks());
    OneTimeTask<Void> task = Tasks.oneTime(KIND).execute((instance, context) -> {});
    Scheduler scheduler =
        Scheduler.create(db.dataSource(), task)
            .threads(o.threads())
            .pollUsingLockAndFetch(o.lower(), o.upper())
            .schedulerName(new SchedulerName.Fixed("bench-scheduler"))
            .addSchedulerListener(
                new AbstractSchedulerListener() {
                  @Override
                  public void onExecutionComplete(ExecutionComplete complete) {
                    if (complete.getResult() == ExecutionComplete.Result.OK) {
                      done.countDown();
                    }
                  }
                })
            .build();
    CpuUse before = CpuUse.now(data);
    long start = System.nanoTime();
    scheduler.start();
    if (!done.await(10, TimeUnit.MINUTES)) {
      throw new IllegalStateException(
          "db-scheduler did not complete " + o.tasks() + " tasks in 10 minutes");
    }
    long end = System.nanoTime();
    scheduler.stop();
    Round round = Round.between(before, CpuUse.now(data), start, end, o.tasks());
    long left = count(db, "select count(*) from scheduled_tasks");
    if (left != 0) {
      throw new IllegalStateException("db-scheduler round ended with " + left + " task(s) left");
    }
    return round;
  }

  // ---------------------------------------------------------------------------------------- common

  /** Same starting point for both: fresh statistics, no dead rows, no checkpoint pending. */
  private static void settle(Database db, String table) throws SQLException {
    sql(db, "vacuum analyze " + table);
    sql(db, "checkpoint");
  }

  private static void sql(Database db, String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static long count(Database db, String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** db-scheduler's version, from the pom.properties Maven packs into its jar. */
  private static String schedulerVersion() {
    try (var in =
        Scheduler.class.getResourceAsStream(
            "/META-INF/maven/com.github.kagkarlsson/db-scheduler/pom.properties")) {
      java.util.Properties p = new java.util.Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("version", "(version unknown)");
    } catch (IOException e) {
      return "(version unknown)";
    }
  }

  static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
