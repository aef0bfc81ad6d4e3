package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.runtime.process.ProcessRuntime;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * and the run would not succeed.
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
    try (TestGateway gw = TestGateway.start(home, db.url(), null)) {
      JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'A fast start'"));

      assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
      JsonNode steps = run.path("steps");
      assertEquals(2, steps.size(), run.toPrettyString());
      assertEquals("hari", steps.get(0).path("agent").asText());
      assertEquals("ernest", steps.get(1).path("agent").asText());
      assertEquals(1, steps.get(1).path("attempt").asInt(), "no attempt was lost");
      assertEquals(0, run.path("burns").size(), run.toPrettyString());
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
