package dev.worka.gateway.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded PostgreSQL server Worka uses when no {@code WORKA_DATABASE_URL} is set: a real
 * PostgreSQL whose data lives under {@code WORKA_HOME/postgres} and survives restarts. When the
 * process runs as root (as CI machines do) the server still runs, inside a user namespace. It
 * listens on loopback only, and every connection needs a generated password kept beside the data
 * directory ({@code postgres.password}, mode 0600): no other local process may connect freely.
 */
public final class EmbeddedDatabase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

  private static final String HBA =
      """
      # Written by Worka: every connection needs the password in the .password file beside this
      # data directory (mode 0600). Nothing on this machine may connect without it.
      local   all   all                  scram-sha-256
      host    all   all   127.0.0.1/32   scram-sha-256
      host    all   all   ::1/128        scram-sha-256
      """;

  private final EmbeddedPostgres postgres;
  private final Path dataDirectory;
  private final String password;
  private final String appPassword;

  private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDirectory, String password, String appPassword) {
    this.postgres = postgres;
    this.dataDirectory = dataDirectory;
    this.password = password;
    this.appPassword = appPassword;
  }

  /** Starts (initializing on first use) the server whose data is in {@code dataDirectory}. */
  public static EmbeddedDatabase start(Path dataDirectory) {
    return start(dataDirectory, 0);
  }

  /**
   * As {@link #start(Path)}, listening on {@code port} (0: any free port). Tests stop a server
   * and start it again on the same data and port, where its clients look for it.
   */
  static EmbeddedDatabase start(Path dataDirectory, int port) {
    try {
      Files.createDirectories(dataDirectory.getParent());
      boolean fresh = !Files.exists(dataDirectory.resolve("PG_VERSION"));
      log.info(
          "starting embedded PostgreSQL (data: {}{})",
          dataDirectory,
          fresh ? ", first start: initializing, this takes a few seconds" : "");
      String password = loadOrCreatePassword(passwordFile(dataDirectory));
      EmbeddedPostgres postgres =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDirectory)
              .setCleanDataDirectory(false)
              .setPort(port)
              .setServerConfig("max_connections", "200")
              .setServerConfig("fsync", "on")
              // zonky's default is off (fast tests); a gate acknowledged as committed must survive
              // a crash, so commits wait for the write-ahead log.
              .setServerConfig("synchronous_commit", "on")
              .setServerConfig("full_page_writes", "on")
              .setServerConfig("password_encryption", "scram-sha-256")
              .setConnectConfig("password", password)
              .start();
      String appPassword = loadOrCreatePassword(dataDirectory.resolveSibling(dataDirectory.getFileName() + ".app-password"));
      try {
        requirePassword(postgres, dataDirectory, password);
        ensureApplicationRole(postgres, appPassword);
      } catch (IOException | SQLException | RuntimeException e) {
        postgres.close();
        throw e;
      }
      return new EmbeddedDatabase(postgres, dataDirectory, password, appPassword);
    } catch (IOException | SQLException | RuntimeException e) {
      throw new StoreException(explain(dataDirectory), e);
    }
  }

  /**
   * A fresh cluster trusts local connections (that is how initdb leaves it): give the superuser
   * the generated password and require it from every connection from now on.
   */
  private static void requirePassword(EmbeddedPostgres postgres, Path dataDirectory, String password)
      throws IOException, SQLException {
    try (Connection c = postgres.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      // The password is [A-Za-z0-9] only, so it cannot break out of the literal.
      s.execute("alter role postgres with password '" + password + "'");
      Path hba = dataDirectory.resolve("pg_hba.conf");
      if (!Files.readString(hba).equals(HBA)) {
        Files.writeString(hba, HBA);
        s.execute("select pg_reload_conf()");
      }
    }
  }

  /** The login role the Gateway runs as: no superuser, owns nothing, holds only its grants. */
  private static void ensureApplicationRole(EmbeddedPostgres postgres, String appPassword) throws SQLException {
    try (Connection c = postgres.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      // The password is [A-Za-z0-9] only, so it cannot break out of the literal.
      s.execute("do $$ begin"
          + " if not exists (select from pg_roles where rolname = '" + Database.APPLICATION_ROLE + "') then"
          + " create role " + Database.APPLICATION_ROLE + " login nosuperuser nocreatedb nocreaterole;"
          + " end if; end $$");
      s.execute("alter role " + Database.APPLICATION_ROLE + " with login password '" + appPassword + "'");
    }
  }

  static Path passwordFile(Path dataDirectory) {
    return dataDirectory.resolveSibling(dataDirectory.getFileName() + ".password");
  }

  private static String loadOrCreatePassword(Path file) throws IOException {
    if (Files.exists(file)) {
      String existing = Files.readString(file).trim();
      if (existing.matches("[A-Za-z0-9]{32,}")) {
        return existing;
      }
      throw new IOException(file + " does not hold a password Worka wrote; remove it only together"
          + " with the data directory beside it");
    }
    SecureRandom random = new SecureRandom();
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder password = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      password.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    Path tmp = Files.createTempFile(file.getParent(), ".pg-password", ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, password + "\n");
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    return password.toString();
  }

  private static String explain(Path dataDirectory) {
    StringBuilder message =
        new StringBuilder("could not start the embedded PostgreSQL with data in ")
            .append(dataDirectory);
    if ("root".equals(System.getProperty("user.name")) && !onPath("unshare")) {
      message.append(
          ". Running as root needs util-linux's `unshare` and user namespaces"
              + " (apt-get install util-linux), or set WORKA_DATABASE_URL to an external"
              + " PostgreSQL");
    } else {
      message.append(
          ". Check that the directory is writable and not used by another running Worka, or set"
              + " WORKA_DATABASE_URL to an external PostgreSQL");
    }
    return message.toString();
  }

  private static boolean onPath(String command) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(":")) {
      if (Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }

  /**
   * A URL for the given database as the application role ({@link Database#APPLICATION_ROLE}),
   * which may insert audit rows but never change them; grant it with {@link
   * Database#grantApplicationRole} after migrating.
   */
  public DatabaseUrl applicationUrl(String database) {
    return new DatabaseUrl(postgres.getJdbcUrl(Database.APPLICATION_ROLE, database), Database.APPLICATION_ROLE,
        appPassword);
  }

  /** A URL for the given database on this server, as the {@code postgres} superuser. */
  public DatabaseUrl url(String database) {
    return new DatabaseUrl(postgres.getJdbcUrl("postgres", database), "postgres", password);
  }

  /** The port the server listens on (loopback). */
  int port() {
    return postgres.getPort();
  }

  public Path dataDirectory() {
    return dataDirectory;
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      log.warn("embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
    }
  }
}
