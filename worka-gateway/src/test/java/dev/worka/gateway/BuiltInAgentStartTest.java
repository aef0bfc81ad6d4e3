package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.OtlpReceiver.ReceivedSpan;
import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.runtime.process.ProcessRuntime;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.telemetry.SpanIds;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in agents on their fast start path (issue 13 item 6), through the real {@code
 * bin/worka-agent} of the built-in manifest: sandboxed with a network of their own, they get no
 * relay JVM and relay their own connections to the Gateway ({@code WORKA_GATEWAY_SOCKET}), and
 * their JVMs start from the AOT cache {@code bin/worka serve} makes (JDK 25+). If either were
 * broken, the agents could not reach the Gateway (nothing else relays for them) or would not start,
 * and the run would not succeed. Each agent's own spans (its step, each Gateway call) reach the
 * Gateway's local OTLP receiver the same way: under its attempt's span in the run's one trace,
 * stamped from its token, which is in no span.
 */
class BuiltInAgentStartTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  @Test
  void aWholeRunOfTheBuiltInAgentsSucceedsRelayingTheirOwnConnectionsFromTheirStartCache()
      throws Exception {
    assumeTrue(SandboxHere.ownNetwork(), "needs bubblewrap with a network of the worker's own");
    Path root = Path.of("..").toAbsolutePath().normalize();
    Path target = root.resolve("worka-agents/target");
    assumeTrue(Files.isRegularFile(target.resolve("worka-agents.jar")), "agents jar not built");
    String javaHome = System.getProperty("java.home");
    if (Runtime.version().feature() >= 25) {
      // As bin/worka serve does: the JDK the agents run, and their AOT cache for it.
      Files.writeString(target.resolve("java-home"), javaHome + "\n");
      Path cache = target.resolve("worka-agents.aot");
      boolean fresh =
          Files.isRegularFile(cache)
              && Files.getLastModifiedTime(cache)
                      .compareTo(Files.getLastModifiedTime(target.resolve("worka-agents.jar")))
                  > 0
              && Files.isRegularFile(target.resolve("worka-agents.aot.jdk"))
              && Files.readString(target.resolve("worka-agents.aot.jdk")).strip().equals(javaHome);
      ProcessBuilder make =
          new ProcessBuilder(
                  root.resolve("bin/lib/make-agent-start-cache").toString(), root.toString())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD);
      make.environment().put("JAVA_HOME", javaHome);
      if (!fresh) {
        Process process = make.start();
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the training run took too long");
        assertEquals(0, process.exitValue(), "make-agent-start-cache failed");
      }
      assertTrue(
          Files.getLastModifiedTime(target.resolve("worka-agents.aot"))
                  .compareTo(Files.getLastModifiedTime(target.resolve("worka-agents.jar")))
              > 0,
          "the cache is newer than the jar");
      assertEquals(javaHome, Files.readString(target.resolve("worka-agents.aot.jdk")).strip());
    }
    JsonNode run;
    try (OtlpReceiver receiver = new OtlpReceiver()) {
      try (TestGateway gw =
          TestGateway.startWithEnvironment(
              home,
              db.url(),
              null,
              "dry-run",
              Map.of(
                  "OTEL_EXPORTER_OTLP_ENDPOINT",
                  receiver.url(),
                  "OTEL_BSP_SCHEDULE_DELAY",
                  "20"))) {
        run = gw.finish(gw.submit("open an issue in acme/widgets titled 'A fast start'"));
      } // closing the Gateway flushes its spans
      assertEquals(List.of(), receiver.failures, "the receiver failed");

      assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
      JsonNode steps = run.path("steps");
      assertEquals(2, steps.size(), run.toPrettyString());
      assertEquals("hari", steps.get(0).path("agent").asText());
      assertEquals("ernest", steps.get(1).path("agent").asText());
      assertEquals(1, steps.get(1).path("attempt").asInt(), "no attempt was lost");
      assertEquals(0, run.path("burns").size(), run.toPrettyString());

      List<ReceivedSpan> trace = receiver.spansOf(run.path("trace_id").asText());
      List<ReceivedSpan> agents =
          trace.stream()
              .filter(x -> "true".equals(x.attributes().get("worka.worker_span")))
              .toList();
      for (JsonNode step : steps) {
        String agent = step.path("agent").asText();
        String stepId = step.path("step_id").asText();
        List<ReceivedSpan> mine =
            agents.stream()
                .filter(x -> stepId.equals(x.attributes().get("worka.step_id")))
                .toList();
        ReceivedSpan stepSpan =
            mine.stream()
                .filter(x -> x.name().equals("agent.step"))
                .findFirst()
                .orElseThrow(() -> new AssertionError(agent + " exported no step span: " + trace));
        // under its attempt's span, which the Gateway exported in the same trace
        String attempt = SpanIds.attempt(UUID.fromString(stepId), 1);
        assertEquals(attempt, stepSpan.parentSpanId(), agent);
        assertTrue(
            trace.stream()
                .anyMatch(x -> x.spanId().equals(attempt) && x.name().equals("worka.step")),
            agent + "'s attempt span");
        assertEquals(agent, stepSpan.attributes().get("agent.name"));
        assertEquals("succeeded", stepSpan.attributes().get("agent.step.outcome"));
        for (ReceivedSpan x : mine) {
          // stamped from the token
          assertEquals(agent, x.attributes().get("worka.agent"), x.toString());
          assertEquals(run.path("run_id").asText(), x.attributes().get("worka.run_id"));
          assertEquals("1", x.attributes().get("worka.attempt"));
          if (!x.name().equals("agent.step")) {
            assertEquals(stepSpan.spanId(), x.parentSpanId(), x.toString());
          }
        }
        List<String> calls = mine.stream().map(ReceivedSpan::name).sorted().toList();
        assertEquals(
            agent.equals("hari")
                ? List.of("agent.context", "agent.plan", "agent.step")
                : List.of("agent.context", "agent.skill github.create_issue", "agent.step"),
            calls);
      }
      // No step token (a JWT) in any span.
      for (String value : OtlpReceiver.allValues(trace)) {
        assertFalse(value.matches("(?s).*eyJ[A-Za-z0-9_-]{8,}\\..*"), value);
        assertFalse(value.contains("Bearer"), value);
      }
    }
  }

  @Test
  void aWholeRunGoesThroughPreStartedSandboxedAgentsEachUsedOnce() throws Exception {
    assumeTrue(SandboxHere.ownNetwork(), "needs bubblewrap with a network of the worker's own");
    Path target = Path.of("..").toAbsolutePath().normalize().resolve("worka-agents/target");
    assumeTrue(Files.isRegularFile(target.resolve("worka-agents.jar")), "agents jar not built");
    Files.writeString(target.resolve("java-home"), System.getProperty("java.home") + "\n");
    try (TestGateway gw =
        TestGateway.startWithEnvironment(
            home, db.url(), null, "dry-run", java.util.Map.of("WORKA_WORKER_POOL", "1"))) {
      ProcessRuntime runtime = gw.gateway.processRuntime();
      String url = "http://127.0.0.1:" + gw.gateway.port();
      for (String name : java.util.List.of("hari", "ernest")) {
        AgentPolicy agent = gw.gateway.policy().policy().agents().get(name);
        // Primed at start from the active policy: each agent's first attempt finds one waiting.
        assertTrue(
            runtime.awaitPool(
                name,
                agent.runtime().command(),
                agent.resources(),
                url,
                java.time.Duration.ofSeconds(60)),
            name + "'s pre-started process is waiting");
      }
      JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'A pooled start'"));

      assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
      assertEquals(2, run.path("steps").size(), run.toPrettyString());
      assertEquals(0, run.path("burns").size(), run.toPrettyString());
      assertEquals(2, runtime.pooledStarts(), "both steps ran in pre-started processes");
    }
  }
}
