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

  private Database(HikariDataSource dataSource) {
    this.dataSource = dataSource;
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
    return new Database(new HikariDataSource(config));
  }

  /** Applies every pending migration; returns how many were applied. */
  public int migrate() {
    MigrateResult result = flyway(dataSource).migrate();
    if (result.migrationsExecuted > 0) {
      log.info("applied {} database migration(s), schema now at {}", result.migrationsExecuted, result.targetSchemaVersion);
    }
    return result.migrationsExecuted;
  }

  /** The role the Gateway runs as when it manages its database (the embedded one). */
  public static final String APPLICATION_ROLE = "worka_app";

  /**
   * Tables whose rows the application changes after inserting them. Every other table — the
   * audit tables among them — is insert-only for the application role.
   */
  static final java.util.List<String> MUTABLE_TABLES =
      java.util.List.of(
          "runs", "steps", "tasks", "skill_invocations", "audit_chain", "run_call_counts");

  /**
   * Grants {@code role} what the Gateway needs and nothing more: read and insert everywhere,
   * update only {@link #MUTABLE_TABLES}, no delete or truncate anywhere. Run as the owner after
   * migrating; idempotent.
   */
  public void grantApplicationRole(String role) {
    try (Connection c = dataSource.getConnection();
        java.sql.Statement s = c.createStatement()) {
      s.execute("grant usage on schema public to " + role);
      s.execute("grant select, insert on all tables in schema public to " + role);
      s.execute("grant usage, select on all sequences in schema public to " + role);
      s.execute("grant update on " + String.join(", ", MUTABLE_TABLES) + " to " + role);
    } catch (SQLException e) {
      throw new StoreException("could not grant the application role " + role, e);
    }
  }

  /** Whether every known migration has been applied (for readiness). */
  public boolean migrationsApplied() {
    return flyway(dataSource).info().pending().length == 0;
  }

  /** Whether the database answers a trivial query within a second. */
  public boolean reachable() {
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
    dataSource.close();
  }
}
