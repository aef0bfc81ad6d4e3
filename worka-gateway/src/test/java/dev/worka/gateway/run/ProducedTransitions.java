package dev.worka.gateway.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.sql.DataSource;

/**
 * The state-machine transitions the test suite actually produced, for {@link StateMachineCoverage}.
 * Every applied transition commits with its {@code run_events} row, so a test database's {@code
 * run_events} is the record of what its test made happen, in the test's JVM and in any Gateway
 * process it started on that database alike. {@code TestDatabase} hands each test's database here
 * before dropping it; the distinct transitions are appended, with the test class, to a file of this
 * JVM in the directory the build names ({@value #DIRECTORY_PROPERTY}, set only when the whole suite
 * runs: see worka-gateway/pom.xml). Without that property nothing is recorded.
 */
public final class ProducedTransitions {
  /** The system property naming the directory of this build's records. */
  static final String DIRECTORY_PROPERTY = "worka.transitions.dir";

  /** One transition a test produced: {@code entity} is {@code run} or {@code step}. */
  record Produced(String test, String entity, String from, String to) {
    String transition() {
      return entity + " " + from + " -> " + to;
    }
  }

  private ProducedTransitions() {}

  /** Records the transitions in {@code database}'s {@code run_events}, produced by {@code test}. */
  public static void record(Class<?> test, DataSource database) throws SQLException {
    String directory = System.getProperty(DIRECTORY_PROPERTY);
    if (directory == null) {
      return;
    }
    List<String> lines = new ArrayList<>();
    try (Connection c = database.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select distinct entity, from_status, to_status from run_events"
                    + " where from_status is not null order by 1, 2, 3")) {
      while (rs.next()) {
        lines.add(
            String.join("\t", test.getName(), rs.getString(1), rs.getString(2), rs.getString(3)));
      }
    }
    if (!lines.isEmpty()) {
      append(Path.of(directory), lines);
    }
  }

  private static synchronized void append(Path directory, List<String> lines) {
    try {
      Files.createDirectories(directory);
      Files.write(
          directory.resolve("produced-" + ProcessHandle.current().pid() + ".tsv"),
          lines,
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("could not record the transitions in " + directory, e);
    }
  }

  /** Everything recorded in {@code directory} (every JVM's file). */
  static List<Produced> read(Path directory) throws IOException {
    List<Produced> all = new ArrayList<>();
    if (!Files.isDirectory(directory)) {
      return all;
    }
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".tsv")).toList()) {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          String[] f = line.split("\t", -1);
          all.add(new Produced(f[0], f[1], f[2], f[3]));
        }
      }
    }
    return all;
  }
}
