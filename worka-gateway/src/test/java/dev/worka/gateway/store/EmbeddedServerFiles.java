package dev.worka.gateway.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * What a test reads about the embedded PostgreSQL of a Worka home it does not run in its own JVM (a
 * {@code worka serve} process): the postmaster's pid, port and state from {@code postmaster.pid}, a
 * superuser connection with the home's password file — and a last-resort clean-up of a server a
 * failed test left behind.
 */
public final class EmbeddedServerFiles {
  private final Path home;

  public EmbeddedServerFiles(Path home) {
    this.home = home;
  }

  public Path dataDirectory() {
    return home.resolve("postgres");
  }

  /** The pid in {@code postmaster.pid}, if the file is there. */
  public OptionalLong postmasterPid() {
    return LeftoverPostgres.pidIn(dataDirectory().resolve("postmaster.pid"));
  }

  /** The state line of {@code postmaster.pid} (starting, ready, stopping), or "" without one. */
  public String postmasterState() {
    try {
      List<String> lines = Files.readAllLines(dataDirectory().resolve("postmaster.pid"));
      return lines.size() >= 8 ? lines.get(7).strip() : "";
    } catch (IOException e) {
      return "";
    }
  }

  /** The server's {@code postgres} database as the superuser, on the port it listens on now. */
  public DataSource superuser() throws IOException {
    List<String> lines = Files.readAllLines(dataDirectory().resolve("postmaster.pid"));
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setServerNames(new String[] {"localhost"});
    ds.setPortNumbers(new int[] {Integer.parseInt(lines.get(3).strip())});
    ds.setDatabaseName("postgres");
    ds.setUser("postgres");
    ds.setPassword(Files.readString(home.resolve("postgres.password")).strip());
    return ds;
  }

  /** The live server processes of the data directory (the postmaster and its children). */
  public List<Long> serverProcesses() throws IOException {
    return Files.isDirectory(dataDirectory())
        ? LeftoverPostgres.processesUsing(dataDirectory())
        : List.of();
  }

  /** Stops whatever server processes still use the data directory (after a failed test). */
  public void stopLeftovers() throws IOException {
    LeftoverPostgres.clear(dataDirectory());
  }
}
