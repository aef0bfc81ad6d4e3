package dev.worka.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The images (deploy/docker) hold what the Maven build makes and nothing else, and cannot rot
 * silently: each COPY source is a file or directory this build made (the module's jar and the lib/
 * its manifest's Class-Path names), each ENTRYPOINT runs that jar where it was copied, as the
 * scripts in bin/ run it. Runs after the modules are packaged (this module is built last).
 */
class DockerfilesTest {
  private static final Path ROOT = Chart.ROOT;
  private static final String TARGET = System.getProperty("worka.target", "target");
  private static final Pattern QUOTED = Pattern.compile("\"([^\"]*)\"");
  private static final Pattern BASE =
      Pattern.compile("eclipse-temurin:(\\d+)-jre(-[a-z]+)?(@sha256:[0-9a-f]{64})?");

  record Instruction(String keyword, String arguments) {}

  record Image(List<Instruction> instructions) {
    List<String> all(String keyword) {
      return instructions.stream()
          .filter(i -> i.keyword().equals(keyword))
          .map(Instruction::arguments)
          .toList();
    }

    String only(String keyword) {
      List<String> found = all(keyword);
      assertEquals(1, found.size(), keyword + ": " + found);
      return found.get(0);
    }
  }

  @Test
  void theGatewayImageRunsTheGatewayJarAsBinWorkaDoes() throws IOException {
    Image image = parse("deploy/docker/gateway.Dockerfile");
    List<String> entrypoint = checkImage(image, "worka-gateway");
    // bin/worka's fixed JVM options (JDK 23+: the base image is newer, checked above).
    String launcher = Files.readString(ROOT.resolve("bin/worka"));
    Matcher option = Pattern.compile("java_opts\\+=\\((--[^)]+)\\)").matcher(launcher);
    int options = 0;
    while (option.find()) {
      options++;
      assertTrue(entrypoint.contains(option.group(1)), option.group(1) + " in " + entrypoint);
    }
    assertTrue(options > 0, "bin/worka's java_opts were not found: update this test");
    assertEquals(List.of("serve"), strings(image.only("CMD")));
  }

  @Test
  void theAgentsImageRunsTheAgentsJarWithBinWorkaAgentsOptionsAndTheAgentFromWorkaAgent()
      throws IOException {
    Image image = parse("deploy/docker/agents.Dockerfile");
    List<String> entrypoint = checkImage(image, "worka-agents");
    // The Job runs the ENTRYPOINT with no arguments: nothing after the jar, so the agent is the
    // one WORKA_AGENT names.
    assertEquals("-jar", entrypoint.get(entrypoint.size() - 2), entrypoint.toString());
    assertTrue(image.all("CMD").isEmpty(), "no CMD: the Job passes no arguments");
    List<String> scriptOptions = new ArrayList<>();
    // bin/worka-agent runs the JVM with the options bin/lib/agent-jvm.sh lists (shared with the
    // training run of its AOT cache, which the image does not have).
    String script = Files.readString(ROOT.resolve("bin/worka-agent")).replace("\\\n", " ");
    assertTrue(
        Pattern.compile("(?m)^exec \"\\$JAVA_HOME/bin/java\" \"\\$\\{worka_agent_jvm\\[@]}\"")
            .matcher(script)
            .find(),
        "bin/worka-agent's exec line was not found: update this test");
    Matcher array =
        Pattern.compile("(?m)^worka_agent_jvm=\\(([^)]*)\\)")
            .matcher(Files.readString(ROOT.resolve("bin/lib/agent-jvm.sh")));
    assertTrue(
        array.find(), "bin/lib/agent-jvm.sh's worka_agent_jvm was not found: update this test");
    for (String token : array.group(1).trim().split("\\s+")) {
      scriptOptions.add(token);
    }
    assertFalse(scriptOptions.isEmpty());
    for (String scriptOption : scriptOptions) {
      assertTrue(
          entrypoint.contains(scriptOption),
          "bin/worka-agent runs the JVM with "
              + scriptOption
              + "; the image does not: "
              + entrypoint);
    }
    // A read-only root filesystem: no hsperfdata file.
    assertTrue(entrypoint.contains("-XX:-UsePerfData"), entrypoint.toString());
  }

  /** The checks both images share; returns the ENTRYPOINT. */
  private static List<String> checkImage(Image image, String module) throws IOException {
    // A specific JRE (at least the release the build targets), never `latest`.
    String arg = image.only("ARG");
    assertTrue(arg.startsWith("JRE_IMAGE="), arg);
    Matcher base = BASE.matcher(arg.substring("JRE_IMAGE=".length()));
    assertTrue(base.matches(), arg);
    assertTrue(Integer.parseInt(base.group(1)) >= 23, arg);
    assertEquals("${JRE_IMAGE}", image.only("FROM"));
    assertEquals("10001:10001", image.only("USER"), "the uid the chart and the Jobs run as");
    assertTrue(image.all("ADD").isEmpty(), "COPY only: nothing fetched at build time");

    Path target = ROOT.resolve(module).resolve(TARGET);
    Path jar = target.resolve(module + ".jar");
    assertTrue(
        Files.isRegularFile(jar),
        jar + " is missing: package the modules first (mvn package; bin/test runs verify)");
    String jarDestination = null;
    String libDestination = null;
    List<String> context = Files.readAllLines(ROOT.resolve(".dockerignore"));
    assertTrue(context.contains("*"), ".dockerignore leaves everything out but what it lists");
    for (String copy : image.all("COPY")) {
      List<String> words = List.of(copy.trim().split("\\s+"));
      assertEquals(2, words.size(), "COPY SOURCE DESTINATION, no flags: " + copy);
      String source = words.get(0);
      assertTrue(context.contains("!" + source), source + " is not let in by .dockerignore");
      String destination = words.get(1);
      assertTrue(source.startsWith(module + "/target/"), "only what " + module + " made: " + copy);
      Path made =
          target.resolve(source.substring((module + "/target/").length()).replaceAll("/$", ""));
      if (source.endsWith("/")) {
        assertTrue(
            Files.isDirectory(made), made + " (COPY " + copy + ") was not made by the build");
        libDestination = destination;
      } else {
        assertTrue(
            Files.isRegularFile(made), made + " (COPY " + copy + ") was not made by the build");
        assertEquals(jar, made, copy);
        jarDestination = destination;
      }
    }
    assertTrue(jarDestination != null && libDestination != null, "the jar and its lib/");
    // The jar finds its libraries where its manifest says: lib/ beside it, as in target/.
    assertEquals(
        jarDestination.substring(0, jarDestination.lastIndexOf('/') + 1) + "lib/", libDestination);
    try (JarFile opened = new JarFile(jar.toFile())) {
      String classPath =
          opened.getManifest().getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
      assertTrue(classPath != null && !classPath.isBlank(), jar + " has no Class-Path");
      for (String entry : classPath.trim().split("\\s+")) {
        assertTrue(entry.startsWith("lib/"), entry);
        assertTrue(Files.isRegularFile(target.resolve(entry)), entry + " is not in " + target);
      }
    }

    List<String> entrypoint = strings(image.only("ENTRYPOINT"));
    assertEquals("java", entrypoint.get(0), "exec form, no shell");
    int jarOption = entrypoint.indexOf("-jar");
    assertTrue(jarOption > 0, entrypoint.toString());
    assertEquals(jarDestination, entrypoint.get(jarOption + 1), "runs the jar it copied");
    return entrypoint;
  }

  /** An exec-form (JSON array) argument list. */
  private static List<String> strings(String jsonArray) {
    String text = jsonArray.trim();
    assertTrue(text.startsWith("[") && text.endsWith("]"), "exec form: " + text);
    List<String> values = new ArrayList<>();
    Matcher quoted = QUOTED.matcher(text);
    while (quoted.find()) {
      values.add(quoted.group(1));
    }
    return values;
  }

  private static Image parse(String path) throws IOException {
    List<Instruction> instructions = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    try (Stream<String> lines = Files.lines(ROOT.resolve(path))) {
      for (String line : lines.toList()) {
        String trimmed = line.strip();
        if (current.isEmpty() && (trimmed.isEmpty() || trimmed.startsWith("#"))) {
          continue;
        }
        if (trimmed.endsWith("\\")) {
          current.append(trimmed, 0, trimmed.length() - 1).append(' ');
          continue;
        }
        current.append(trimmed);
        String instruction = current.toString();
        current.setLength(0);
        int space = instruction.indexOf(' ');
        instructions.add(
            new Instruction(
                instruction.substring(0, space).toUpperCase(java.util.Locale.ROOT),
                instruction.substring(space + 1).strip()));
      }
    }
    assertTrue(current.isEmpty(), path + " ends inside a continued line");
    return new Image(instructions);
  }
}
