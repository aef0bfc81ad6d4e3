package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14 item 1: "the trace id is in every log line of a run". A real {@code worka serve} process
 * (its logback configuration, its stderr) runs one live run against the counting GitHub MCP server;
 * then every line of its log that names the run names the run's trace id too, the lines logged
 * while the run's work is handled carry both as logfmt keys ({@code run_id=}, {@code trace_id=})
 * and come from several parts of the Gateway, and no line carries the run's trace with another
 * run's id.
 */
class RunLogLinesTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private static final Pattern LOGGER = Pattern.compile(" logger=(\\S+) ");

  @TempDir Path home;

  @Test
  void everyLineOfARunCarriesItsTraceId() throws Exception {
    RunLedger ledger = new RunLedger(db.dataSource());
    try (CountingGithubMcpServer server =
        CountingGithubMcpServer.http(0, RunLedger.GITHUB_TOKEN, Set.of())) {
      Map<String, String> env =
          RunLedger.environment(home, db.url(), server, TestGateway.builtinPolicyForTests());
      // The Gateway's own logback.xml (logfmt on stderr), not the tests' logback-test.xml.
      Path production = Path.of(RunLogLinesTest.class.getResource("/logback.xml").toURI());
      env.put("JAVA_TOOL_OPTIONS", "-Dlogback.configurationFile=" + production);
      env.put("WORKA_LOG_LEVEL", "DEBUG");
      try (GatewayProcess gateway = GatewayProcess.start(home, env)) {
        String runId = RunLedger.submit(gateway, "open an issue in acme/widgets titled 'Logged'");
        assertEquals(List.of(), ledger.awaitTerminal(List.of(runId), Duration.ofMinutes(2)));
        TestGateway.Answer run =
            gateway.call("GET", "/v1/runs/" + runId, null, TestGateway.OPERATOR_TOKEN);
        assertEquals(200, run.status(), run.raw().body());
        String traceId = run.body().path("trace_id").asText();
        assertTrue(traceId.matches("[0-9a-f]{32}"), traceId);

        List<String> log = Files.readAllLines(gateway.log());
        List<String> ofTheRun = log.stream().filter(l -> l.contains(runId)).toList();
        assertFalse(ofTheRun.isEmpty(), String.join("\n", log));
        for (String line : ofTheRun) {
          assertTrue(line.contains(traceId), "a line of the run without its trace id: " + line);
        }
        List<String> keyed =
            ofTheRun.stream()
                .filter(l -> l.contains(" run_id=" + runId + " trace_id=" + traceId + " "))
                .toList();
        Set<String> loggers = new TreeSet<>();
        for (String line : keyed) {
          Matcher m = LOGGER.matcher(line);
          if (m.find()) {
            loggers.add(m.group(1));
          }
        }
        // The run is started, its planner and worker attempts run, the workers' requests are
        // served and the run ends: logged by distinct parts of the Gateway, each line keyed.
        assertTrue(
            loggers.size() >= 3,
            "loggers of keyed lines "
                + loggers
                + ":\n"
                + String.join(
                    "\n",
                    ofTheRun.stream()
                        .map(l -> l.substring(0, Math.min(l.length(), 230)))
                        .toList()));
        for (String line : log) {
          if (line.contains("trace_id=" + traceId)) {
            assertTrue(
                line.contains(" run_id=" + runId + " "), "the trace with another run: " + line);
          }
        }
      }
    }
  }
}
