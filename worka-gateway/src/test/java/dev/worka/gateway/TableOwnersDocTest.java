package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/architecture.md's table of owners says where each table is written, and the code agrees:
 * every table the migrations create has a row, and the classes a row names as its owners are
 * exactly the classes of {@code src/main} whose SQL inserts into, updates or deletes from it ("SQL
 * lives in the class that owns the table"). A write added anywhere else, or a table added without a
 * row, fails here.
 */
class TableOwnersDocTest {
  private static final String MAIN = "worka-gateway/src/main/java/dev/worka/gateway/";
  private static final String MIGRATIONS = "worka-gateway/src/main/resources/db/migration";
  private static final Pattern CREATE =
      Pattern.compile("(?i)\\bcreate\\s+table\\s+(?:if\\s+not\\s+exists\\s+)?(\\w+)");
  private static final Pattern DROP =
      Pattern.compile("(?i)\\bdrop\\s+table\\s+(?:if\\s+exists\\s+)?(\\w+)");
  private static final Pattern LITERAL =
      Pattern.compile("\"\"\"(.*?)\"\"\"|\"((?:[^\"\\\\\\n]|\\\\.)*)\"", Pattern.DOTALL);
  private static final Pattern WRITE =
      Pattern.compile("(?i)\\b(?:insert\\s+into|update|delete\\s+from)\\s+(\\w+)");
  private static final Pattern ROW = Pattern.compile("^\\|([^|]*)\\|([^|]*)\\|", Pattern.MULTILINE);
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");

  @Test
  void everyTableHasARowNamingExactlyTheClassesThatWriteIt() throws IOException {
    Path repo = repository();
    Set<String> tables = tables(repo);
    Map<String, Set<String>> written = writers(repo, tables);
    Map<String, Set<String>> documented = documentedOwners(repo);

    assertEquals(
        tables,
        documented.keySet(),
        "the tables the migrations create against the rows of docs/architecture.md's table of"
            + " owners (## Tables)");
    for (String table : tables) {
      assertEquals(
          written.getOrDefault(table, Set.of()),
          documented.get(table),
          "the classes whose SQL writes "
              + table
              + " against its owners in docs/architecture.md (a class named as pkg/Class)");
    }
    assertTrue(written.size() >= 15, "tables found written: " + written.keySet());
  }

  /** The tables the migrations leave: created and not dropped later. */
  private static Set<String> tables(Path repo) throws IOException {
    Set<String> tables = new TreeSet<>();
    try (Stream<Path> files = Files.list(repo.resolve(MIGRATIONS))) {
      for (Path file :
          files
              .filter(f -> f.toString().endsWith(".sql"))
              .sorted(TableOwnersDocTest::byVersion)
              .toList()) {
        String sql = Files.readString(file);
        CREATE.matcher(sql).results().forEach(m -> tables.add(m.group(1).toLowerCase(Locale.ROOT)));
        DROP.matcher(sql)
            .results()
            .forEach(m -> tables.remove(m.group(1).toLowerCase(Locale.ROOT)));
      }
    }
    assertTrue(tables.size() >= 15, "tables found in the migrations: " + tables);
    return tables;
  }

  /** Flyway's order: versions compared part by part ({@code V18_10} is 18.10, after 18.9). */
  private static int byVersion(Path a, Path b) {
    int[] x = version(a);
    int[] y = version(b);
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      int c = Integer.compare(i < x.length ? x[i] : 0, i < y.length ? y[i] : 0);
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }

  private static int[] version(Path migration) {
    String name = migration.getFileName().toString();
    return java.util.Arrays.stream(name.substring(1, name.indexOf("__")).split("[._]"))
        .mapToInt(Integer::parseInt)
        .toArray();
  }

  /** Table → the classes (as {@code pkg/Class}) whose string literals write it. */
  private static Map<String, Set<String>> writers(Path repo, Set<String> tables)
      throws IOException {
    Map<String, Set<String>> writers = new TreeMap<>();
    Path main = repo.resolve(MAIN);
    try (Stream<Path> files = Files.walk(main)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        String owner = main.relativize(file).toString().replace('\\', '/').replace(".java", "");
        Matcher literal = LITERAL.matcher(Files.readString(file));
        while (literal.find()) {
          String text = literal.group(1) != null ? literal.group(1) : literal.group(2);
          Matcher write = WRITE.matcher(text);
          while (write.find()) {
            String table = write.group(1).toLowerCase(Locale.ROOT);
            if (tables.contains(table)) {
              writers.computeIfAbsent(table, t -> new TreeSet<>()).add(owner);
            }
          }
        }
      }
    }
    return writers;
  }

  /**
   * The table of owners: its rows' first cell names tables ({@code `runs`}, or several separated by
   * commas), the second their owners ({@code `run/RunStore`}, possibly followed by a method or
   * prose; "nobody" when none).
   */
  private static Map<String, Set<String>> documentedOwners(Path repo) throws IOException {
    String doc = Files.readString(repo.resolve("docs/architecture.md"));
    int from = doc.indexOf("| table | owner");
    assertTrue(from >= 0, "docs/architecture.md has no table of owners ('| table | owner')");
    int to = doc.indexOf("\n\n", from);
    Map<String, Set<String>> owners = new TreeMap<>();
    Matcher row = ROW.matcher(doc.substring(from, to < 0 ? doc.length() : to));
    while (row.find()) {
      Set<String> classes = new TreeSet<>();
      Matcher owner = CODE.matcher(row.group(2));
      while (owner.find()) {
        String name = owner.group(1);
        if (name.matches("[a-z.]+(/[a-z]+)*/[A-Z]\\w*(\\.\\w+)?")) {
          classes.add(name.replaceFirst("\\.\\w+$", ""));
        }
      }
      Matcher table = CODE.matcher(row.group(1));
      while (table.find()) {
        owners.put(table.group(1), classes);
      }
    }
    return owners;
  }

  private static Path repository() {
    Path dir = Path.of("").toAbsolutePath();
    while (!Files.exists(dir.resolve("docs/architecture.md"))) {
      dir = dir.getParent();
      assertTrue(
          dir != null, "docs/architecture.md not found above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
