package dev.worka.gateway.skill.github;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.skill.Availability;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillProvider.Reconciliation;
import dev.worka.protocol.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link McpGithubProvider} over stdio: the counting server runs as a real child process ({@code
 * java … CountingGithubMcpServer --stdio}) started by the SDK's stdio transport.
 */
class StdioMcpGithubProviderTest {
  static final String TOKEN = "ghp-stdio-Secret-Token-9876543210";

  /** What the SDK lets a child inherit, plus what the provider gives it. */
  static final Set<String> ALLOWED_ENV =
      Set.of(
          "HOME",
          "LOGNAME",
          "PATH",
          "SHELL",
          "TERM",
          "USER",
          "GITHUB_PERSONAL_ACCESS_TOKEN",
          "GITHUB_TOOLSETS");

  @TempDir Path dir;
  final SkillProvider catalog = CatalogOnlyProvider.github(true);

  static List<String> serverCommand(String... extra) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> argv =
        new ArrayList<>(
            List.of(
                java,
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty("java.class.path"),
                CountingGithubMcpServer.class.getName(),
                "--stdio"));
    argv.addAll(List.of(extra));
    return argv;
  }

  SkillDefinition skill(String name) {
    return catalog.skills().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
  }

  static InvocationContext ctx() {
    return new InvocationContext(
        UUID.randomUUID(), UUID.randomUUID(), "ernest", UUID.randomUUID(), null);
  }

  @Test
  void aStdioServerGetsOnlyTheTokenWorksAndIsGoneAfterClose() throws Exception {
    Path report = dir.resolve("env.json");
    McpGithubProvider github =
        new McpGithubProvider(
            catalog,
            new GithubMcpEndpoint.Stdio(
                serverCommand("--env-report", report.toString(), "--without", "get_issue"),
                TOKEN,
                Map.of("GITHUB_TOOLSETS", "issues")),
            Duration.ofSeconds(30),
            Duration.ofSeconds(10),
            new SettableClock());
    long pid;
    try {
      assertInstanceOf(
          Availability.Available.class, github.availability(), github.availability().toString());
      Availability noTool = github.availability(skill("github.get_issue"));
      assertTrue(
          assertInstanceOf(Availability.Unavailable.class, noTool).reason().contains("get_issue"));

      JsonNode env = Json.parse(Files.readString(report));
      pid = env.path("_pid").asLong();
      assertTrue(pid > 0, env.toString());
      assertEquals(TOKEN, env.path("GITHUB_PERSONAL_ACCESS_TOKEN").asText());
      Set<String> names = new TreeSet<>();
      env.fieldNames().forEachRemaining(names::add);
      names.remove("_pid");
      assertTrue(ALLOWED_ENV.containsAll(names), "the child saw " + names);
      assertFalse(names.contains("GITHUB_TOKEN"));

      InvocationContext ctx = ctx();
      JsonNode in =
          Json.parse("{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"Over stdio\"}");
      JsonNode out = github.invoke(skill("github.create_issue"), in, ctx);
      assertEquals(
          "https://github.test/acme/widgets/issues/1", out.path("url").asText(), out.toString());
      Reconciliation found = github.reconcile(skill("github.create_issue"), in, ctx);
      assertEquals(
          out.path("url").asText(),
          assertInstanceOf(Reconciliation.Performed.class, found).upstreamRef());
      assertInstanceOf(
          Reconciliation.NotPerformed.class,
          github.reconcile(skill("github.create_issue"), in, ctx()));
      assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    } finally {
      github.close();
    }
    assertFalse(
        ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
        "the stdio server process " + pid + " outlived close()");
    assertInstanceOf(Availability.Unavailable.class, github.availability());
  }

  @Test
  void aCommandThatCannotStartIsUnavailableWithAReason() {
    try (McpGithubProvider github =
        new McpGithubProvider(
            catalog,
            new GithubMcpEndpoint.Stdio(
                List.of(dir.resolve("no-such-server").toString()), TOKEN, Map.of()),
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            new SettableClock())) {
      String reason =
          assertInstanceOf(Availability.Unavailable.class, github.availability()).reason();
      assertTrue(
          reason.contains("GITHUB_MCP_COMMAND") && reason.contains("no-such-server"), reason);
      assertFalse(reason.contains(TOKEN), reason);
    }
  }

  @Test
  void theStdioServerExitsWhenItsInputCloses() throws Exception {
    Process server =
        new ProcessBuilder(serverCommand()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      server.getOutputStream().close();
      assertTrue(
          server.waitFor(30, java.util.concurrent.TimeUnit.SECONDS),
          "still running after stdin EOF");
    } finally {
      server.destroyForcibly();
    }
  }
}
