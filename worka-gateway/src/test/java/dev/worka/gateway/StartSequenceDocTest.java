package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/architecture.md's start sequence is the composition root's: it links every class of the root
 * package besides {@link Gateway} (and only classes that exist), and names the start steps in the
 * order {@link Gateway}'s constructor takes them.
 */
class StartSequenceDocTest {
  private static final String ROOT = "worka-gateway/src/main/java/dev/worka/gateway/";
  private static final Pattern LINK =
      Pattern.compile("\\]\\(\\.\\./" + Pattern.quote(ROOT) + "(\\w+)\\.java\\)");

  @Test
  void theStartSequenceLinksEveryClassOfTheRootPackageAndNoOther() throws IOException {
    Path repo = repository();
    List<String> linked = linked(startSequence(repo));
    List<String> classes = rootClasses(repo);
    for (String name : linked) {
      assertTrue(classes.contains(name), "the start sequence links " + name + ", which is gone");
    }
    for (String name : classes) {
      assertTrue(
          linked.contains(name),
          name + " is in the composition root but not in docs/architecture.md's start sequence");
    }
  }

  @Test
  void theStartSequenceNamesTheStepsInTheOrderTheGatewayTakesThem() throws IOException {
    Path repo = repository();
    String constructor = gatewayConstructor(repo);
    List<String> steps = new ArrayList<>();
    for (String name : linked(startSequence(repo))) {
      if (Pattern.compile("\\b" + name + "\\b").matcher(constructor).find()) {
        steps.add(name);
      }
    }
    List<String> inCode =
        steps.stream()
            .sorted(Comparator.comparingInt(name -> firstUse(constructor, name)))
            .toList();
    assertTrue(steps.size() >= 6, "start steps found in the doc: " + steps);
    assertEquals(inCode, steps, "the doc's start order against Gateway's constructor");
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

  /** From "whose constructor is the start order" to the close paragraph that ends it. */
  private static String startSequence(Path repo) throws IOException {
    String doc = Files.readString(repo.resolve("docs/architecture.md"));
    int from = doc.indexOf("whose constructor is the start");
    int to = doc.indexOf("closes what it had opened.", from);
    assertTrue(from >= 0 && to > from, "the start sequence of docs/architecture.md");
    return doc.substring(from, to);
  }

  private static List<String> linked(String text) {
    List<String> names = new ArrayList<>();
    Matcher m = LINK.matcher(text);
    while (m.find()) {
      if (!names.contains(m.group(1))) {
        names.add(m.group(1));
      }
    }
    return names;
  }

  private static List<String> rootClasses(Path repo) throws IOException {
    try (Stream<Path> files = Files.list(repo.resolve(ROOT))) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(f -> f.endsWith(".java") && !f.equals("package-info.java"))
          .filter(f -> !f.equals("Gateway.java")) // the sequence is its constructor
          .map(f -> f.substring(0, f.length() - ".java".length()))
          .sorted()
          .toList();
    }
  }

  private static String gatewayConstructor(Path repo) throws IOException {
    String source = Files.readString(repo.resolve(ROOT + "Gateway.java"));
    int from = source.indexOf("  private Gateway(");
    int to = source.indexOf("\n  }\n", from);
    assertTrue(from >= 0 && to > from, "Gateway's constructor");
    return source.substring(from, to);
  }

  private static int firstUse(String code, String name) {
    Matcher m = Pattern.compile("\\b" + name + "\\b").matcher(code);
    assertTrue(m.find(), name);
    return m.start();
  }
}
