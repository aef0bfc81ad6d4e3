package dev.worka.gateway;

import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.store.DatabaseUrl;
import dev.worka.gateway.store.EmbeddedDatabase;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the Gateway's database, migrated, as a role that may insert audit rows but can neither
 * change them nor switch off the triggers that guard them (docs/security-model.md). Three ways:
 *
 * <ul>
 *   <li><b>External with an application login</b> ({@code WORKA_DATABASE_URL} and {@code
 *       WORKA_DATABASE_APP_USER}): migrates with the URL's credentials, makes sure the login exists
 *       and has the application's grants ({@link Database#ensureApplicationLogin}), connects as it
 *       and refuses to go on if it could change audit rows ({@link Database#auditProtectionGaps}),
 *       naming the variable.
 *   <li><b>External</b> ({@code WORKA_DATABASE_URL} alone): connects and migrates with those
 *       credentials and warns about the same gaps.
 *   <li><b>Embedded</b> (the default): starts PostgreSQL under {@code WORKA_HOME} (first clearing
 *       what a killed Gateway left of it), migrates as its superuser, grants the application role
 *       {@value Database#APPLICATION_ROLE} ({@link Database#grantApplicationRole}) and connects as
 *       that role; its passwords are secrets to redact.
 * </ul>
 *
 * The SQL of the grants and of the gap check is {@link Database}'s.
 */
final class OpenDatabase {
  private static final Logger log = LoggerFactory.getLogger(OpenDatabase.class);

  /** Connections of the Gateway's pool. */
  private static final int POOL_SIZE = 40;

  private OpenDatabase() {}

  /**
   * The pool the Gateway runs on, and the passwords of the embedded database (empty for an external
   * one), which outputs are cleaned of.
   */
  record Opened(Database database, List<String> secrets) {}

  /**
   * Opens the database {@code config} names; everything opened is handed to {@code
   * closeWithGateway} as soon as it is open, so a start that fails later closes it.
   *
   * @throws ConfigException when the application login could change audit rows
   */
  static Opened open(WorkaConfig config, Consumer<AutoCloseable> closeWithGateway) {
    Database database;
    List<String> secrets = List.of();
    if (config.database().isPresent() && config.applicationDatabase().isPresent()) {
      // Migrate as the configured (owning) user, then run as a login that may insert audit rows
      // but neither change them nor switch off the triggers that guard them.
      DatabaseUrl url = config.applicationDatabase().get();
      try (Database owner = Database.connect(config.database().get(), 2, "worka-owner")) {
        owner.migrate();
        owner.ensureApplicationLogin(url.user(), url.password());
      }
      database = Database.connect(url, POOL_SIZE, "worka");
      closeWithGateway.accept(database);
      List<String> gaps = database.auditProtectionGaps();
      if (!gaps.isEmpty()) {
        throw new ConfigException(
            List.of(
                "WORKA_DATABASE_APP_USER="
                    + url.user()
                    + " could change audit rows: "
                    + String.join("; ", gaps)
                    + " — give the Gateway a role without these rights"));
      }
    } else if (config.database().isPresent()) {
      database = Database.connect(config.database().get(), POOL_SIZE, "worka");
      closeWithGateway.accept(database);
      database.migrate();
      List<String> gaps = database.auditProtectionGaps();
      if (!gaps.isEmpty()) {
        log.warn(
            "audit rows are guarded by triggers only: {}; set WORKA_DATABASE_APP_USER and"
                + " WORKA_DATABASE_APP_PASSWORD so the Gateway runs as a role that cannot change them"
                + " (see docs/security-model.md)",
            String.join("; ", gaps));
      }
    } else {
      // The embedded database is Worka's own: migrate as its owner, then run as a role that may
      // insert audit rows but can neither change them nor switch off the triggers that guard
      // them.
      EmbeddedDatabase embedded = EmbeddedDatabase.start(config.home().resolve("postgres"));
      closeWithGateway.accept(embedded);
      secrets = embedded.secrets();
      try (Database owner = Database.connect(embedded.url("postgres"), 2, "worka-owner")) {
        owner.migrate();
        owner.grantApplicationRole(Database.APPLICATION_ROLE);
      }
      database = Database.connect(embedded.applicationUrl("postgres"), POOL_SIZE, "worka");
      closeWithGateway.accept(database);
      List<String> gaps = database.auditProtectionGaps();
      if (!gaps.isEmpty()) {
        throw new IllegalStateException(
            "the embedded application role could change audit rows or the migration"
                + " history: "
                + String.join("; ", gaps));
      }
    }
    database.migrationsApplied(); // once here: readiness keeps the answer instead of scanning
    return new Opened(database, List.copyOf(secrets));
  }
}
