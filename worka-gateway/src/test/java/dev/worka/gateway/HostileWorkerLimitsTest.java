package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile workers against their resource limits, through a real Gateway (issue 13 item 1). The
 * attacker: an agent whose program — an operator's, or one prompt-injected into running hostile
 * code — tries to take the host's processes or memory from the Gateway, its database and the other
 * runs. Daneel (who takes the "answer" step) runs a shell script that turns hostile as the test
 * says, with {@code resources: {memory: 128Mi, pids: 96, disk: 16Mi}} — a fork bomb, a memory hog,
 * a flood of connections to the Gateway through its relay; each attack ends as a {@code resource}
 * burn naming the limit, long before the step's deadline, while a run of the built-in agents (hari,
 * ernest: JVMs within the default limits) started at the same time on the same Gateway succeeds.
 * Skipped only on a host where the Gateway reports those limits as not enforced.
 */
class HostileWorkerLimitsTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir static Path home;
  @TempDir static Path agent;

  static TestGateway gw;
  static Path mode;

  @BeforeAll
  static void start() throws Exception {
    mode = agent.resolve("modes");
    Files.createDirectories(mode);
    Path script = agent.resolve("daneel.sh");
    Files.writeString(
        script,
        """
        #!/bin/sh
        echo "daneel: $(cat "$1/mode")"
        case "$(cat "$1/mode")" in
          bomb) b() { b & b & wait; }; b ;;
          hog) x=0123456789; while :; do x=$x$x; done ;;
          fill) dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1 | tail -n 1; sleep 50 ;;
          flood) exec /bin/bash -c 'p=${WORKA_GATEWAY_URL##*:}; p=${p%%/*}; i=0
            while [ $i -lt 40 ] && exec {fd}<>"/dev/tcp/127.0.0.1/$p"; do i=$((i+1)); done
            echo "opened $i"; sleep 50' ;;
        esac
        exit 1
        """);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    String policy =
        TestGateway.withLimit(
            TestGateway.policyWith(
                Map.of("daneel", List.of("/bin/sh", script.toString(), mode.toString())), "60s"),
            "max_attempts",
            "1");
    // pids 96: the relay in front of a sandboxed worker is a JVM (about 20 threads, two more per
    // relayed connection), and the flood must reach the relay's cap before its pids limit.
    policy =
        policy.replaceFirst(
            "(?m)^  daneel:\n",
            "  daneel:\n    resources: {memory: 128Mi, pids: 96, disk: 16Mi}\n");
    gw = TestGateway.start(home, db.url(), policy);
  }

  @AfterAll
  static void stop() {
    if (gw != null) {
      gw.close();
    }
  }

  /** The Gateway's own word on what enforces {@code limit} here (its start line). */
  private static void assumeEnforced(String limit) {
    String said = gw.gateway.workerLimits();
    Matcher m = Pattern.compile(limit + "=([^,]*)").matcher(said);
    assumeTrue(
        m.find() && !m.group(1).startsWith("not enforced"),
        "the " + limit + " limit is not enforced on this host: " + said);
  }

  private static JsonNode resourceBurnOf(JsonNode run) {
    for (JsonNode burn : run.path("burns")) {
      if (burn.path("kind").asText().equals("resource")) {
        return burn;
      }
    }
    throw new AssertionError("no resource burn: " + run.toPrettyString());
  }

  private void attackWhileAnotherRunSucceeds(String attack, String limit, String detail)
      throws Exception {
    Files.writeString(mode.resolve("mode"), attack);
    String hostile = gw.submit("what is on the roadmap?");
    String good = gw.submit("open an issue in acme/widgets titled 'Limits hold'");

    JsonNode attacked = gw.finish(hostile);
    assertEquals("failed", attacked.path("status").asText(), attacked.toPrettyString());
    JsonNode burn = resourceBurnOf(attacked);
    assertEquals(limit, burn.path("diagnostics").path("limit").asText(), burn.toString());
    assertTrue(
        burn.path("reason").asText().contains("agent daneel reached its " + limit + " limit"),
        burn.toString());
    assertTrue(burn.path("diagnostics").path("detail").asText().contains(detail), burn.toString());

    JsonNode fine = gw.finish(good);
    assertEquals("succeeded", fine.path("status").asText(), fine.toPrettyString());
  }

  @Test
  void aForkBombIsStoppedAtItsPidsLimitWhileAnotherRunSucceeds() throws Exception {
    assumeEnforced("pids");
    attackWhileAnotherRunSucceeds("bomb", "pids", "more than 96 processes and threads");
  }

  @Test
  void aConnectionFloodIsStoppedAtItsRelaysCapWhileAnotherRunSucceeds() throws Exception {
    assumeTrue(
        SandboxHere.ownNetwork(),
        "workers do not get a network of their own here (no usable bubblewrap --unshare-net):"
            + " no relay counts their connections");
    attackWhileAnotherRunSucceeds(
        "flood", "connections", "more than 16 connections to the Gateway at once");
  }

  @Test
  void aDiskFillerIsStoppedAtItsDiskLimitWhileAnotherRunSucceeds() throws Exception {
    assumeEnforced("disk");
    attackWhileAnotherRunSucceeds("fill", "disk", "its disk limit is 16Mi");
  }

  @Test
  void aMemoryHogIsStoppedAtItsMemoryLimitWhileAnotherRunSucceeds() throws Exception {
    assumeEnforced("memory");
    attackWhileAnotherRunSucceeds("hog", "memory", "more than 128Mi of memory");
  }
}
