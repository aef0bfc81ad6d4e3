package dev.worka.bench;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.store.DatabaseUrl;
import dev.worka.gateway.store.Transactions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * How many gates a second the gate hash chain can take on this database, measured with the
 * Gateway's own {@link AuditLog#recordGate} in a scratch database (a fresh one on the same server,
 * schema from the production migrations, dropped afterwards) so the Gateway's audit is not touched.
 *
 * <p>Each append locks the chain head row until its transaction commits, and a commit waits for the
 * write-ahead log to reach the disk ({@code synchronous_commit = on}): so appends are serialized
 * and each holds the lock for at least one WAL flush. The same writers appending an audit row that
 * takes no shared lock ({@link AuditLog#recordBurn}, one insert) show what the disk allows when
 * commits can share a flush (group commit).
 */
final class GateChainCeiling {
  private static final String SCRATCH = "worka_bench_scratch";

  /** One measurement: its name, latency per transaction and transactions per second. */
  record Measure(String name, int writers, Histogram latencyMicros, double perSecond) {}

  private GateChainCeiling() {}

  /**
   * Runs the measurements on a scratch database created (and dropped) on the server of {@code
   * owner}, a role that may create databases.
   */
  static List<Measure> measure(DatabaseUrl owner, int writers, Duration each) throws Exception {
    String serverUrl = owner.jdbcUrl();
    try (Connection admin = DriverManager.getConnection(serverUrl, credentials(owner));
        Statement s = admin.createStatement()) {
      s.execute("drop database if exists " + SCRATCH);
      s.execute("create database " + SCRATCH);
    }
    DatabaseUrl scratchUrl =
        new DatabaseUrl(withDatabase(serverUrl, SCRATCH), owner.user(), owner.password());
    List<Measure> out = new ArrayList<>();
    try (Database scratch = Database.connect(scratchUrl, writers + 2, "bench-scratch")) {
      scratch.migrate();
      AuditLog audit = new AuditLog(InstantSource.system());
      UUID run = UUID.randomUUID();
      UUID step = UUID.randomUUID();
      UUID policy = UUID.randomUUID();
      AuditLog.Decision decision =
          new AuditLog.Decision(
              GateAction.SKILL_INVOKE,
              GateStatus.ALLOW,
              "ernest",
              run,
              step,
              1,
              "github.create_issue",
              "agent ernest holds skill.invoke, github.create_issue is on its allowlist and among"
                  + " the step's accepted skills, and its condition holds (policy v2); dry-run",
              policy,
              "4bf92f3577b34da6a3ce929d0e0e4736");
      Work gate = c -> audit.recordGate(c, decision);
      Work burn =
          c ->
              audit.recordBurn(c, run, step, "ernest", 1, BurnKind.POLICY, decision.reason(), "{}");
      closedLoop(scratch, gate, 1, Duration.ofMillis(500)); // warm-up
      closedLoop(scratch, burn, 1, Duration.ofMillis(500));
      out.add(closedLoop(scratch, gate, 1, each).named("gate append, one writer"));
      out.add(closedLoop(scratch, burn, 1, each).named("unlocked audit insert, one writer"));
      out.add(
          closedLoop(scratch, gate, writers, each).named("gate append, " + writers + " writers"));
      out.add(
          closedLoop(scratch, burn, writers, each)
              .named("unlocked audit insert, " + writers + " writers"));
    } finally {
      try (Connection admin = DriverManager.getConnection(serverUrl, credentials(owner));
          Statement s = admin.createStatement()) {
        s.execute("drop database if exists " + SCRATCH + " with (force)");
      }
    }
    return out;
  }

  @FunctionalInterface
  private interface Work {
    void apply(Connection c) throws SQLException;
  }

  private record Partial(int writers, Histogram latencyMicros, double perSecond) {
    Measure named(String name) {
      return new Measure(name, writers, latencyMicros, perSecond);
    }
  }

  /**
   * {@code writers} threads each committing {@code work} in a transaction, back to back, for {@code
   * time}.
   */
  private static Partial closedLoop(Database db, Work work, int writers, Duration time)
      throws InterruptedException {
    Histogram latency = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(1), 3);
    LongAdder done = new LongAdder();
    long end = System.nanoTime() + time.toNanos();
    long start = System.nanoTime();
    try (ExecutorService pool = Executors.newFixedThreadPool(writers)) {
      for (int w = 0; w < writers; w++) {
        pool.execute(
            () -> {
              while (System.nanoTime() < end) {
                long t = System.nanoTime();
                Transactions.inTransaction(
                    db.dataSource(),
                    c -> {
                      work.apply(c);
                      return null;
                    });
                latency.recordValue((System.nanoTime() - t) / 1000);
                done.increment();
              }
            });
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Partial(writers, latency, done.sum() / seconds);
  }

  private static java.util.Properties credentials(DatabaseUrl url) {
    java.util.Properties p = new java.util.Properties();
    if (url.user() != null) {
      p.setProperty("user", url.user());
    }
    if (url.password() != null) {
      p.setProperty("password", url.password());
    }
    p.setProperty("ApplicationName", "worka-bench");
    return p;
  }

  /**
   * {@code jdbc:postgresql://host:port/db?params} naming another database, without its parameters
   * (the user and password are given separately).
   */
  static String withDatabase(String jdbcUrl, String database) {
    int hostStart = "jdbc:postgresql://".length();
    int slash = jdbcUrl.indexOf('/', hostStart);
    int query = jdbcUrl.indexOf('?', hostStart);
    String host = jdbcUrl.substring(0, slash < 0 ? (query < 0 ? jdbcUrl.length() : query) : slash);
    return host + "/" + database;
  }
}
