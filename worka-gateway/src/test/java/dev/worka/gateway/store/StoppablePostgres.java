package dev.worka.gateway.store;

import java.nio.file.Path;

/**
 * An embedded PostgreSQL of a test's own that the test can stop and start again on the same data
 * directory and port, so a Gateway using it sees its database go away and come back (a database
 * outage). Other tests' databases are not affected.
 */
public final class StoppablePostgres implements AutoCloseable {
  private final Path dataDirectory;
  private final int port;
  private EmbeddedDatabase server;

  private StoppablePostgres(Path dataDirectory, EmbeddedDatabase server) {
    this.dataDirectory = dataDirectory;
    this.server = server;
    this.port = server.port();
  }

  /** Starts a fresh server on any free port with its data in {@code dataDirectory}. */
  public static StoppablePostgres start(Path dataDirectory) {
    return new StoppablePostgres(dataDirectory, EmbeddedDatabase.start(dataDirectory, 0));
  }

  /** Stops the server (its clients' connections break; new ones are refused). */
  public synchronized void stop() {
    if (server != null) {
      server.close();
      server = null;
    }
  }

  /** Starts the server again on the same data directory and port. */
  public synchronized void restart() {
    if (server == null) {
      server = EmbeddedDatabase.start(dataDirectory, port);
    }
  }

  /** {@code database} on this server as the superuser; valid across a stop and restart. */
  public synchronized DatabaseUrl url(String database) {
    if (server == null) {
      throw new IllegalStateException("the server is stopped");
    }
    return server.url(database);
  }

  @Override
  public void close() {
    stop();
  }
}
