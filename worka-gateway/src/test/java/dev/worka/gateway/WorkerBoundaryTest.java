package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a worker process gets and what happens at its edges: deadlines kill the whole process tree,
 * crashes are burns with diagnostics, the environment holds only the protocol variables, and a step
 * token is refused when forged, expired, stale, or used to name another step. Daneel (who takes the
 * "answer" step of any unrecognized request) is replaced by small shell scripts.
 */
class WorkerBoundaryTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  TestGateway gw;

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
  }

  /**
   * One attempt per step: these tests look at a single attempt's edges (RetryTest covers retries).
   */
  private void startWithDaneel(List<String> command, String stepTimeout) throws Exception {
    gw =
        TestGateway.start(
            home,
            db.url(),
            TestGateway.withLimit(
                TestGateway.policyWith(Map.of("daneel", command), stepTimeout),
                "max_attempts",
                "1"));
  }

  private static List<String> sh(String script) {
    return List.of("/bin/sh", "-c", script);
  }

  @Test
  void aWorkerPastItsDeadlineIsKilledWithItsChildrenAndRecorded() throws Exception {
    startWithDaneel(sh("echo started; sleep 600 & echo waiting; wait"), "5s");
    String runId = gw.submit("what is on the roadmap?");
    List<ProcessHandle> tree = workerTreeRunning("600");
    JsonNode run = gw.finish(runId);

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    JsonNode step = GovernedRunTest.find(run.path("steps"), "answer");
    assertEquals("timed_out", step.path("status").asText());
    JsonNode burn = run.path("burns").get(0);
    assertEquals("timeout", burn.path("kind").asText());
    assertEquals(step.path("step_id").asText(), burn.path("step_id").asText());
    assertTrue(
        burn.path("diagnostics").path("last_lines").toString().contains("waiting"),
        burn.toString());
    assertTrue(run.path("error").asText().contains("timed_out"), run.path("error").asText());
    for (ProcessHandle p : tree) {
      assertFalse(
          running(p.pid()), "process " + p.pid() + " of the killed worker tree is still running");
    }
  }

  @Test
  void aWorkerThatExitsWithoutAResultIsACrashBurnWithItsOutput() throws Exception {
    startWithDaneel(
        sh("echo 'connecting to the gateway'; echo 'boom: something broke' >&2; exit 3"), null);
    JsonNode run = gw.finish(gw.submit("tell me a joke"));
    assertEquals("failed", run.path("status").asText());
    JsonNode burn = run.path("burns").get(0);
    assertEquals("crash", burn.path("kind").asText());
    assertEquals(3, burn.path("diagnostics").path("exit_code").asInt());
    assertTrue(
        burn.path("diagnostics").path("last_lines").toString().contains("boom: something broke"));
    assertTrue(burn.path("reason").asText().contains("exited with status 3"));
  }

  @Test
  void aWorkerEnvironmentHoldsOnlyTheProtocolVariables() throws Exception {
    // The worker reports through its output (kept in the crash burn): it may not write elsewhere.
    startWithDaneel(
        sh("env; echo \"token_dots=$(tr -cd . < \"$WORKA_TOKEN_FILE\" | wc -c)\"; exit 3"), null);
    JsonNode run = gw.finish(gw.submit("anything at all"));
    JsonNode lastLines = run.path("burns").get(0).path("diagnostics").path("last_lines");
    Set<String> names = new TreeSet<>();
    String tokenDots = null;
    for (JsonNode node : lastLines) {
      String line = node.asText();
      if (line.startsWith("token_dots=")) {
        tokenDots = line.substring("token_dots=".length()).trim();
      } else {
        names.add(line.substring(0, line.indexOf('=')));
      }
    }
    names.removeAll(Set.of("PWD", "SHLVL", "_", "OLDPWD")); // set by /bin/sh itself
    assertEquals(
        new TreeSet<>(
            Set.of(
                "WORKA_GATEWAY_URL",
                "WORKA_TOKEN_FILE",
                "WORKA_RUN_ID",
                "WORKA_STEP_ID",
                "WORKA_AGENT",
                "TRACEPARENT")),
        names,
        lastLines.toString());
    assertEquals("2", tokenDots, "the token file holds a JWT: " + lastLines);
  }

  @Test
  void stepTokensAreRefusedWhenForgedExpiredStaleOrNamingAnotherStep() throws Exception {
    startWithDaneel(sh("sleep 120"), "60s");
    String runId = gw.submit("please do something unusual");
    gw.followUntil(
        runId,
        e ->
            "answer".equals(e.path("step_ref").asText())
                && "running".equals(e.path("to").asText()));
    JsonNode step = GovernedRunTest.find(gw.story(runId).path("steps"), "answer");
    UUID run = UUID.fromString(runId);
    UUID stepId = UUID.fromString(step.path("step_id").asText());
    SigningKeys keys = SigningKeys.loadOrCreate(home);
    TokenIssuer issuer = new TokenIssuer(keys, Gateway.ISSUER, InstantSource.system());
    Instant later = Instant.now().plus(Duration.ofMinutes(1));
    String valid = issuer.mint("daneel", run, stepId, 1, later).token();

    TestGateway.Answer ok = agent("GET", "/v1/agent/context", valid, null);
    assertEquals(200, ok.status(), ok.raw().body());
    assertEquals(stepId.toString(), ok.body().path("step_id").asText());
    assertTrue(ok.body().path("objective").asText().startsWith("Answer:"));

    TestGateway.Answer none = agent("GET", "/v1/agent/context", null, null);
    assertEquals(401, none.status());

    String expired =
        new TokenIssuer(
                keys, Gateway.ISSUER, InstantSource.fixed(Instant.now().minus(Duration.ofHours(2))))
            .mint("daneel", run, stepId, 1, Instant.now().minus(Duration.ofHours(1)))
            .token();
    assertRefused(agent("GET", "/v1/agent/context", expired, null), 401, "token_expired");

    String foreign =
        new TokenIssuer(SigningKeys.generate(), Gateway.ISSUER, InstantSource.system())
            .mint("daneel", run, stepId, 1, later)
            .token();
    assertRefused(agent("GET", "/v1/agent/context", foreign, null), 401, "token_invalid");

    String stale = issuer.mint("daneel", run, stepId, 2, later).token();
    TestGateway.Answer staleAnswer = agent("GET", "/v1/agent/context", stale, null);
    assertRefused(staleAnswer, 401, "step_not_running");
    assertTrue(staleAnswer.body().has("gate_id"));

    Instant beforeBeat = Instant.now();
    TestGateway.Answer beat = agent("POST", "/v1/agent/heartbeat", valid, null);
    assertEquals(200, beat.status(), beat.raw().body());
    assertEquals(stepId.toString(), beat.body().path("step_id").asText());
    Instant leaseUntil = Instant.parse(beat.body().path("lease_until").asText());
    assertFalse(
        leaseUntil.isBefore(beforeBeat.plusSeconds(5)),
        "the step's lease runs at least half a lease (WORKA_LEASE_SECONDS=10) past the heartbeat: "
            + beat.raw().body());

    UUID otherStep = UUID.randomUUID();
    TestGateway.Answer mismatch =
        agent("POST", "/v1/agent/heartbeat", valid, "{\"step_id\": \"" + otherStep + "\"}");
    assertRefused(mismatch, 403, "identity_mismatch");
    assertRefused(
        agent("GET", "/v1/agent/context?run_id=" + UUID.randomUUID(), valid, null),
        403,
        "identity_mismatch");
    assertRefused(
        agent(
            "POST",
            "/v1/agent/result",
            valid,
            "{\"status\": \"succeeded\", \"agent\": \"hari\", \"summary\": \"x\"}"),
        403,
        "identity_mismatch");

    TestGateway.Answer offList =
        agent(
            "POST",
            "/v1/agent/skills/github.create_issue",
            valid,
            "{\"input\": {\"owner\": \"acme\", \"repo\": \"widgets\", \"title\": \"x\"}}");
    assertRefused(offList, 403, "policy_denied");
    TestGateway.Answer plan =
        agent(
            "POST",
            "/v1/agent/plan",
            valid,
            "{\"summary\": \"mine\", \"steps\": [{\"step_ref\": \"a\", \"agent\": \"ernest\", \"objective\": \"x\","
                + " \"skills\": [], \"depends_on\": []}]}");
    assertRefused(plan, 403, "policy_denied");

    String leaky =
        "{\"status\": \"succeeded\", \"summary\": \"done <!channel> "
            + TestGateway.OPERATOR_TOKEN
            + "\","
            + " \"output\": {\"note\": \"@here the key is ghp_"
            + "a".repeat(36)
            + "\"}}";
    TestGateway.Answer first = agent("POST", "/v1/agent/result", valid, leaky);
    assertEquals(200, first.status(), first.raw().body());
    assertEquals(2, first.body().path("cleaned").path("secrets").asInt(), first.raw().body());
    assertEquals(
        2, first.body().path("cleaned").path("broadcast_mentions").asInt(), first.raw().body());
    assertRefused(
        agent(
            "POST",
            "/v1/agent/result",
            valid,
            "{\"status\": \"succeeded\", \"summary\": \"again\"}"),
        409,
        "result_already_submitted");
    assertRefused(agent("GET", "/v1/agent/context", valid, null), 401, "step_not_running");

    JsonNode story = gw.finish(runId);
    assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
    JsonNode answerStep = GovernedRunTest.find(story.path("steps"), "answer");
    assertEquals("done ＠channel [redacted]", answerStep.path("summary").asText());
    assertEquals("＠here the key is [redacted]", answerStep.path("output").path("note").asText());
    assertFalse(story.toString().contains(TestGateway.OPERATOR_TOKEN), "no secret in the story");
    assertEquals(2, answerStep.path("cleaned").path("secrets").asInt());
    List<String> denies = new java.util.ArrayList<>();
    story
        .path("gates")
        .forEach(
            g -> {
              if (g.path("status").asText().equals("deny")) {
                denies.add(g.path("action").asText());
              }
            });
    assertEquals(
        List.of(
            "agent.token",
            "agent.identity",
            "agent.identity",
            "agent.identity",
            "skill.invoke",
            "plan.submit",
            "agent.token"),
        denies);
    assertTrue(story.path("skill_invocations").isEmpty(), "no denied call reached a provider");
  }

  @Test
  void aWorkerThatKeepsBeingDeniedHasItsAttemptEndedAndHostileInputsAreRefusedCleanly()
      throws Exception {
    startWithDaneel(sh("sleep 120"), "60s");
    String runId = gw.submit("please do something unusual");
    gw.followUntil(
        runId,
        e ->
            "answer".equals(e.path("step_ref").asText())
                && "running".equals(e.path("to").asText()));
    JsonNode step = GovernedRunTest.find(gw.story(runId).path("steps"), "answer");
    String token =
        new TokenIssuer(SigningKeys.loadOrCreate(home), Gateway.ISSUER, InstantSource.system())
            .mint(
                "daneel",
                UUID.fromString(runId),
                UUID.fromString(step.path("step_id").asText()),
                1,
                Instant.now().plus(Duration.ofMinutes(1)))
            .token();

    // Hostile values are refused with their status and a recorded gate, never a 500.
    TestGateway.Answer nul =
        agent(
            "POST",
            "/v1/agent/skills/slack.post_message",
            token,
            "{\"input\": {\"channel\": \"C123\", \"text\": \"a\\u0000b\"}}");
    assertEquals(
        403, nul.status(), nul.raw().body()); // not on this step's accepted skills: policy first
    assertRefused(
        agent("GET", "/v1/agent/context?run_id=%00", token, null), 403, "identity_mismatch");
    StringBuilder deep = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      deep.append("{\"a\":");
    }
    deep.append("1").append("}".repeat(40));
    assertRefused(
        agent(
            "POST",
            "/v1/agent/result",
            token,
            "{\"status\": \"succeeded\", \"output\": " + deep + "}"),
        422,
        "invalid_body");

    int denied = 2; // the two refusals above
    while (denied < 25) {
      TestGateway.Answer a =
          agent(
              "POST",
              "/v1/agent/skills/github.create_issue",
              token,
              "{\"input\": {\"owner\": \"acme\", \"repo\": \"widgets\", \"title\": \"x\"}}");
      assertEquals(403, a.status());
      denied++;
    }
    assertRefused(agent("GET", "/v1/agent/context", token, null), 401, "step_not_running");
    assertRefused(agent("GET", "/v1/agent/context", token, null), 401, "step_not_running");
    JsonNode run = gw.finish(runId);
    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    JsonNode answer = GovernedRunTest.find(run.path("steps"), "answer");
    assertEquals("failed", answer.path("status").asText());
    assertTrue(
        answer.path("error").asText().contains("25 requests that were denied"), answer.toString());
    assertTrue(run.path("burns").toString().contains("\"policy\""), run.path("burns").toString());
    long tokenGates = 0;
    for (JsonNode g : run.path("gates")) {
      tokenGates += g.path("action").asText().equals("agent.token") ? 1 : 0;
    }
    assertEquals(1, tokenGates, "an ended token's refusals are recorded once");
  }

  @Test
  void cancellingARunStopsItsWorkerAndRefusesItsToken() throws Exception {
    startWithDaneel(sh("sleep 120"), "60s");
    String runId = gw.submit("an unusual request");
    gw.followUntil(
        runId,
        e ->
            "answer".equals(e.path("step_ref").asText())
                && "running".equals(e.path("to").asText()));
    List<ProcessHandle> tree = workerTreeRunning("120");
    TestGateway.Answer cancelled =
        gw.operator("POST", "/v1/runs/" + runId + "/cancel", "{\"reason\": \"changed my mind\"}");
    assertEquals(200, cancelled.status(), cancelled.raw().body());
    assertEquals("cancelled", cancelled.body().path("status").asText());
    JsonNode run = gw.finish(runId);
    assertEquals("cancelled", run.path("status").asText());
    assertTrue(run.path("error").asText().contains("changed my mind"));
    for (JsonNode s : run.path("steps")) {
      assertTrue(
          Set.of("succeeded", "cancelled").contains(s.path("status").asText()), s.toString());
    }
    assertEquals(
        "cancelled", GovernedRunTest.find(run.path("steps"), "answer").path("status").asText());
    for (ProcessHandle p : tree) {
      assertFalse(
          running(p.pid()), "process " + p.pid() + " of the stopped worker is still running");
    }
    assertEquals(409, gw.operator("POST", "/v1/runs/" + runId + "/cancel", null).status());
  }

  @Test
  void aSandboxedWorkerCannotReadWorkaHomeOrTheGatewayProcess() throws Exception {
    // WORKA_HOME inside the installation directory, which workers see: it must still be hidden.
    Path install = Path.of("..").toAbsolutePath().normalize();
    String isolation =
        new dev.worka.gateway.runtime.process.ProcessRuntime(install, InstantSource.system())
            .isolation();
    org.junit.jupiter.api.Assumptions.assumeTrue(
        isolation.equals("bubblewrap"),
        () -> "workers are not sandboxed here: " + isolation + " (apt-get install bubblewrap)");
    Path insideHome = Files.createTempDirectory(install, "worka-home-test-");
    try {
      long gateway = ProcessHandle.current().pid();
      gw =
          TestGateway.start(
              insideHome,
              db.url(),
              TestGateway.policyWith(
                  Map.of(
                      "daneel",
                      sh(
                          "cat "
                              + insideHome
                              + "/keys/gateway-signing.jwk "
                              + insideHome
                              + "/operator-token"
                              + " /proc/"
                              + gateway
                              + "/environ; echo \"entries=$(ls -A "
                              + insideHome
                              + " | wc -l)\"; exit 3")),
                  null));
      JsonNode run = gw.finish(gw.submit("anything at all"));
      String lines = run.path("burns").get(0).path("diagnostics").path("last_lines").toString();
      assertTrue(lines.contains("entries=0"), lines);
      assertFalse(
          lines.contains("kty")
              || lines.contains(TestGateway.OPERATOR_TOKEN)
              || lines.contains("PATH="),
          lines);
      assertTrue(
          Files.exists(insideHome.resolve("keys/gateway-signing.jwk")),
          "the Gateway itself still has its key");
    } finally {
      if (gw != null) {
        gw.close();
        gw = null;
      }
      try (var walk = Files.walk(insideHome)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /**
   * The host's view of the worker running {@code sleep <seconds>}, once it runs: the child of this
   * JVM it descends from (setsid/sh, or bwrap when sandboxed) and all that one's descendants. The
   * worker cannot report its own pids: in a sandbox they are those of its own PID namespace.
   */
  static List<ProcessHandle> workerTreeRunning(String seconds) {
    long self = ProcessHandle.current().pid();
    ProcessHandle root =
        await("a worker running sleep " + seconds)
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(10))
            .until(
                () ->
                    ProcessHandle.current()
                        .descendants()
                        .filter(h -> h.info().command().orElse("").endsWith("/sleep"))
                        .filter(
                            h ->
                                List.of(h.info().arguments().orElse(new String[0]))
                                    .equals(List.of(seconds)))
                        .findFirst(),
                Optional::isPresent)
            .orElseThrow();
    while (root.parent().map(p -> p.pid() != self).orElse(false)) {
      root = root.parent().get();
    }
    List<ProcessHandle> tree = new java.util.ArrayList<>(root.descendants().toList());
    tree.add(root);
    return tree;
  }

  /**
   * Whether a process is running: present and not a zombie. (A killed orphan stays a zombie until
   * PID 1 reaps it, which some container inits do only every few seconds.)
   */
  static boolean running(long pid) throws java.io.IOException {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    if (!Files.exists(stat)) {
      return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
    try {
      String s = Files.readString(stat);
      char state = s.charAt(s.lastIndexOf(')') + 2);
      return state != 'Z' && state != 'X';
    } catch (java.nio.file.NoSuchFileException gone) {
      return false;
    }
  }

  private TestGateway.Answer agent(String method, String path, String token, String body) {
    Map<String, String> headers = new java.util.HashMap<>();
    if (token != null) {
      headers.put("Authorization", "Bearer " + token);
    }
    if (body != null) {
      headers.put("Content-Type", "application/json");
    }
    return gw.call(method, path, body, headers);
  }

  private static void assertRefused(TestGateway.Answer a, int status, String code) {
    assertEquals(status, a.status(), a.raw().body());
    assertEquals(code, a.body().path("error").asText(), a.raw().body());
    assertFalse(a.body().path("message").asText().isEmpty());
  }
}
