package dev.worka.gateway.store;

import static org.awaitility.Awaitility.await;

import dev.worka.gateway.run.ProducedTransitions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Gives each test a fresh database migrated by the production migrations, on one embedded
 * PostgreSQL shared by the whole test JVM (the same server the product embeds). The migrated schema
 * is built once as a template and each test's database is a copy of it, so audit tables keep their
 * append-only triggers (no truncation needed). After each test it hands the database's {@code
 * run_events} to {@link ProducedTransitions} (the state-machine coverage) and checks that the test
 * left no connection open, and that no thread holding a pooled connection asked its pool for a
 * second one ({@link Transactions#secondBorrowsSeen}: a deadlock once the pool is exhausted).
 *
 * <pre>{@code @RegisterExtension static TestDatabase db = new TestDatabase();}</pre>
 */
public final class TestDatabase implements BeforeEachCallback, AfterEachCallback {
  private static final String TEMPLATE = "worka_template";
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static EmbeddedDatabase server;

  private Database database;
  private DatabaseUrl url;
  private String name;

  /** The shared server, started and templated on first use. */
  static synchronized EmbeddedDatabase server() {
    if (server == null) {
      try {
        Path dir = Files.createTempDirectory("worka-test-pg");
        server = EmbeddedDatabase.start(dir.resolve("data"));
        try (Database admin = Database.connect(server.url("postgres"), 2, "test-admin");
            Connection c = admin.dataSource().getConnection();
            Statement s = c.createStatement()) {
          s.execute("create database " + TEMPLATE);
        }
        try (Database template = Database.connect(server.url(TEMPLATE), 2, "test-template")) {
          template.migrate();
          template.grantApplicationRole(Database.APPLICATION_ROLE);
        }
        EmbeddedDatabase started = server;
        Runtime.getRuntime().addShutdownHook(new Thread(started::close));
      } catch (Exception e) {
        throw new IllegalStateException("could not start the test PostgreSQL", e);
      }
    }
    return server;
  }

  @Override
  public void beforeEach(ExtensionContext context) throws SQLException {
    Transactions.secondBorrowsSeen(); // what earlier tests' threads did is not this test's
    EmbeddedDatabase pg = server();
    name = "t_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    try (Database admin = Database.connect(pg.url("postgres"), 1, "test-admin");
        Connection c = admin.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("create database " + name + " template " + TEMPLATE);
    }
    url = pg.url(name);
    database = Database.connect(url, 20, "test-" + name);
  }

  @Override
  public void afterEach(ExtensionContext context) throws SQLException {
    // What the test made happen, for the state-machine coverage of the whole suite.
    ProducedTransitions.record(context.getRequiredTestClass(), database.dataSource());
    database.close();
    try (Database admin = Database.connect(server().url("postgres"), 1, "test-admin");
        Connection c = admin.dataSource().getConnection();
        Statement s = c.createStatement()) {
      // Backends exit asynchronously after their client closed the socket: allow them 3 s.
      int open;
      try {
        open =
            await("the test's connections to " + name + " closed")
                .atMost(Duration.ofSeconds(3))
                .pollInSameThread() // on the admin connection
                .pollDelay(Duration.ZERO) // after most tests they are closed already
                .pollInterval(Duration.ofMillis(50))
                .until(() -> connectionsTo(s, name), n -> n == 0);
      } catch (ConditionTimeoutException leftOpen) {
        open = connectionsTo(s, name);
      }
      s.execute("drop database " + name + " with (force)");
      if (open > 0) {
        throw new AssertionError(
            "the test left " + open + " connection(s) open to its database " + name);
      }
    }
    List<Throwable> secondBorrows = Transactions.secondBorrowsSeen();
    if (!secondBorrows.isEmpty()) {
      AssertionError failure =
          new AssertionError(
              secondBorrows.size()
                  + " time(s) a thread that held a pooled connection asked the pool for a second"
                  + " one (the first's stack is the cause): such code deadlocks once every"
                  + " connection is held that way; pass the caller's connection instead",
              secondBorrows.get(0));
      secondBorrows.stream().skip(1).forEach(failure::addSuppressed);
      throw failure;
    }
  }

  private static int connectionsTo(Statement s, String database) throws SQLException {
    try (ResultSet rs =
        s.executeQuery(
            "select count(*) from pg_stat_activity where datname = '" + database + "'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  public DataSource dataSource() {
    return database.dataSource();
  }

  public Database database() {
    return database;
  }

  /** This test's database as the application role (what an embedded Gateway runs as). */
  public DatabaseUrl applicationUrl() {
    return server().applicationUrl(name);
  }

  /** The URL of this test's database, e.g. for a Gateway started by the test. */
  public DatabaseUrl url() {
    return url;
  }
}
