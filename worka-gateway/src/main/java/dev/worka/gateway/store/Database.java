package dev.worka.gateway.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The connection pool to Worka's database, and its migrations. */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  public static final String MIGRATIONS = "classpath:db/migration";

  private final HikariDataSource dataSource;
  private final DatabaseUrl url;

  /** Set by {@link #watch}: the database did not answer its last check; cleared when it does. */
  private volatile boolean down;

  private volatile Thread watcher;
  private final java.util.concurrent.locks.ReentrantLock probeLock =
      new java.util.concurrent.locks.ReentrantLock();
  private Connection probe; // guarded by probeLock

  /**
   * How long a check waits for the database: generous, so that a database slowed by load is not
   * taken for one that is down (a stopped server refuses or breaks the connection at once).
   */
  private static final int PROBE_TIMEOUT_SECONDS = 5;

  /** When the last check began (System.nanoTime), guarded by probeLock. */
  private long checkStarted = System.nanoTime();

  private Database(HikariDataSource dataSource, DatabaseUrl url) {
    this.dataSource = dataSource;
    this.url = url;
  }

  /** Opens a pool of at most {@code maxConnections} to {@code url}. */
  public static Database connect(DatabaseUrl url, int maxConnections, String poolName) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url.jdbcUrl());
    if (url.user() != null) {
      config.setUsername(url.user());
    }
    if (url.password() != null) {
      config.setPassword(url.password());
    }
    config.setMaximumPoolSize(maxConnections);
    config.setMinimumIdle(Math.min(2, maxConnections));
    config.setPoolName(poolName);
    config.setConnectionTimeout(10_000);
    config.setValidationTimeout(3_000);
    // Start even if the database is down right now; readiness reports it instead.
    config.setInitializationFailTimeout(-1);
    config.addDataSourceProperty("ApplicationName", "worka");
    config.addDataSourceProperty("reWriteBatchedInserts", "true");
    return new Database(new HikariDataSource(config), url);
  }

  /**
   * Checks every {@code every} whether the database answers, on a connection of its own outside the
   * pool (so an exhausted pool is not mistaken for an outage, nor an outage noticed only when a
   * request has waited the pool's 10 s): while it does not, {@link #down()} is true — the API then
   * answers {@code 503} at once and readiness says not ready without waiting for the pool. One
   * extra connection to the database while up; a new attempt each {@code every} while down.
   */
  public void watch(java.time.Duration every) {
    if (watcher != null) {
      return;
    }
    watcher =
        Thread.ofVirtual()
            .name("database-watch")
            .start(
                () -> {
                  while (!Thread.currentThread().isInterrupted()) {
                    check();
                    try {
                      Thread.sleep(every);
                    } catch (InterruptedException e) {
                      break;
                    }
                  }
                  probeLock.lock();
                  try {
                    closeQuietly(probe);
                    probe = null;
                  } finally {
                    probeLock.unlock();
                  }
                });
  }

  /**
   * Checks now whether the database answers (on the watch's own connection) and records it in
   * {@link #down()}; for when a request just failed on the store. Returns whether it answered. When
   * a check is under way already, this waits for it; one that began after this call was made
   * answers for both.
   */
  public boolean check() {
    long asked = System.nanoTime();
    try {
      if (!probeLock.tryLock(2L * PROBE_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
        return !down;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !down;
    }
    try {
      if (checkStarted - asked > 0) {
        return !down; // a check that began after this call was made (it waited for it) answers for
        // it
      }
      checkStarted = System.nanoTime();
      try {
        if (probe == null) {
          probe = probeConnection();
        }
        if (!probe.isValid(PROBE_TIMEOUT_SECONDS)) {
          throw new SQLException("no answer to a validity check", "08006");
        }
        if (down) {
          log.info("the database answers again");
          down = false;
        }
        return true;
      } catch (SQLException e) {
        closeQuietly(probe);
        probe = null;
        if (!down) {
          log.warn(
              "the database does not answer ({}); requests are answered 503 until it does",
              e.getMessage());
          down = true;
        }
        return false;
      }
    } finally {
      probeLock.unlock();
    }
  }

  private Connection probeConnection() throws SQLException {
    java.util.Properties properties = new java.util.Properties();
    if (url.user() != null) {
      properties.setProperty("user", url.user());
    }
    if (url.password() != null) {
      properties.setProperty("password", url.password());
    }
    properties.setProperty("connectTimeout", Integer.toString(PROBE_TIMEOUT_SECONDS));
    properties.setProperty("socketTimeout", Integer.toString(2 * PROBE_TIMEOUT_SECONDS));
    properties.setProperty("ApplicationName", "worka-watch");
    return java.sql.DriverManager.getConnection(url.jdbcUrl(), properties);
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // it is broken already
      }
    }
  }

  /** Whether the watch ({@link #watch}) found the database not answering at its last check. */
  public boolean down() {
    return down;
  }

  /** Applies every pending migration; returns how many were applied. */
  public int migrate() {
    MigrateResult result = flyway(dataSource).migrate();
    if (result.migrationsExecuted > 0) {
      log.info(
          "applied {} database migration(s), schema now at {}",
          result.migrationsExecuted,
          result.targetSchemaVersion);
    }
    migrated = true;
    return result.migrationsExecuted;
  }

  /** Flyway's record of the applied migrations: the owner's to write, never the application's. */
  static final String MIGRATION_HISTORY = "flyway_schema_history";

  /** The role the Gateway runs as when it manages its database (the embedded one). */
  public static final String APPLICATION_ROLE = "worka_app";

  /**
   * Tables whose rows the application changes after inserting them. Every other table — the audit
   * tables among them — is insert-only for the application role.
   */
  static final java.util.List<String> MUTABLE_TABLES =
      java.util.List.of(
          "runs",
          "steps",
          "tasks",
          "skill_invocations",
          "audit_chain",
          "run_call_counts",
          "run_notifications",
          "approvals");

  /**
   * Grants {@code role} what the Gateway needs and nothing more: read and insert everywhere, update
   * only {@link #MUTABLE_TABLES}, delete only done queue tasks and ended console sessions, truncate
   * nowhere — a right granted beyond these by hand is taken back. Run as the owner after migrating;
   * idempotent, and one transaction, so a Gateway already serving as the role never sees it without
   * its rights.
   */
  public void grantApplicationRole(String role) {
    try (Connection c = dataSource.getConnection();
        java.sql.Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      s.execute("revoke all on all tables in schema public from " + role);
      s.execute("grant usage on schema public to " + role);
      s.execute("grant select, insert on all tables in schema public to " + role);
      s.execute("grant usage, select on all sequences in schema public to " + role);
      s.execute("grant update on " + String.join(", ", MUTABLE_TABLES) + " to " + role);
      // A completed task's row is deleted (its idempotency key stays in task_keys).
      s.execute("grant delete on tasks to " + role);
      // A console session ends by deleting its row (sign-out, expiry): no audit data, only access.
      s.execute("grant delete on console_sessions to " + role);
      // A memory an operator forgot is deleted (its forgetting stays in memory_forgets).
      s.execute("grant delete on memories to " + role);
      // The migration history only the owner writes: a role that could insert a row there could
      // mark
      // a migration applied that never ran (say, one that guards audit rows), or make one run
      // again.
      s.execute(
          "revoke insert, update, delete, truncate on " + MIGRATION_HISTORY + " from " + role);
      c.commit();
    } catch (SQLException e) {
      throw new StoreException("could not grant the application role " + role, e);
    }
  }

  /**
   * Makes sure a login role {@code role} exists (creating it with {@code password} when it does not
   * and this connection may create roles), then grants it the application's privileges. Run as the
   * owner after migrating; an existing role's password is left as it is.
   *
   * @throws StoreException when the role is missing and cannot be created, saying what to run
   */
  public void ensureApplicationLogin(String role, String password) {
    try (Connection c = dataSource.getConnection()) {
      boolean exists;
      try (var ps = c.prepareStatement("select 1 from pg_roles where rolname = ?")) {
        ps.setString(1, role);
        try (var rs = ps.executeQuery()) {
          exists = rs.next();
        }
      }
      if (!exists) {
        String create;
        try (var ps =
            c.prepareStatement(
                "select format('create role %I login nosuperuser nocreatedb nocreaterole password %L', ?, ?)")) {
          ps.setString(1, role);
          ps.setString(2, password);
          try (var rs = ps.executeQuery()) {
            rs.next();
            create = rs.getString(1);
          }
        }
        try (java.sql.Statement s = c.createStatement()) {
          s.execute(create);
        } catch (SQLException e) {
          throw new StoreException(
              "the application role "
                  + role
                  + " does not exist and the configured database"
                  + " user cannot create it ("
                  + e.getMessage()
                  + "); create it yourself: CREATE ROLE "
                  + role
                  + " LOGIN PASSWORD '…'; then start again",
              e);
        }
        log.info("created the application login role {}", role);
      }
    } catch (SQLException e) {
      throw new StoreException("could not look up the application role " + role, e);
    }
    grantApplicationRole(quoted(role));
  }

  private static String quoted(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }

  /**
   * What lets the role this pool logs in as change or remove audit rows or write the migration
   * history, each as a sentence; empty when it can only read and insert audit rows and only read
   * the history. A superuser, a member of the audit tables' owner (who may disable their guarding
   * triggers) or a role granted UPDATE, DELETE or TRUNCATE on them can; and one granted INSERT,
   * UPDATE, DELETE or TRUNCATE on {@value #MIGRATION_HISTORY}, or owning it, can rewrite which
   * migrations count as applied.
   */
  public java.util.List<String> auditProtectionGaps() {
    java.util.List<String> gaps = new java.util.ArrayList<>();
    try (Connection c = dataSource.getConnection();
        var ps =
            c.prepareStatement(
                "select current_user, r.rolsuper, t.tablename, pg_has_role(current_user, t.tableowner, 'USAGE'),"
                    + " has_table_privilege(t.schemaname || '.' || t.tablename, 'INSERT'),"
                    + " has_table_privilege(t.schemaname || '.' || t.tablename, 'UPDATE'),"
                    + " has_table_privilege(t.schemaname || '.' || t.tablename, 'DELETE'),"
                    + " has_table_privilege(t.schemaname || '.' || t.tablename, 'TRUNCATE')"
                    + " from pg_roles r, pg_tables t where r.rolname = current_user and t.schemaname = current_schema()"
                    // The audit tables are the ones the migrations guard with an append-only
                    // trigger
                    // (<table>_append_only), so a table added later is checked without being listed
                    // here.
                    + " and (t.tablename = ? or exists (select from pg_trigger g"
                    + " where g.tgrelid = (quote_ident(t.schemaname) || '.' || quote_ident(t.tablename))::regclass"
                    + " and g.tgname = t.tablename || '_append_only'))"
                    + " order by t.tablename")) {
      ps.setString(1, MIGRATION_HISTORY);
      try (var rs = ps.executeQuery()) {
        while (rs.next()) {
          String user = rs.getString(1);
          String table = rs.getString(3);
          boolean history = table.equals(MIGRATION_HISTORY);
          if (rs.getBoolean(2)) {
            gaps.add("role " + user + " is a superuser");
            break;
          }
          if (rs.getBoolean(4)) {
            gaps.add(
                "role "
                    + user
                    + " owns (or is a member of the owner of) "
                    + table
                    + (history
                        ? " (the migration history) and may rewrite it"
                        : " and may disable its triggers"));
            continue;
          }
          for (int i = history ? 5 : 6; i <= 8; i++) {
            if (rs.getBoolean(i)) {
              gaps.add(
                  "role "
                      + user
                      + " may "
                      + java.util.List.of("INSERT", "UPDATE", "DELETE", "TRUNCATE").get(i - 5)
                      + " "
                      + table
                      + (history ? " (the migration history)" : ""));
            }
          }
        }
      }
    } catch (SQLException e) {
      throw new StoreException(
          "could not check the database role's privileges on the audit tables", e);
    }
    return gaps;
  }

  /**
   * Whether every known migration has been applied (for readiness). Once it has — {@link #migrate}
   * ran on this pool, or a check found nothing pending — the answer is kept: migrations are not
   * undone under a running Gateway, and readiness, asked by anyone as often as they like, must not
   * scan the migrations and the history table each time. A "pending" answer is checked again at
   * most every {@link #RECHECK_PENDING}.
   */
  public boolean migrationsApplied() {
    if (migrated) {
      return true;
    }
    long now = System.nanoTime();
    long last = pendingCheckedAt;
    if (last != 0 && now - last < RECHECK_PENDING.toNanos()) {
      return false;
    }
    boolean applied = flyway(dataSource).info().pending().length == 0;
    if (applied) {
      migrated = true;
    } else {
      pendingCheckedAt = now == 0 ? 1 : now;
    }
    return applied;
  }

  private static final java.time.Duration RECHECK_PENDING = java.time.Duration.ofSeconds(10);

  /** Set once the schema is known to be current ({@link #migrationsApplied}). */
  private volatile boolean migrated;

  /** When a check last found migrations pending (System.nanoTime; 0: never). */
  private volatile long pendingCheckedAt;

  /**
   * Whether the database answers: what the watch found at its last check when it runs ({@link
   * #watch}), else whether a pooled connection answers a trivial query within a second.
   */
  public boolean reachable() {
    if (watcher != null) {
      return !down;
    }
    try (Connection c = dataSource.getConnection()) {
      return c.isValid(1);
    } catch (SQLException e) {
      return false;
    }
  }

  static Flyway flyway(DataSource dataSource) {
    return Flyway.configure()
        .dataSource(dataSource)
        .locations(MIGRATIONS)
        .failOnMissingLocations(true)
        .load();
  }

  public DataSource dataSource() {
    return dataSource;
  }

  @Override
  public void close() {
    Thread w = watcher;
    if (w != null) {
      w.interrupt();
    }
    probeLock.lock();
    try {
      closeQuietly(probe);
      probe = null;
    } finally {
      probeLock.unlock();
    }
    dataSource.close();
  }
}
