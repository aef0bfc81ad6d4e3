package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Holds {@code worka-gateway/src/main/java} to {@link PackageGraph}: every use of another Gateway
 * package — an import, a static import, or a fully qualified name in code (comments and string
 * literals are left out) — is an edge the table declares; every edge the table declares is used;
 * every package is in the table and has a {@code package-info.java}; the graph has no cycle; and
 * the package table of docs/architecture.md is the one the table renders.
 */
class PackageGraphTest {
  /** Set (to anything) to rewrite docs/architecture.md's package table instead of checking it. */
  static final String WRITE_PROPERTY = "worka.packageGraph.write";

  static final String START = "<!-- package-graph:start (rendered from PackageGraph) -->";
  static final String END = "<!-- package-graph:end -->";

  private static final Path SOURCES = Path.of("src/main/java");
  private static final Path ARCHITECTURE = Path.of("../docs/architecture.md");
  private static final Pattern USE =
      Pattern.compile(
          "\\b"
              + Pattern.quote(PackageGraph.BASE)
              + "((?:\\.[a-z_][a-z0-9_]*)*)\\s*\\.\\s*(?:[A-Z]|\\*)");

  private static final PackageGraph GRAPH = PackageGraph.GATEWAY;

  /** One use of package {@code used} by {@code file} (in package {@code from}), at {@code line}. */
  record Use(String from, String used, Path file, int line, String text) {
    @Override
    public String toString() {
      return SOURCES.resolve(file) + ":" + line + ": " + text.strip();
    }
  }

  @Test
  void everyUseOfAnotherPackageIsDeclaredAndEveryDeclaredEdgeIsUsed() {
    List<Use> uses = uses();
    List<String> undeclared = new ArrayList<>();
    Map<String, Set<String>> used = new TreeMap<>();
    for (Use u : uses) {
      used.computeIfAbsent(u.from(), k -> new TreeSet<>()).add(u.used());
      if (GRAPH.declares(u.from()) && !GRAPH.allows(u.from(), u.used())) {
        undeclared.add(
            u
                + "\n    uses "
                + name(u.used())
                + ", which PackageGraph does not let "
                + name(u.from())
                + " use");
      }
    }
    List<String> unused = new ArrayList<>();
    GRAPH
        .declaredEdges()
        .forEach(
            (from, to) ->
                to.stream()
                    .filter(t -> !used.getOrDefault(from, Set.of()).contains(t))
                    .forEach(
                        t ->
                            unused.add(
                                name(from)
                                    + " → "
                                    + name(t)
                                    + ": declared in PackageGraph, but no file of "
                                    + name(from)
                                    + " uses "
                                    + name(t)
                                    + " any more")));
    if (!undeclared.isEmpty() || !unused.isEmpty()) {
      fail(
          "The package graph of worka-gateway is not the one PackageGraph declares (change the"
              + " code, or PackageGraph and then docs/architecture.md — see PackageGraphTest):\n"
              + String.join("\n", undeclared)
              + (unused.isEmpty() ? "" : "\n" + String.join("\n", unused)));
    }
  }

  @Test
  void everyPackageIsInTheTableAndHasAPackageInfo() throws IOException {
    Set<String> packages = new TreeSet<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      files
          .filter(f -> f.toString().endsWith(".java"))
          .forEach(f -> packages.add(packageOf(SOURCES.relativize(f).getParent())));
    }
    List<String> problems = new ArrayList<>();
    for (String p : packages) {
      if (!GRAPH.declares(p)) {
        problems.add(name(p) + " is not in PackageGraph: add its row (what it may use)");
      }
      Path info =
          SOURCES.resolve(PackageGraph.fullName(p).replace('.', '/')).resolve("package-info.java");
      if (!Files.exists(info)) {
        problems.add(name(p) + " has no package-info.java: say in a few lines what it is for");
      }
    }
    for (String p : GRAPH.packages()) {
      if (!packages.contains(p)) {
        problems.add(name(p) + " is in PackageGraph but has no source file: remove its row");
      }
    }
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }

  @Test
  void thePackagesUseEachOtherWithoutACycle() {
    Map<String, Set<String>> used = new TreeMap<>();
    uses().forEach(u -> used.computeIfAbsent(u.from(), k -> new TreeSet<>()).add(u.used()));
    List<List<String>> cycles = PackageGraph.cycles(used);
    assertTrue(
        cycles.isEmpty(),
        () ->
            "packages that use each other (break the cycle: move the shared type down, or invert"
                + " the call with an interface in the lower package):\n"
                + String.join(
                    "\n",
                    cycles.stream()
                        .map(
                            c ->
                                String.join(" → ", c.stream().map(PackageGraphTest::name).toList()))
                        .toList()));
  }

  @Test
  void architectureDocDrawsThePackageTableFromTheGraph() throws IOException {
    String doc = Files.readString(ARCHITECTURE, StandardCharsets.UTF_8);
    int start = doc.indexOf(START);
    int end = doc.indexOf(END);
    assertTrue(
        start >= 0 && end > start,
        "docs/architecture.md has no package table between " + START + " and " + END);
    String rendered = START + "\n" + GRAPH.markdown() + END;
    String written = doc.substring(start, end + END.length());
    if (System.getProperty(WRITE_PROPERTY) != null) {
      Files.writeString(
          ARCHITECTURE,
          doc.substring(0, start) + rendered + doc.substring(end + END.length()),
          StandardCharsets.UTF_8);
      return;
    }
    assertEquals(
        rendered,
        written,
        "docs/architecture.md's package table is not the one PackageGraph renders; rewrite it with"
            + " bin/test -pl worka-gateway -am -Dtest=PackageGraphTest"
            + " -Dsurefire.failIfNoSpecifiedTests=false -D"
            + WRITE_PROPERTY
            + "=true");
  }

  /** Every use of another Gateway package in the main sources. */
  static List<Use> uses() {
    List<Use> uses = new ArrayList<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
        Path relative = SOURCES.relativize(f);
        String from = packageOf(relative.getParent());
        String source = Files.readString(f, StandardCharsets.UTF_8);
        String code = code(source);
        String[] lines = source.split("\n", -1);
        Matcher m = USE.matcher(code);
        while (m.find()) {
          String used = m.group(1).isEmpty() ? "" : m.group(1).substring(1);
          if (!used.equals(from)) {
            int line = lineOf(code, m.start());
            uses.add(new Use(from, used, relative, line, lines[line - 1]));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return uses;
  }

  /** The table's name of the package of {@code directory} (relative to the source root). */
  private static String packageOf(Path directory) {
    return PackageGraph.shortName(directory.toString().replace('/', '.'));
  }

  private static String name(String pkg) {
    return pkg.isEmpty() ? PackageGraph.BASE + " (the composition root)" : pkg;
  }

  private static int lineOf(String text, int offset) {
    int line = 1;
    for (int i = 0; i < offset; i++) {
      if (text.charAt(i) == '\n') {
        line++;
      }
    }
    return line;
  }

  /**
   * {@code source} with its comments and string and character literals blanked (line breaks kept,
   * so offsets and lines stay where they were): what is left is code.
   */
  static String code(String source) {
    StringBuilder b = new StringBuilder(source);
    int i = 0;
    int n = source.length();
    while (i < n) {
      char c = source.charAt(i);
      int end;
      if (source.startsWith("//", i)) {
        end = source.indexOf('\n', i);
        end = end < 0 ? n : end;
      } else if (source.startsWith("/*", i)) {
        end = source.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
      } else if (source.startsWith("\"\"\"", i)) {
        end = source.indexOf("\"\"\"", i + 3);
        while (end > 0 && escaped(source, end)) {
          end = source.indexOf("\"\"\"", end + 1);
        }
        end = end < 0 ? n : end + 3;
      } else if (c == '"' || c == '\'') {
        end = i + 1;
        while (end < n && source.charAt(end) != c && source.charAt(end) != '\n') {
          end += source.charAt(end) == '\\' ? 2 : 1;
        }
        end = Math.min(end + 1, n);
      } else {
        i++;
        continue;
      }
      for (int k = i; k < end; k++) {
        if (b.charAt(k) != '\n') {
          b.setCharAt(k, ' ');
        }
      }
      i = end;
    }
    return b.toString();
  }

  private static boolean escaped(String s, int at) {
    int backslashes = 0;
    for (int k = at - 1; k >= 0 && s.charAt(k) == '\\'; k--) {
      backslashes++;
    }
    return backslashes % 2 == 1;
  }
}
