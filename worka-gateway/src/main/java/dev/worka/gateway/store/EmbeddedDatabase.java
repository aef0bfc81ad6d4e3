package dev.worka.gateway.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded PostgreSQL server Worka uses when no {@code WORKA_DATABASE_URL} is set: a real
 * PostgreSQL whose data lives under {@code WORKA_HOME/postgres} and survives restarts. When the
 * process runs as root (as CI machines do) the server still runs, inside a user namespace.
 */
public final class EmbeddedDatabase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

  private final EmbeddedPostgres postgres;
  private final Path dataDirectory;

  private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDirectory) {
    this.postgres = postgres;
    this.dataDirectory = dataDirectory;
  }

  /** Starts (initializing on first use) the server whose data is in {@code dataDirectory}. */
  public static EmbeddedDatabase start(Path dataDirectory) {
    try {
      Files.createDirectories(dataDirectory.getParent());
      boolean fresh = !Files.exists(dataDirectory.resolve("PG_VERSION"));
      log.info(
          "starting embedded PostgreSQL (data: {}{})",
          dataDirectory,
          fresh ? ", first start: initializing, this takes a few seconds" : "");
      EmbeddedPostgres postgres =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDirectory)
              .setCleanDataDirectory(false)
              .setServerConfig("max_connections", "200")
              .setServerConfig("fsync", "on")
              .start();
      return new EmbeddedDatabase(postgres, dataDirectory);
    } catch (IOException | RuntimeException e) {
      throw new StoreException(explain(dataDirectory), e);
    }
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

  /** A URL for the given database on this server, as the {@code postgres} superuser. */
  public DatabaseUrl url(String database) {
    return new DatabaseUrl(postgres.getJdbcUrl("postgres", database), "postgres", null);
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
