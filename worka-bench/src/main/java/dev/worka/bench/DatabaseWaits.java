package dev.worka.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Where the Gateway's database connections spend a load: {@code pg_stat_activity} sampled on a
 * connection of its own at random moments (exponentially distributed gaps averaging {@code
 * interval}, so the samples cannot lock step with a fixed-rate load and see the same moment of
 * every call), each busy Gateway backend put in a bucket by what it is doing (waiting for a row
 * lock, flushing the write-ahead log, running a statement, or sitting in an open transaction while
 * the Gateway works between statements) and by which statement. The mean count per sample of a
 * bucket is, by Little's law, its share of the load: 1.0 means one connection was in that state all
 * the time.
 */
final class DatabaseWaits implements AutoCloseable {
  private static final String SAMPLE =
      "select state, coalesce(wait_event_type, ''), coalesce(wait_event, ''), left(query, 300)"
          + " from pg_stat_activity where application_name = 'worka' and backend_type = 'client backend'"
          + " and state <> 'idle' and pid <> pg_backend_pid()";

  private final Connection connection;
  private final long intervalMillis;
  private final Map<String, Long> counts = new HashMap<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread sampler;
  private long samples;

  /** A bucket and its mean number of backends per sample. */
  record Share(String what, double meanBackends) {}

  private DatabaseWaits(Connection connection, long intervalMillis) {
    this.connection = connection;
    this.intervalMillis = intervalMillis;
    this.sampler =
        Thread.ofPlatform().daemon().name("bench-db-waits").unstarted(this::sampleUntilClosed);
  }

  /** Starts sampling the database at {@code jdbcUrl}. */
  static DatabaseWaits start(String jdbcUrl, String user, String password, long intervalMillis)
      throws SQLException {
    Properties props = new Properties();
    if (user != null) {
      props.setProperty("user", user);
    }
    if (password != null) {
      props.setProperty("password", password);
    }
    props.setProperty("ApplicationName", "worka-bench");
    DatabaseWaits waits =
        new DatabaseWaits(DriverManager.getConnection(jdbcUrl, props), intervalMillis);
    waits.sampler.start();
    return waits;
  }

  private void sampleUntilClosed() {
    try (PreparedStatement ps = connection.prepareStatement(SAMPLE)) {
      while (running.get()) {
        try (ResultSet rs = ps.executeQuery()) {
          List<String> seen = new ArrayList<>();
          while (rs.next()) {
            seen.add(bucket(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)));
          }
          synchronized (counts) {
            samples++;
            seen.forEach(b -> counts.merge(b, 1L, Long::sum));
          }
        }
        double gap =
            -Math.log(1 - java.util.concurrent.ThreadLocalRandom.current().nextDouble())
                * intervalMillis;
        TimeUnit.MICROSECONDS.sleep((long) (Math.min(gap, 10.0 * intervalMillis) * 1000));
      }
    } catch (SQLException e) {
      System.err.println("bench: sampling pg_stat_activity stopped: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** What one busy backend is doing, in words. */
  static String bucket(String state, String waitType, String waitEvent, String query) {
    String statement = statement(query);
    if (state.startsWith("idle in transaction")) {
      return "open transaction, Gateway working between statements (last: " + statement + ")";
    }
    if (waitType.equals("Lock")) {
      return "waiting for a lock (" + waitEvent + ") in: " + statement;
    }
    if (waitEvent.startsWith("Wal")
        || waitEvent.startsWith("WAL")
        || (waitType.equals("IO") && waitEvent.contains("WAL"))) {
      return "writing/flushing the WAL (" + waitType + "/" + waitEvent + ") at: " + statement;
    }
    if (waitType.isEmpty()) {
      return "executing (on CPU): " + statement;
    }
    return "waiting " + waitType + "/" + waitEvent + " in: " + statement;
  }

  /** A short name for a statement of the Gateway's. */
  static String statement(String query) {
    String q =
        query == null
            ? ""
            : query.toLowerCase(java.util.Locale.ROOT).replaceAll("\\s+", " ").strip();
    if (q.contains("from audit_chain") && q.contains("for update")) {
      return "lock the gate chain head";
    }
    if (q.startsWith("update audit_chain")) {
      return "move the gate chain head";
    }
    if (q.startsWith("insert into gates")) {
      return "insert gate";
    }
    if (q.contains("from runs where id =") && q.contains("for update")) {
      return "lock the run row";
    }
    if (q.contains("from steps where id =") && q.contains("for update")) {
      return "lock the step row";
    }
    if (q.contains("from runs where id =")) {
      return "read the run";
    }
    if (q.contains("from steps where id =")) {
      return "read the step";
    }
    if (q.contains("count(*) from skill_invocations where step_id")) {
      return "count the step's invocations";
    }
    if (q.contains("count(*) from skill_invocations where run_id")) {
      return "count the run's invocations";
    }
    if (q.contains("from skill_invocations where step_id") && q.contains("idempotency_key")) {
      return "look up the idempotency key";
    }
    if (q.startsWith("insert into skill_invocations")) {
      return "insert invocation";
    }
    if (q.startsWith("update skill_invocations")) {
      return "record the invocation's outcome";
    }
    if (q.equals("commit")) {
      return "commit";
    }
    if (q.equals("begin")) {
      return "begin";
    }
    return q.length() > 60 ? q.substring(0, 60) + "…" : q;
  }

  /** Forgets what was sampled so far (the warm-up): from now on counts. */
  void restart() {
    synchronized (counts) {
      counts.clear();
      samples = 0;
    }
  }

  /** The buckets, largest first. */
  List<Share> shares() {
    synchronized (counts) {
      long n = Math.max(1, samples);
      return counts.entrySet().stream()
          .map(e -> new Share(e.getKey(), (double) e.getValue() / n))
          .sorted((a, b) -> Double.compare(b.meanBackends(), a.meanBackends()))
          .toList();
    }
  }

  long samples() {
    synchronized (counts) {
      return samples;
    }
  }

  @Override
  public void close() {
    running.set(false);
    try {
      sampler.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      connection.close();
    } catch (SQLException e) {
      // closing a monitoring connection; nothing to do
    }
  }
}
