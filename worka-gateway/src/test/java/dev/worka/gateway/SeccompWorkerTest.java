package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.gateway.store.TestDatabase;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile worker of a real Gateway (issue 13 item 2): an agent an operator declares, so it must
 * be sandboxed, whose program — a JVM calling libc's {@code syscall} through the foreign function
 * API ({@code HostileSyscalls.java}) — tries {@code ptrace}, {@code keyctl}, {@code bpf}, {@code
 * perf_event_open}, {@code io_uring_setup}, {@code mount}, {@code unshare(CLONE_NEWUSER)}, {@code
 * setns}, {@code init_module} and {@code clone} with a namespace flag, and reports each errno in
 * its output, which the Gateway keeps in the attempt's crash burn. Each gets {@code EPERM} from the
 * seccomp filter; {@code getpid} still works; and the built-in agents (JVMs) that plan the run
 * before it run under the same filter. Skipped where bubblewrap does not work ({@code .ci/run}
 * installs it).
 */
class SeccompWorkerTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  @TempDir Path agents;

  @Test
  void aSandboxedWorkerIsRefusedTheKernelsDangerousCalls() throws Exception {
    assumeTrue(
        SandboxHere.usable(),
        "workers are not sandboxed here (apt-get install bubblewrap; .ci/run does)");
    Path source = agents.resolve("HostileSyscalls.java");
    try (InputStream in =
        getClass().getResourceAsStream("/dev/worka/gateway/runtime/process/HostileSyscalls.java")) {
      Files.copy(in, source);
    }
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xshare:auto",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "--enable-native-access=ALL-UNNAMED",
            source.toString());
    try (TestGateway gw =
        TestGateway.start(
            home,
            db.url(),
            TestGateway.withLimit(
                TestGateway.policyWith(Map.of("daneel", command), null), "max_attempts", "1"))) {
      JsonNode run = gw.finish(gw.submit("what is on the roadmap?"));

      JsonNode burn = run.path("burns").get(0);
      String all = run.path("burns").toString();
      assertEquals("crash", burn.path("kind").asText(), all);
      List<String> lines = new ArrayList<>();
      burn.path("diagnostics").path("last_lines").forEach(l -> lines.add(l.asText()));
      for (String denied :
          List.of(
              "ptrace",
              "keyctl",
              "bpf",
              "perf_event_open",
              "io_uring_setup",
              "mount",
              "unshare",
              "setns",
              "init_module",
              "clone")) {
        assertTrue(lines.contains(denied + " errno=1"), denied + " (EPERM) in " + lines);
      }
      assertTrue(lines.stream().anyMatch(l -> l.startsWith("getpid returned=")), lines.toString());
      assertTrue(lines.contains("done"), lines.toString());
      // The built-in agents before the hostile one ran under the same filter.
      int builtIn = 0;
      for (JsonNode step : run.path("steps")) {
        if (!step.path("step_ref").asText().equals("answer")) {
          assertEquals("succeeded", step.path("status").asText(), step.toString());
          builtIn++;
        }
      }
      assertTrue(builtIn > 0, "no built-in agent ran before the hostile one: " + run);
    }
  }
}
