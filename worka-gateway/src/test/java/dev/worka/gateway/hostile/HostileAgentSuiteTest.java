package dev.worka.gateway.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.hostile.Playbook.Expect;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import dev.worka.protocol.Json;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile-agent suite: worker processes that really attack a real Gateway through the agent
 * protocol — forged, expired, replayed, foreign-key-signed and alg-confused tokens; another step's
 * ids in tokens, queries, bodies and paths; skills off the allowlist or with arguments the
 * condition forbids; plans from workers; racing and repeated results; oversized, malformed and
 * deeply nested JSON; secrets and broadcasts in outputs; calls after the step ended; floods past
 * the limits. Every attempt is listed with the answer it must get in {@link Playbook}; the {@link
 * HostileWorker} performs and checks them from inside its step and reports them; this test checks
 * the report against the playbook and the recorded story: each refusal that reached policy is a
 * deny gate of the attacker's own step, nothing else is, only allowed calls became skill
 * invocations, and the other runs' stories did not change.
 *
 * <p>Daneel (the "answer" step of an unrecognized request) and Ernest (the "file" step of "open an
 * issue in acme/widgets titled …", which accepts github.create_issue) are replaced in the built-in
 * policy by the hostile worker; Hari, the planner, is the real one.
 */
class HostileAgentSuiteTest {
  private static final Duration WAIT = Duration.ofSeconds(90);

  /**
   * The Gateway's token issuer (Gateway.ISSUER); a wrong one would turn token_expired into
   * token_invalid.
   */
  private static final String ISSUER = "worka-gateway";

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  ReportSink sink;
  TestGateway gw;

  @BeforeEach
  void start() throws Exception {
    sink = new ReportSink();
    List<String> hostile = workerCommand(sink.url());
    // The side channel is a loopback server outside the Gateway, which a worker with a network of
    // its own cannot reach (BubblewrapSandboxTest shows that): these workers share the host's.
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            TestGateway.policyWith(Map.of("daneel", hostile, "ernest", hostile), null),
            "dry-run",
            Map.of("WORKA_WORKER_NETWORK", "host"));
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (sink != null) {
      sink.close();
    }
  }

  @Test
  void attackersAreRefusedAtEveryTurnAndTheRunNextToThemIsUntouched() throws Exception {
    // The victim: an honest Ernest step, live, holding one allowed call, waiting to finish.
    String victimRun =
        gw.submit("open an issue in acme/widgets titled '" + HostileWorker.VICTIM_TITLE + "'");
    String victimInvocation = sink.await("ready/victim", WAIT);
    JsonNode victimBefore = gw.story(victimRun);
    String victimStep = step(victimBefore, "file").path("step_id").asText();
    assertEquals(
        "running",
        step(victimBefore, "file").path("status").asText(),
        victimBefore.toPrettyString());

    // What leaked to the attacker: the victim's ids, a genuine but expired token of the victim's
    // step, and the Gateway's public key (public keys are meant to be public).
    Instant now = Instant.now();
    String expired =
        new TokenIssuer(
                SigningKeys.loadOrCreate(home),
                ISSUER,
                InstantSource.fixed(now.minus(Duration.ofHours(2))))
            .mint(
                "ernest",
                UUID.fromString(victimRun),
                UUID.fromString(victimStep),
                1,
                now.minus(Duration.ofHours(1)))
            .token();
    ObjectNode intel =
        Json.STRICT
            .createObjectNode()
            .put("victim_run_id", victimRun)
            .put("victim_step_id", victimStep)
            .put("expired_token", expired);
    intel.set("gateway_jwk", publicJwk());
    sink.put("intel", intel.toString());

    // The attacker: Daneel's answer step.
    String attackerRun = gw.submit(HostileWorker.ATTACKER_TEXT + ": try everything");
    JsonNode afterReport = Json.STRICT.readTree(sink.await("report/attacker-after", WAIT));
    JsonNode attacker = gw.finish(attackerRun);
    String stolenToken = sink.await("loot/attacker-token", WAIT);

    assertEquals("succeeded", attacker.path("status").asText(), attacker.toPrettyString());
    JsonNode answer = step(attacker, "answer");
    String attackerStep = answer.path("step_id").asText();
    JsonNode report = answer.path("output");
    Set<String> reportedGates = new HashSet<>();
    reportedGates.addAll(assertReport(Playbook.ATTACKER, report, attacker, attackerStep));
    reportedGates.addAll(
        assertReport(Playbook.ATTACKER_AFTER, afterReport, attacker, attackerStep));
    assertEquals(
        denyGates(attacker, attackerStep),
        reportedGates,
        "every deny gate of the attacker's step is one of its reported refusals, and vice versa");
    assertEquals(
        expectedGates(
            Stream.concat(Playbook.ATTACKER.stream(), Playbook.ATTACKER_AFTER.stream()).toList()),
        actionsOf(attacker, attackerStep, "deny"));
    assertTrue(
        actionsOf(attacker, attackerStep, "allow").isEmpty(),
        "no call of the attacker was allowed");
    assertTrue(
        attacker.path("skill_invocations").isEmpty(),
        "no attempt reached a provider: " + attacker.path("skill_invocations"));
    assertTrue(attacker.path("burns").isEmpty(), attacker.path("burns").toString());
    assertTrue(Playbook.ATTACKER.size() + Playbook.ATTACKER_AFTER.size() >= 40);

    // Its output was cleaned before it was stored: no secret, no broadcast, no hidden text.
    String winner = answer.path("summary").asText();
    assertTrue(winner.matches("racer [0-9] done ＠here ＠channel"), winner);
    JsonNode leaks = report.path("leaks");
    leaks
        .properties()
        .forEach(
            leak -> {
              if (!leak.getKey().equals("broadcasts") && !leak.getKey().equals("invisible")) {
                assertTrue(leak.getValue().asText().contains("[redacted]"), leak.toString());
              }
            });
    assertEquals("＠channel ＠here ＠everyone ＠oncall hello", leaks.path("broadcasts").asText());
    assertEquals("paypal txt.exe", leaks.path("invisible").asText());
    assertTrue(report.has("＠here") && !report.has("@here"), "object keys are cleaned too");
    String stored = attacker.toString();
    for (String secret :
        List.of(
            "ghp_",
            "xoxb-",
            "sk-ant-",
            "AKIAABCD",
            "BEGIN EC PRIVATE KEY",
            "<!channel>",
            "<!here",
            "@everyone",
            "\u200B",
            "\u202E",
            stolenToken)) {
      assertFalse(stored.contains(secret), "the attacker's story holds " + secret);
    }
    assertTrue(
        answer.path("cleaned").path("secrets").asInt() >= 6, answer.path("cleaned").toString());

    // The flooder: replays the attacker's stolen token, then is denied until the Gateway ends it.
    String flooderRun = gw.submit(HostileWorker.FLOODER_TEXT + ": knock until they lock the door");
    JsonNode flooderReport = Json.STRICT.readTree(sink.await("report/flooder", WAIT));
    JsonNode flooder = gw.finish(flooderRun);
    assertEquals("failed", flooder.path("status").asText(), flooder.toPrettyString());
    JsonNode flooded = step(flooder, "answer");
    String flooderStep = flooded.path("step_id").asText();
    assertEquals("failed", flooded.path("status").asText());
    assertTrue(
        flooded
            .path("error")
            .asText()
            .contains(Playbook.MAX_DENIES_PER_ATTEMPT + " requests that were denied"),
        flooded.toString());
    Set<String> floodGates = assertReport(Playbook.FLOODER, flooderReport, flooder, flooderStep);
    assertTrue(denyGates(flooder, flooderStep).containsAll(floodGates));
    assertEquals(
        Map.of(Playbook.SKILL, Playbook.MAX_DENIES_PER_ATTEMPT, Playbook.TOKEN, 1),
        actionsOf(flooder, flooderStep, "deny"),
        "the flood is capped, and the ended token's refusals are recorded once");
    assertTrue(flooder.path("skill_invocations").isEmpty());
    assertEquals(List.of("policy"), kinds(flooder.path("burns")), flooder.path("burns").toString());

    // Nobody else's story changed: the attacker's ended run gained nothing from the replays, and
    // the victim, still running, has exactly what it had before the attacks.
    assertEquals(
        attacker, gw.story(attackerRun), "replaying the attacker's ended token changed its run");
    assertEquals(victimBefore, gw.story(victimRun), "the attacks changed the victim's run");

    // The operator API refused the worker's token: no run was cancelled or started, the policy
    // is the one the Gateway started with.
    List<String> runs = new ArrayList<>();
    gw.operator("GET", "/v1/runs?limit=50", null)
        .body()
        .path("runs")
        .forEach(r -> runs.add(r.path("run_id").asText()));
    assertEquals(Set.of(victimRun, attackerRun, flooderRun), Set.copyOf(runs), runs.toString());
    assertEquals(1, gw.operator("GET", "/v1/policy", null).body().path("version").asInt());

    // The victim finishes as if nothing happened.
    sink.put("go/victim", "go");
    JsonNode victimResult = Json.STRICT.readTree(sink.await("report/victim", WAIT));
    assertEquals(200, victimResult.path("status").asInt(), victimResult.toString());
    JsonNode victim = gw.finish(victimRun);
    assertEquals("succeeded", victim.path("status").asText(), victim.toPrettyString());
    List<String> victimGates = new ArrayList<>();
    victim
        .path("gates")
        .forEach(
            g ->
                victimGates.add(
                    g.path("status").asText()
                        + " "
                        + g.path("action").asText()
                        + " "
                        + g.path("subject").asText()
                        + " "
                        + g.path("skill").asText("")));
    assertEquals(
        List.of("allow plan.submit hari ", "allow skill.invoke ernest github.create_issue"),
        victimGates);
    assertEquals(1, victim.path("skill_invocations").size());
    assertEquals(
        victimInvocation, victim.path("skill_invocations").get(0).path("invocation_id").asText());
    assertEquals(
        HostileWorker.VICTIM_TITLE,
        victim.path("skill_invocations").get(0).path("input").path("title").asText());
    assertTrue(victim.path("burns").isEmpty());
    assertEquals("filed the neighbour issue", step(victim, "file").path("summary").asText());
  }

  @Test
  void aWorkerWithTheRightSkillAndForbiddenArgumentsIsDeniedAndOnlyItsAllowedCallsTakeEffect()
      throws Exception {
    String runId =
        gw.submit("open an issue in acme/widgets titled '" + HostileWorker.ARGUMENTS_TITLE + "'");
    JsonNode run = gw.finish(runId);
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    JsonNode file = step(run, "file");
    String stepId = file.path("step_id").asText();
    JsonNode report = file.path("output");

    Set<String> reportedGates = assertReport(Playbook.ARGUMENTS, report, run, stepId);
    // Racing duplicates that found the call still in progress were denied and recorded; a 409
    // does not always name its gate (see racingConflictsNameTheirGates), so find those by reason.
    int conflicts = 0;
    long ungated = 0;
    for (JsonNode a : report.path("attempts")) {
      conflicts += a.path("extra_gate_ids").size() + a.path("ungated_conflicts").asInt();
      ungated += a.path("ungated_conflicts").asInt();
    }
    Set<String> unreported = new HashSet<>(denyGates(run, stepId));
    unreported.removeAll(reportedGates);
    long inProgress = 0;
    for (JsonNode g : run.path("gates")) {
      if (unreported.contains(g.path("gate_id").asText())) {
        assertTrue(
            g.path("reason").asText().startsWith("the call with this idempotency key is started"),
            g.toString());
        inProgress++;
      }
    }
    assertEquals(
        ungated,
        inProgress,
        "every deny gate of the step is a reported refusal or an unnamed conflict");
    Map<String, Integer> expectedDenies = expectedGates(Playbook.ARGUMENTS);
    expectedDenies.merge(Playbook.SKILL, conflicts, Integer::sum);
    assertEquals(expectedDenies, actionsOf(run, stepId, "deny"));

    // Exactly the allowed calls became invocations — with the replays, which count as calls, the
    // limit's worth —, each behind its allow gate, each with arguments the condition allows; every
    // replay and racing duplicate added none.
    JsonNode calls = run.path("skill_invocations");
    assertEquals(Playbook.MAX_SKILL_CALLS_PER_STEP, calls.size() + report.path("replays").asInt());
    assertEquals(calls.size(), report.path("invocations").asInt());
    Map<String, JsonNode> gates = new TreeMap<>();
    run.path("gates").forEach(g -> gates.put(g.path("gate_id").asText(), g));
    Set<String> titles = new HashSet<>();
    for (JsonNode call : calls) {
      assertEquals("github.create_issue", call.path("skill").asText());
      assertEquals("succeeded", call.path("status").asText(), call.toString());
      assertTrue(call.path("dry_run").asBoolean(), "dry-run: nothing went upstream");
      assertEquals("acme", call.path("input").path("owner").asText(), call.toString());
      assertEquals("widgets", call.path("input").path("repo").asText(), call.toString());
      assertTrue(call.path("input").path("title").asText().length() <= 200);
      JsonNode gate = gates.get(call.path("gate_id").asText());
      assertEquals("allow", gate.path("status").asText(), gate.toString());
      assertEquals(stepId, gate.path("step_id").asText());
      titles.add(call.path("input").path("title").asText());
    }
    assertEquals(calls.size(), titles.size(), "no call was made twice");
    assertTrue(titles.containsAll(List.of("hostile but allowed", "racing")), titles.toString());
    assertFalse(
        titles.contains("another issue entirely"), "a reused key with another input calls nothing");
    // Each allow gate is an invocation's, or a replay's that names the invocation it replayed.
    Set<String> invocationGates = new HashSet<>();
    Set<String> invocationIds = new HashSet<>();
    calls.forEach(
        c -> {
          invocationGates.add(c.path("gate_id").asText());
          invocationIds.add(c.path("invocation_id").asText());
        });
    int replays = 0;
    for (JsonNode g : run.path("gates")) {
      if (g.path("status").asText().equals("allow")
          && g.path("step_id").asText().equals(stepId)
          && !invocationGates.contains(g.path("gate_id").asText())) {
        String reason = g.path("reason").asText();
        assertTrue(
            reason.startsWith("replay of invocation ")
                && invocationIds.contains(
                    reason.substring("replay of invocation ".length()).split(" ")[0]),
            g.toString());
        replays++;
      }
    }
    assertEquals(
        report.path("replays").asInt(), replays, "one allow gate per replay the worker got");
    assertEquals(
        Map.of(Playbook.SKILL, Playbook.MAX_SKILL_CALLS_PER_STEP),
        actionsOf(run, stepId, "allow"),
        "the limit bounds the allow gates, replays included");
    assertTrue(run.path("burns").isEmpty(), run.path("burns").toString());
  }

  // ------------------------------------------------------------------------------------------
  // Gateway bugs this suite found: each test states the expected behaviour.

  @Test
  void aRepeatedQueryParameterCannotSmuggleAnotherRunsIdPastTheIdentityCheck() throws Exception {
    String runId = gw.submit(HostileWorker.PROBE_DUPLICATE_QUERY);
    JsonNode run = gw.finish(runId);
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    String stepId = step(run, "answer").path("step_id").asText();
    assertEquals(
        denyGates(run, stepId),
        assertReport(
            Playbook.PROBE_DUPLICATE_QUERY, step(run, "answer").path("output"), run, stepId));
  }

  @Test
  void aConcurrentFloodOfDeniedCallsIsCappedAtTheDenialLimit() throws Exception {
    String runId = gw.submit(HostileWorker.PROBE_CONCURRENT_FLOOD);
    JsonNode report = Json.STRICT.readTree(sink.await("report/concurrent-flood", WAIT));
    JsonNode run = gw.finish(runId);
    String stepId = step(run, "answer").path("step_id").asText();
    assertReport(Playbook.PROBE_CONCURRENT_FLOOD, report, run, stepId);
    assertEquals(
        Map.of(Playbook.SKILL, Playbook.MAX_DENIES_PER_ATTEMPT, Playbook.TOKEN, 1),
        actionsOf(run, stepId, "deny"));
  }

  @Test
  void anOversizedBodyIsRefusedWithTheConnectionClosedOpenly() throws Exception {
    String runId = gw.submit(HostileWorker.PROBE_OVERSIZED);
    JsonNode run = gw.finish(runId);
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    JsonNode answer = step(run, "answer");
    assertReport(
        Playbook.PROBE_OVERSIZED, answer.path("output"), run, answer.path("step_id").asText());
  }

  @Test
  void racingConflictsNameTheirDenyGates() throws Exception {
    String runId =
        gw.submit("open an issue in acme/widgets titled '" + HostileWorker.RACING_TITLE + "'");
    JsonNode run = gw.finish(runId);
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    JsonNode file = step(run, "file");
    assertReport(Playbook.PROBE_RACING, file.path("output"), run, file.path("step_id").asText());
  }

  @Test
  void replayingOneKeyIsBoundedLikeCallingAndAKeyNeverAnswersAnotherInput() throws Exception {
    String runId =
        gw.submit(
            "open an issue in acme/widgets titled '" + HostileWorker.REPLAY_FLOOD_TITLE + "'");
    JsonNode report = Json.STRICT.readTree(sink.await("report/replay-flood", WAIT));
    JsonNode run = gw.finish(runId);
    JsonNode file = step(run, "file");
    String stepId = file.path("step_id").asText();
    assertEquals(
        denyGates(run, stepId),
        assertReport(Playbook.PROBE_REPLAY_FLOOD, report, run, stepId),
        "every deny gate of the step is a reported refusal");

    // One invocation; the allow gates are the limit's worth; the deny gates the denial cap's.
    assertEquals(Playbook.MAX_SKILL_CALLS_PER_STEP - 1, report.path("replays").asInt());
    assertEquals(
        Map.of(Playbook.SKILL, Playbook.MAX_SKILL_CALLS_PER_STEP), actionsOf(run, stepId, "allow"));
    assertEquals(
        Map.of(Playbook.SKILL, Playbook.MAX_DENIES_PER_ATTEMPT, Playbook.TOKEN, 1),
        actionsOf(run, stepId, "deny"));
    JsonNode calls = run.path("skill_invocations");
    assertEquals(1, calls.size(), calls.toString());
    assertEquals(
        report.path("invocation_id").asText(), calls.get(0).path("invocation_id").asText());
    assertEquals("flood me", calls.get(0).path("input").path("title").asText());
    List<String> events = new ArrayList<>();
    calls.get(0).path("lock_events").forEach(e -> events.add(e.asText()));
    List<String> expected =
        new ArrayList<>(List.of("acquired", "released", "conflict", "conflict"));
    expected.addAll(
        java.util.Collections.nCopies(Playbook.MAX_SKILL_CALLS_PER_STEP - 1, "replayed"));
    assertEquals(expected, events, "a refused replay writes no lock event");
    assertEquals("failed", file.path("status").asText());
    assertTrue(
        file.path("error")
            .asText()
            .contains(Playbook.MAX_DENIES_PER_ATTEMPT + " requests that were denied"),
        file.toString());
    assertEquals(List.of("policy"), kinds(run.path("burns")), run.path("burns").toString());
  }

  @Test
  void aHostilePlannerGetsItsAcceptedPlanAgainAndNoOther() throws Exception {
    gw.close();
    List<String> hostile = workerCommand(sink.url());
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            TestGateway.policyWith(
                Map.of("hari", hostile, "daneel", hostile, "ernest", hostile), null),
            "dry-run",
            Map.of("WORKA_WORKER_NETWORK", "host"));
    String runId = gw.submit(HostileWorker.PLANNER_TEXT + ": one plan or another");
    JsonNode run = gw.finish(runId);
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    JsonNode plan = step(run, "plan");
    String stepId = plan.path("step_id").asText();
    assertEquals(
        denyGates(run, stepId), assertReport(Playbook.PLANNER, plan.path("output"), run, stepId));
    assertEquals(
        Map.of(Playbook.PLAN, 3), actionsOf(run, stepId, "allow"), "accepted, then answered twice");
    assertEquals(expectedGates(Playbook.PLANNER), actionsOf(run, stepId, "deny"));
    assertEquals("accepted", run.path("plan").path("status").asText());
    assertEquals(
        List.of("plan", "answer"), stepRefs(run), "the run's steps are the accepted plan's");
    assertEquals("succeeded", step(run, "answer").path("status").asText());
  }

  private static List<String> stepRefs(JsonNode story) {
    List<String> refs = new ArrayList<>();
    story.path("steps").forEach(s -> refs.add(s.path("step_ref").asText()));
    return refs;
  }

  // ------------------------------------------------------------------------------------------

  /**
   * Checks a worker's report against its playbook and the run's story; returns the gate ids it
   * reported.
   */
  private static Set<String> assertReport(
      List<Expect> playbook, JsonNode report, JsonNode story, String stepId) {
    JsonNode attempts = report.path("attempts");
    List<String> names = new ArrayList<>();
    attempts.forEach(a -> names.add(a.path("attempt").asText()));
    assertEquals(
        playbook.stream().map(Expect::name).toList(), names, "the attempts the worker reported");
    Map<String, JsonNode> gates = new TreeMap<>();
    story.path("gates").forEach(g -> gates.put(g.path("gate_id").asText(), g));
    Set<String> reported = new HashSet<>();
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < playbook.size(); i++) {
      Expect e = playbook.get(i);
      JsonNode a = attempts.get(i);
      String got = e.name() + ": " + a;
      if (a.path("status").asInt() != e.status()) {
        failures.add("status " + e.status() + " expected — " + got);
      } else if (!e.errors().contains(a.path("error").asText())) {
        failures.add("error " + e.errors() + " expected — " + got);
      } else if (!a.path("ok").asBoolean()) {
        failures.add("the worker's own check failed — " + got);
      } else if (e.gate() == null && a.hasNonNull("gate_id")) {
        failures.add("no gate expected — " + got);
      } else if (e.gate() != null) {
        String id = a.path("gate_id").asText(null);
        JsonNode gate = id == null ? null : gates.get(id);
        if (gate == null) {
          failures.add("a recorded " + e.gate() + " gate expected — " + got);
        } else if (!gate.path("action").asText().equals(e.gate())
            || !gate.path("status").asText().equals("deny")
            || !gate.path("step_id").asText().equals(stepId)) {
          failures.add(
              "a deny "
                  + e.gate()
                  + " gate of step "
                  + stepId
                  + " expected, found "
                  + gate
                  + " — "
                  + got);
        } else {
          reported.add(id);
        }
      }
      for (JsonNode extra : a.path("extra_gate_ids")) {
        JsonNode gate = gates.get(extra.asText());
        if (gate == null
            || !gate.path("status").asText().equals("deny")
            || !gate.path("step_id").asText().equals(stepId)
            || !gate.path("action").asText().equals(Playbook.SKILL)) {
          failures.add(
              "a deny skill.invoke gate of step "
                  + stepId
                  + " expected for "
                  + extra
                  + ", found "
                  + gate);
        } else {
          reported.add(extra.asText());
        }
      }
    }
    assertTrue(
        failures.isEmpty(),
        failures.size()
            + " attempt(s) not refused as they must be:\n"
            + String.join("\n", failures));
    return reported;
  }

  private static Set<String> denyGates(JsonNode story, String stepId) {
    Set<String> ids = new HashSet<>();
    story
        .path("gates")
        .forEach(
            g -> {
              if (g.path("status").asText().equals("deny")
                  && g.path("step_id").asText().equals(stepId)) {
                ids.add(g.path("gate_id").asText());
              }
            });
    return ids;
  }

  /** The step's gates of one status, counted by action. */
  private static Map<String, Integer> actionsOf(JsonNode story, String stepId, String status) {
    Map<String, Integer> count = new TreeMap<>();
    story
        .path("gates")
        .forEach(
            g -> {
              if (g.path("status").asText().equals(status)
                  && g.path("step_id").asText().equals(stepId)) {
                count.merge(g.path("action").asText(), 1, Integer::sum);
              }
            });
    return count;
  }

  /** The deny gates a playbook's refusals must have left, counted by action. */
  private static Map<String, Integer> expectedGates(List<Expect> playbook) {
    return playbook.stream()
        .filter(e -> e.gate() != null)
        .collect(Collectors.toMap(Expect::gate, e -> 1, Integer::sum, TreeMap::new));
  }

  private static List<String> kinds(JsonNode burns) {
    List<String> kinds = new ArrayList<>();
    burns.forEach(b -> kinds.add(b.path("kind").asText()));
    return kinds;
  }

  private static JsonNode step(JsonNode story, String ref) {
    for (JsonNode s : story.path("steps")) {
      if (s.path("step_ref").asText().equals(ref)) {
        return s;
      }
    }
    throw new AssertionError("no step " + ref + " in " + story.path("steps"));
  }

  /** The public half of the Gateway's signing key, as a JWK. */
  private ObjectNode publicJwk() throws Exception {
    JsonNode key = Json.STRICT.readTree(Files.readString(home.resolve("keys/gateway-signing.jwk")));
    ObjectNode jwk = Json.STRICT.createObjectNode();
    for (String member : List.of("kty", "crv", "x", "y")) {
      assertNotNull(key.get(member), member);
      jwk.set(member, key.get(member));
    }
    return jwk;
  }

  /**
   * The hostile worker as an agent command: this JVM's java, the test classes of this module (the
   * worker and its playbook), worka-protocol and Jackson — nothing of the Gateway itself.
   */
  static List<String> workerCommand(String sinkUrl) {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(
                e ->
                    e.contains("worka-protocol")
                        || e.contains("jackson")
                        || (e.contains("worka-gateway")
                            && Path.of(e).getFileName().toString().equals("test-classes")))
            .collect(Collectors.joining(File.pathSeparator));
    return List.of(
        javaBin,
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-cp",
        classpath,
        HostileWorker.class.getName(),
        sinkUrl);
  }
}
