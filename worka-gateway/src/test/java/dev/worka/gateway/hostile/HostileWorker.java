package dev.worka.gateway.hostile;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.hostile.Playbook.Expect;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A hostile agent: a real worker process the Gateway starts for a step, which spends its step
 * attacking the Gateway through the agent protocol instead of doing its work. It reads its token
 * and environment as any agent does, performs the attempts of one {@link Playbook} with plain
 * {@code java.net.http}, checks every answer itself (status, error code, gate id), and reports each
 * attempt as {@code {"attempt", "status", "error", "gate_id", "ok", "note"}}: in its result where
 * it still may post one, otherwise to the test's {@link ReportSink}.
 *
 * <p>Which playbook it runs follows from its step: Daneel with a request containing "hostile
 * attacker" or "hostile flooder", Ernest with an objective titled 'neighbour' (the honest victim)
 * or 'bad arguments'. Its only argument is the sink's URL. It depends on nothing but the JDK,
 * Jackson and worka-protocol (what an agent image may hold).
 */
public final class HostileWorker {
  static final String ATTACKER_TEXT = "hostile attacker";
  static final String FLOODER_TEXT = "hostile flooder";
  static final String VICTIM_TITLE = "neighbour";
  static final String ARGUMENTS_TITLE = "bad arguments";
  static final String PROBE_DUPLICATE_QUERY = "hostile probe: duplicate query";
  static final String PROBE_CONCURRENT_FLOOD = "hostile probe: concurrent flood";
  static final String PROBE_OVERSIZED = "hostile probe: oversized";
  static final String RACING_TITLE = "racing probe";
  static final String REPLAY_FLOOD_TITLE = "replay flood";
  static final String PLANNER_TEXT = "hostile planner";
  static final int RACERS = 5;
  static final int BURST = 30;

  private static final String JSON = "application/json";
  private static final String CONTEXT = "/v1/agent/context";
  private static final String RESULT = "/v1/agent/result";
  private static final String HEARTBEAT = "/v1/agent/heartbeat";
  private static final String PLAN = "/v1/agent/plan";
  private static final String SKILLS = "/v1/agent/skills/";
  private static final String MCP = "/v1/agent/mcp";

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private final String gateway;
  private final String sink;
  private final String token;
  private final Forge forge = new Forge();
  private ArrayNode attempts = Json.STRICT.createArrayNode();
  private Map<String, Expect> expected = Map.of();
  private boolean resultPosted;

  private HostileWorker(String gateway, String sink, String token) {
    this.gateway = gateway.replaceAll("/+$", "");
    this.sink = sink;
    this.token = token;
  }

  public static void main(String[] args) {
    HostileWorker worker = null;
    try {
      String tokenFile = System.getenv("WORKA_TOKEN_FILE");
      String token =
          tokenFile != null
              ? Files.readString(Path.of(tokenFile), StandardCharsets.US_ASCII).strip()
              : System.getenv("WORKA_TOKEN");
      worker = new HostileWorker(System.getenv("WORKA_GATEWAY_URL"), args[0], token);
      worker.run();
      System.exit(0);
    } catch (Throwable t) {
      System.out.println("hostile worker broke: " + t);
      t.printStackTrace(System.out);
      if (worker != null && !worker.resultPosted) {
        worker.post(
            RESULT,
            worker.bearer(),
            Json.STRICT
                .createObjectNode()
                .put("status", "failed")
                .put("error", "hostile worker broke: " + t)
                .set("output", worker.report("broken")));
      }
      System.exit(3);
    }
  }

  private void run() throws Exception {
    Resp context = get(CONTEXT, bearer());
    if (context.status != 200) {
      throw new IllegalStateException(
          "its own context answered " + context.status + " " + context.raw);
    }
    String agent = context.body.path("agent").asText();
    String text = context.body.path("request").path("text").asText();
    String objective = context.body.path("objective").asText();
    System.out.println("hostile worker: agent " + agent + ", objective " + objective);
    if (agent.equals("daneel") && text.contains(ATTACKER_TEXT)) {
      attacker(context.body);
    } else if (agent.equals("daneel") && text.contains(FLOODER_TEXT)) {
      flooder();
    } else if (agent.equals("ernest") && objective.contains("'" + VICTIM_TITLE + "'")) {
      victim();
    } else if (agent.equals("ernest") && objective.contains("'" + ARGUMENTS_TITLE + "'")) {
      arguments();
    } else if (agent.equals("daneel") && text.contains(PROBE_DUPLICATE_QUERY)) {
      duplicateQuery(context.body);
    } else if (agent.equals("daneel") && text.contains(PROBE_CONCURRENT_FLOOD)) {
      concurrentFlood();
    } else if (agent.equals("daneel") && text.contains(PROBE_OVERSIZED)) {
      oversized();
    } else if (agent.equals("ernest") && objective.contains("'" + RACING_TITLE + "'")) {
      racing();
    } else if (agent.equals("ernest") && objective.contains("'" + REPLAY_FLOOD_TITLE + "'")) {
      replayFlood();
    } else if (agent.equals("hari") && text.contains(PLANNER_TEXT)) {
      planner();
    } else if (agent.equals("daneel") && text.contains(PLANNER_TEXT)) {
      resultPosted = true;
      post(
          RESULT,
          bearer(),
          obj().put("status", "succeeded").put("summary", "the hostile planner's step ran"));
    } else {
      resultPosted = true;
      post(
          RESULT,
          bearer(),
          Json.STRICT
              .createObjectNode()
              .put("status", "failed")
              .put("retryable", false)
              .put("error", "the hostile worker has no playbook for: " + objective));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Daneel, "answer" step: every family against a live neighbour.

  private void attacker(JsonNode context) throws Exception {
    use(Playbook.ATTACKER);
    ObjectNode intel = (ObjectNode) Json.STRICT.readTree(sinkGet("intel", 60));
    String victimRun = intel.path("victim_run_id").asText();
    String victimStep = intel.path("victim_step_id").asText();
    String expired = intel.path("expired_token").asText();
    ObjectNode gatewayJwk = (ObjectNode) intel.path("gateway_jwk");
    sinkPut("loot/attacker-token", token); // for a later worker to replay
    ObjectNode header = Forge.header(token);
    ObjectNode claims = Forge.claims(token);
    String kid = header.path("kid").asText();
    int attempt = context.path("attempt").asInt();

    // Tokens that are missing, malformed or altered.
    check("token.missing", get(CONTEXT, null));
    check("token.empty_bearer", get(CONTEXT, "Bearer "));
    check("token.in_query_string", get(CONTEXT + "?access_token=" + token, null));
    check("token.not_a_jwt", get(CONTEXT, "Bearer not.a.jwt"));
    check(
        "token.basic_scheme",
        get(
            CONTEXT,
            "Basic "
                + Base64.getEncoder()
                    .encodeToString(("daneel:" + token).getBytes(StandardCharsets.US_ASCII))));
    check(
        "token.jwe_shaped",
        get(CONTEXT, "Bearer " + String.join(".", Forge.parts(token)) + ".e30.e30"));
    check(
        "token.tampered_attempt",
        get(CONTEXT, bearer(Forge.withClaims(token, c -> c.put("attempt", attempt + 1)))));
    check(
        "token.tampered_subject_planner",
        get(CONTEXT, bearer(Forge.withClaims(token, c -> c.put("sub", "hari")))));
    check(
        "token.tampered_expiry",
        get(
            CONTEXT,
            bearer(Forge.withClaims(token, c -> c.put("exp", c.path("exp").asLong() + 86_400)))));
    check(
        "token.extra_claim",
        get(CONTEXT, bearer(Forge.withClaims(token, c -> c.put("role", "planner")))));
    check("token.flipped_signature", get(CONTEXT, bearer(Forge.flippedSignature(token))));
    String[] p = Forge.parts(token);
    check("token.stripped_signature", get(CONTEXT, bearer(p[0] + "." + p[1] + ".")));

    // alg confusion.
    check(
        "alg.none",
        get(CONTEXT, bearer(Forge.unsigned(json("{\"alg\":\"none\",\"typ\":\"JWT\"}"), claims))));
    check(
        "alg.none_mixed_case",
        get(CONTEXT, bearer(Forge.unsigned(header.deepCopy().put("alg", "nOnE"), claims))));
    ObjectNode hs256 = header.deepCopy().put("alg", "HS256");
    check(
        "alg.hs256_keyed_with_public_jwk",
        get(
            CONTEXT,
            bearer(
                Forge.hs256(
                    hs256, claims, gatewayJwk.toString().getBytes(StandardCharsets.UTF_8)))));
    check(
        "alg.hs256_keyed_with_public_pem",
        get(
            CONTEXT,
            bearer(
                Forge.hs256(
                    hs256, claims, Forge.pem(gatewayJwk).getBytes(StandardCharsets.US_ASCII)))));
    check(
        "alg.es384_label",
        get(CONTEXT, bearer(Forge.withHeader(token, h -> h.put("alg", "ES384")))));
    check("alg.es256_zero_signature", get(CONTEXT, bearer(Forge.zeroSignature(header, claims))));

    // Signed with a key the worker made itself.
    var own = forge.ownKey.getPrivate();
    check("foreign.own_key_gateway_kid", get(CONTEXT, bearer(Forge.es256(header, claims, own))));
    check(
        "foreign.own_key_own_kid",
        get(CONTEXT, bearer(Forge.es256(header.deepCopy().put("kid", "attacker-1"), claims, own))));
    ObjectNode withJwk = header.deepCopy();
    withJwk.set("jwk", forge.ownPublicJwk());
    check("foreign.embedded_jwk", get(CONTEXT, bearer(Forge.es256(withJwk, claims, own))));
    ObjectNode keys = Json.STRICT.createObjectNode();
    keys.putArray("keys").add(forge.ownPublicJwk().put("kid", kid));
    sinkPut("jwks", keys.toString());
    check(
        "foreign.jku_url",
        get(
            CONTEXT,
            bearer(Forge.es256(header.deepCopy().put("jku", sink + "/kv/jwks"), claims, own))));
    check(
        "foreign.kid_path_traversal",
        get(
            CONTEXT,
            bearer(
                Forge.es256(header.deepCopy().put("kid", "../../../../dev/null"), claims, own))));

    // A real Gateway token, expired.
    check("expired.leaked_token_context", get(CONTEXT, bearer(expired)));
    check(
        "expired.leaked_token_result",
        post(RESULT, bearer(expired), json("{\"status\":\"failed\",\"error\":\"hijacked\"}")));

    // Its own token re-written to be the victim's.
    String forged =
        Forge.withClaims(
            token, c -> c.put("run_id", victimRun).put("step_id", victimStep).put("sub", "ernest"));
    check("cross.forged_victim_context", get(CONTEXT, bearer(forged)));
    check(
        "cross.forged_victim_skill",
        post(
            SKILLS + "github.create_issue",
            bearer(forged),
            json("{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"hijacked\"}}")));
    check(
        "cross.forged_victim_result",
        post(RESULT, bearer(forged), json("{\"status\":\"failed\",\"error\":\"hijacked\"}")));
    check(
        "cross.foreign_key_victim_heartbeat",
        post(HEARTBEAT, bearer(Forge.es256(header, Forge.claims(forged), own)), null));

    // Its own valid token, naming the victim.
    check("identity.context_query_run_id", get(CONTEXT + "?run_id=" + victimRun, bearer()));
    check("identity.context_query_step_id", get(CONTEXT + "?step_id=" + victimStep, bearer()));
    check(
        "identity.heartbeat_body_step_id",
        post(HEARTBEAT, bearer(), obj().put("step_id", victimStep)));
    check(
        "identity.heartbeat_body_attempt",
        post(HEARTBEAT, bearer(), obj().put("attempt", attempt + 1)));
    check(
        "identity.heartbeat_body_step_id_operator",
        post(HEARTBEAT, bearer(), json("{\"step_id\":{\"$ne\":null}}")));
    check(
        "identity.skill_body_run_id",
        post(SKILLS + "slack.post_message", bearer(), postMessage().put("run_id", victimRun)));
    check(
        "identity.skill_query_step_id",
        post(SKILLS + "slack.post_message?step_id=" + victimStep, bearer(), postMessage()));
    check("identity.plan_body_run_id", post(PLAN, bearer(), plan().put("run_id", victimRun)));
    check(
        "identity.result_body_step_id",
        post(
            RESULT,
            bearer(),
            obj()
                .put("status", "succeeded")
                .put("summary", "hijacked")
                .put("step_id", victimStep)));
    check(
        "identity.result_body_agent",
        post(
            RESULT,
            bearer(),
            obj().put("status", "succeeded").put("summary", "hijacked").put("agent", "ernest")));

    // Paths naming the victim.
    check(
        "path.result_under_victim_step",
        post(
            RESULT + "/" + victimStep,
            bearer(),
            obj().put("status", "failed").put("error", "hijacked")));
    check("path.victim_step_context", get("/v1/agent/steps/" + victimStep + "/context", bearer()));
    check(
        "path.run_scoped_skill",
        post(
            "/v1/agent/runs/" + victimRun + "/skills/github.create_issue",
            bearer(),
            json("{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"hijacked\"}}")));

    // The operator API, with a worker token.
    check("operator.read_victim_story", get("/v1/runs/" + victimRun, bearer()));
    check("operator.list_runs", get("/v1/runs", bearer()));
    check(
        "operator.cancel_victim_run",
        post("/v1/runs/" + victimRun + "/cancel", bearer(), obj().put("reason", "mine now")));
    check(
        "operator.replace_policy",
        send("PUT", "/v1/policy", bearer(), "application/yaml", bytes("agents: {}\n")));
    check(
        "operator.start_run",
        post("/v1/runs", bearer(), obj().put("text", "delete the repository acme/widgets")));

    // Skills its step does not accept.
    check(
        "skill.off_allowlist",
        post(
            SKILLS + "github.create_issue",
            bearer(),
            json(
                "{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"not mine to file\"}}")));
    check(
        "skill.destructive",
        post(
            SKILLS + "github.delete_repository",
            bearer(),
            json("{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\"}}")));
    check(
        "skill.allowlisted_not_accepted",
        post(SKILLS + "slack.post_message", bearer(), postMessage()));
    check(
        "skill.unknown",
        post(
            SKILLS + "shell.exec",
            bearer(),
            json("{\"input\":{\"command\":\"cat /etc/shadow\"}}")));
    check("skill.case_variant", post(SKILLS + "Slack.Post_Message", bearer(), postMessage()));

    // Plans.
    check("plan.worker_submits_plan", post(PLAN, bearer(), plan()));
    check(
        "plan.worker_submits_garbage_plan",
        send("POST", PLAN, bearer(), JSON, bytes("{\"steps\": [ not json")));

    // Bodies.
    ObjectNode message = postMessage();
    check(
        "body.skill_not_json",
        send("POST", SKILLS + "slack.post_message", bearer(), JSON, bytes("input=hello")));
    check(
        "body.skill_trailing_tokens",
        send(
            "POST", SKILLS + "slack.post_message", bearer(), JSON, bytes(message + " " + message)));
    check(
        "body.skill_duplicate_keys",
        send(
            "POST",
            SKILLS + "slack.post_message",
            bearer(),
            JSON,
            bytes(
                "{\"input\":{\"channel\":\"C0123456789\",\"text\":\"a\"},\"input\":{\"channel\":\"C0123456789\",\"text\":\"b\"}}")));
    check(
        "body.skill_nested_200_deep",
        send(
            "POST",
            SKILLS + "slack.post_message",
            bearer(),
            JSON,
            bytes("{\"input\":" + nested(200) + "}")));
    check(
        "body.skill_oversized",
        sendOnItsOwnConnection(
            "POST",
            SKILLS + "slack.post_message",
            bearer(),
            JSON,
            bytes(
                "{\"input\":{\"channel\":\"C0123456789\",\"text\":\""
                    + "a".repeat(1024 * 1024)
                    + "\"}}")));
    check(
        "body.skill_unknown_top_field",
        post(SKILLS + "slack.post_message", bearer(), postMessage().put("dry_run", false)));
    check(
        "body.skill_bad_idempotency_key",
        post(
            SKILLS + "slack.post_message",
            bearer(),
            postMessage().put("idempotency_key", "a key; DROP TABLE gates")));
    check(
        "body.result_wrong_content_type",
        send(
            "POST",
            RESULT,
            bearer(),
            "text/plain",
            bytes("{\"status\":\"succeeded\",\"summary\":\"plain\"}")));
    check(
        "body.result_oversized",
        sendOnItsOwnConnection(
            "POST",
            RESULT,
            bearer(),
            JSON,
            bytes("{\"status\":\"succeeded\",\"summary\":\"" + "a".repeat(1024 * 1024) + "\"}")));
    check(
        "body.result_output_40_deep",
        send(
            "POST",
            RESULT,
            bearer(),
            JSON,
            bytes("{\"status\":\"succeeded\",\"output\":" + nested(40) + "}")));
    check(
        "body.result_nested_200_deep",
        send(
            "POST",
            RESULT,
            bearer(),
            JSON,
            bytes("{\"status\":\"succeeded\",\"output\":" + nested(200) + "}")));
    check(
        "body.result_unknown_field",
        post(RESULT, bearer(), obj().put("status", "succeeded").put("approved", true)));
    check(
        "body.result_duplicate_keys",
        send(
            "POST",
            RESULT,
            bearer(),
            JSON,
            bytes("{\"status\":\"failed\",\"status\":\"succeeded\"}")));
    check("body.result_bad_status", post(RESULT, bearer(), obj().put("status", "approved")));
    check(
        "body.result_output_not_object",
        send(
            "POST",
            RESULT,
            bearer(),
            JSON,
            bytes("{\"status\":\"succeeded\",\"output\":[1,2,3]}")));
    check(
        "body.result_summary_too_long",
        post(RESULT, bearer(), obj().put("status", "succeeded").put("summary", "s".repeat(8001))));
    check(
        "body.heartbeat_oversized",
        sendOnItsOwnConnection(
            "POST",
            HEARTBEAT,
            bearer(),
            JSON,
            bytes("{\"pad\":\"" + "p".repeat(65 * 1024) + "\"}")));
    check(
        "body.plan_oversized",
        sendOnItsOwnConnection(
            "POST",
            PLAN,
            bearer(),
            JSON,
            bytes("{\"summary\":\"" + "p".repeat(513 * 1024) + "\",\"steps\":[]}")));

    // The result: its report, laced with secrets and broadcasts, sent by several racers at once.
    ObjectNode output = report("attacker");
    output.set("leaks", leaks());
    output.put("@here", "a key that pings");
    ArrayNode after = attempts;
    use(Playbook.ATTACKER_AFTER);
    List<CompletableFuture<Resp>> racers = new ArrayList<>();
    for (int i = 0; i < RACERS; i++) {
      ObjectNode body =
          obj().put("status", "succeeded").put("summary", "racer " + i + " done <!here> @channel");
      body.set("output", output);
      racers.add(CompletableFuture.supplyAsync(() -> post(RESULT, bearer(), body)));
    }
    resultPosted = true;
    List<Resp> answers = racers.stream().map(CompletableFuture::join).toList();
    List<Resp> won = answers.stream().filter(r -> r.status == 200).toList();
    boolean losersOk =
        answers.stream()
            .filter(r -> r.status != 200)
            .allMatch(
                r ->
                    r.status == 409
                        && Playbook.SECOND_RESULT.contains(r.error())
                        && r.gateId() == null);
    JsonNode cleaned = won.isEmpty() ? obj() : won.get(0).body.path("cleaned");
    boolean cleanedOk =
        cleaned.path("secrets").asInt() >= 6
            && cleaned.path("broadcast_mentions").asInt() >= 3
            && cleaned.path("invisible_characters").asInt() >= 1;
    check(
        "result.racing_results",
        won.size() == 1 ? won.get(0) : answers.get(0),
        won.size() == 1 && losersOk && cleanedOk,
        won.size()
            + " accepted; losers "
            + answers.stream()
                .filter(r -> r.status != 200)
                .map(r -> r.status + " " + r.error())
                .toList()
            + "; cleaned "
            + cleaned);

    // After the step ended.
    check("after.context", get(CONTEXT, bearer()));
    check("after.skill", post(SKILLS + "slack.post_message", bearer(), postMessage()));
    check("after.heartbeat", post(HEARTBEAT, bearer(), null));
    check("after.plan", post(PLAN, bearer(), plan()));
    check(
        "after.result_again",
        post(RESULT, bearer(), obj().put("status", "succeeded").put("summary", "again")));
    burst("after.burst_of_30", () -> get(CONTEXT, bearer()));
    ObjectNode afterReport = report("attacker-after");
    afterReport.put("result_attempts", after.size());
    sinkPut("report/attacker-after", afterReport.toString());
  }

  // ------------------------------------------------------------------------------------------
  // Daneel, another run: a stolen token, then a flood of denied calls.

  private void flooder() {
    use(Playbook.FLOODER);
    String stolen = sinkGet("loot/attacker-token", 60);
    check("replay.stolen_token_context", get(CONTEXT, bearer(stolen)));
    check(
        "replay.stolen_token_skill",
        post(SKILLS + "slack.post_message", bearer(stolen), postMessage()));
    check(
        "replay.stolen_token_result",
        post(RESULT, bearer(stolen), obj().put("status", "succeeded").put("summary", "replayed")));

    Resp last = null;
    int denied = 0;
    List<String> odd = new ArrayList<>();
    for (int i = 0; i < Playbook.MAX_DENIES_PER_ATTEMPT; i++) {
      last =
          post(
              SKILLS + "github.create_issue",
              bearer(),
              json(
                  "{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"flood "
                      + i
                      + "\"}}"));
      if (last.status == 403 && last.error().equals("policy_denied") && last.gateId() != null) {
        denied++;
      } else {
        odd.add(i + ": " + last.status + " " + last.error());
      }
    }
    check(
        "flood.denied_until_ended",
        last,
        denied == Playbook.MAX_DENIES_PER_ATTEMPT,
        denied + " denied; odd " + odd);
    check("flood.after_end_context", get(CONTEXT, bearer()));
    check(
        "flood.after_end_skill",
        post(
            SKILLS + "github.create_issue",
            bearer(),
            json("{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"more\"}}")));
    check(
        "flood.after_end_result",
        post(RESULT, bearer(), obj().put("status", "succeeded").put("summary", "let me finish")));
    burst(
        "flood.after_end_burst_of_30",
        () ->
            post(
                SKILLS + "github.create_issue",
                bearer(),
                json("{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\"burst\"}}")));
    resultPosted = true; // it can no longer post one
    sinkPut("report/flooder", report("flooder").toString());
  }

  // ------------------------------------------------------------------------------------------
  // Ernest, the honest neighbour: files its issue, then waits until the test lets it finish.

  private void victim() {
    Resp call =
        post(
            SKILLS + "github.create_issue",
            bearer(),
            json(
                "{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":\""
                    + VICTIM_TITLE
                    + "\"}}"));
    if (call.status != 200) {
      throw new IllegalStateException(
          "the victim's own call answered " + call.status + " " + call.raw);
    }
    sinkPut("ready/victim", call.body.path("invocation_id").asText());
    sinkGet("go/victim", 120);
    ObjectNode result =
        obj().put("status", "succeeded").put("summary", "filed the neighbour issue");
    result.set("output", obj().set("issue", call.body.path("output")));
    resultPosted = true;
    Resp answer = post(RESULT, bearer(), result);
    sinkPut(
        "report/victim",
        obj().put("status", answer.status).put("error", answer.error()).toString());
  }

  // ------------------------------------------------------------------------------------------
  // Ernest, "open an issue in acme/widgets titled 'bad arguments'": the right skill, wrong inputs.

  private void arguments() {
    use(Playbook.ARGUMENTS);
    String skill = SKILLS + "github.create_issue";
    check("args.owner_not_listed", post(skill, bearer(), issue("evil", "widgets", "x")));
    check("args.repo_not_listed", post(skill, bearer(), issue("acme", "secret-plans", "x")));
    check("args.owner_case_variant", post(skill, bearer(), issue("ACME", "widgets", "x")));
    check(
        "args.title_over_condition",
        post(skill, bearer(), issue("acme", "widgets", "t".repeat(201))));
    check(
        "args.title_over_schema", post(skill, bearer(), issue("acme", "widgets", "t".repeat(300))));
    ObjectNode untitled = issue("acme", "widgets", "x");
    ((ObjectNode) untitled.path("input")).remove("title");
    check("args.missing_title", post(skill, bearer(), untitled));
    ObjectNode extra = issue("acme", "widgets", "x");
    ((ObjectNode) extra.path("input")).put("admin", true);
    check("args.unknown_input_field", post(skill, bearer(), extra));
    check(
        "args.owner_cel_injection",
        post(skill, bearer(), issue("acme/widgets\" || true || \"", "widgets", "x")));
    check("args.repo_path_traversal", post(skill, bearer(), issue("acme", "..", "x")));
    check("args.nul_in_title", post(skill, bearer(), issue("acme", "widgets", "a\u0000b")));
    check(
        "args.title_wrong_type",
        post(
            skill,
            bearer(),
            json("{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\",\"title\":[\"x\"]}}")));
    check(
        "args.input_not_object",
        post(skill, bearer(), json("{\"input\":\"owner=acme&repo=widgets\"}")));

    Set<String> invocations = new HashSet<>();
    int replays = 0;
    Resp allowed =
        post(
            skill,
            bearer(),
            issue("acme", "widgets", "hostile but allowed").put("idempotency_key", "hostile-k1"));
    String first = allowed.body.path("invocation_id").asText();
    invocations.add(first);
    check(
        "args.allowed_call",
        allowed,
        allowed.body.path("output").path("dry_run").asBoolean()
            && !allowed.body.path("replayed").asBoolean(),
        "invocation " + first);
    Resp again =
        post(
            skill,
            bearer(),
            issue("acme", "widgets", "hostile but allowed").put("idempotency_key", "hostile-k1"));
    check(
        "args.replay_same_key",
        again,
        replayOf(again, first),
        "replayed " + again.body.path("replayed"));
    replays++;
    Resp other =
        post(
            skill,
            bearer(),
            issue("acme", "docs", "another issue entirely").put("idempotency_key", "hostile-k1"));
    check(
        "args.same_key_other_input",
        other,
        !other.body.has("output"),
        "no output of the first call");
    check(
        "args.same_key_forbidden_input",
        post(
            skill,
            bearer(),
            issue("evil", "widgets", "hostile but allowed").put("idempotency_key", "hostile-k1")));

    // Few enough racers that their possible conflicts (deny gates) keep the step under the cap.
    List<CompletableFuture<Resp>> racers = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      racers.add(
          CompletableFuture.supplyAsync(
              () ->
                  post(
                      skill,
                      bearer(),
                      issue("acme", "widgets", "racing").put("idempotency_key", "hostile-race"))));
    }
    List<Resp> raced = racers.stream().map(CompletableFuture::join).toList();
    Set<String> racedIds = new HashSet<>();
    raced.stream()
        .filter(r -> r.status == 200)
        .forEach(r -> racedIds.add(r.body.path("invocation_id").asText()));
    // A loser replays the recorded call, or gets a 409 if the call is still in progress (whose deny
    // gate's id it is not always told: see PROBE_RACING).
    boolean racedOk =
        racedIds.size() == 1
            && raced.stream()
                    .filter(r -> r.status == 200 && !r.body.path("replayed").asBoolean())
                    .count()
                == 1
            && raced.stream()
                .allMatch(
                    r -> r.status == 200 || (r.status == 409 && r.error().equals("conflict")));
    invocations.addAll(racedIds);
    replays +=
        (int)
            raced.stream()
                .filter(r -> r.status == 200 && r.body.path("replayed").asBoolean())
                .count();
    ObjectNode racing =
        check(
            "args.racing_same_key",
            raced.stream().filter(r -> r.status == 200).findFirst().orElse(raced.get(0)),
            racedOk,
            racedIds.size()
                + " invocation(s); answers "
                + raced.stream().map(r -> r.status).toList());
    ArrayNode conflicts = racing.putArray("extra_gate_ids");
    raced.stream()
        .filter(r -> r.status == 409 && r.gateId() != null)
        .forEach(r -> conflicts.add(r.gateId()));
    racing.put(
        "ungated_conflicts",
        raced.stream().filter(r -> r.status == 409 && r.gateId() == null).count());

    check("plan.worker_submits_plan", post(PLAN, bearer(), plan()));

    Resp refused = null;
    List<String> odd = new ArrayList<>();
    for (int i = 0; i < Playbook.MAX_SKILL_CALLS_PER_STEP + 5 && refused == null; i++) {
      Resp r = post(skill, bearer(), issue("acme", "widgets", "filler " + i));
      if (r.status == 200 && !r.body.path("replayed").asBoolean()) {
        invocations.add(r.body.path("invocation_id").asText());
      } else if (r.status == 403) {
        refused = r;
      } else {
        odd.add(r.status + " " + r.error());
      }
    }
    // Replays count as calls: the limit is reached by the invocations and the replays together.
    check(
        "flood.beyond_max_skill_calls_per_step",
        refused == null ? Resp.failed("never refused") : refused,
        invocations.size() + replays == Playbook.MAX_SKILL_CALLS_PER_STEP && odd.isEmpty(),
        invocations.size()
            + " distinct invocations and "
            + replays
            + " replays before the refusal; odd "
            + odd);
    Resp replay =
        post(
            skill,
            bearer(),
            issue("acme", "widgets", "hostile but allowed").put("idempotency_key", "hostile-k1"));
    check(
        "flood.replay_after_limit", replay, !replay.body.has("output"), "no output past the limit");
    check("flood.beyond_limit_again", post(skill, bearer(), issue("acme", "widgets", "one more")));

    ObjectNode output = report("arguments");
    output.put("invocations", invocations.size()).put("replays", replays);
    resultPosted = true;
    Resp posted =
        post(
            RESULT,
            bearer(),
            obj()
                .put("status", "succeeded")
                .put("summary", "bad arguments tried")
                .set("output", output));
    if (posted.status != 200) {
      throw new IllegalStateException("its result answered " + posted.status + " " + posted.raw);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Probes of the bugs this suite found.

  private void duplicateQuery(JsonNode context) {
    use(Playbook.PROBE_DUPLICATE_QUERY);
    String ownRun = context.path("run_id").asText();
    String ownStep = context.path("step_id").asText();
    String other = UUID.randomUUID().toString();
    check(
        "identity.duplicate_query_context",
        get(CONTEXT + "?run_id=" + ownRun + "&run_id=" + other, bearer()));
    check(
        "identity.duplicate_query_heartbeat",
        post(HEARTBEAT + "?step_id=" + ownStep + "&step_id=" + other, bearer(), null));
    check(
        "identity.duplicate_query_skill",
        post(
            SKILLS + "slack.post_message?run_id=" + ownRun + "&run_id=" + other,
            bearer(),
            postMessage()));
    finish("duplicate-query");
  }

  private void concurrentFlood() {
    use(Playbook.PROBE_CONCURRENT_FLOOD);
    List<CompletableFuture<Resp>> all = new ArrayList<>();
    for (int i = 0; i < 80; i++) {
      String title = "flood " + i;
      all.add(
          CompletableFuture.supplyAsync(
              () ->
                  post(SKILLS + "github.create_issue", bearer(), issue("acme", "widgets", title))));
    }
    List<Resp> answers = all.stream().map(CompletableFuture::join).toList();
    long denied =
        answers.stream().filter(r -> r.status == 403 && r.error().equals("policy_denied")).count();
    long ended =
        answers.stream()
            .filter(r -> r.status == 401 && r.error().equals("step_not_running"))
            .count();
    Resp sample = answers.stream().filter(r -> r.status == 403).findFirst().orElse(answers.get(0));
    check(
        "flood.concurrent_80_denials",
        sample,
        denied <= Playbook.MAX_DENIES_PER_ATTEMPT && denied + ended == 80,
        denied + " denied (403), " + ended + " refused as ended (401)");
    resultPosted = true;
    sinkPut("report/concurrent-flood", report("concurrent-flood").toString());
  }

  private void oversized() {
    use(Playbook.PROBE_OVERSIZED);
    String big = "p".repeat(1024 * 1024);
    for (String[] c :
        new String[][] {
          {"skill", SKILLS + "slack.post_message"},
          {"result", RESULT},
          {"plan", PLAN},
          {"heartbeat", HEARTBEAT}
        }) {
      Resp r =
          sendOnItsOwnConnection("POST", c[1], bearer(), JSON, bytes("{\"pad\":\"" + big + "\"}"));
      check(
          "body.oversized_" + c[0] + "_closes_connection",
          r,
          r.connection.equalsIgnoreCase("close"),
          "Connection: " + (r.connection.isEmpty() ? "(none)" : r.connection));
    }
    finish("oversized");
  }

  private void racing() {
    use(Playbook.PROBE_RACING);
    int conflicts = 0;
    List<String> ungated = new ArrayList<>();
    Resp sample = null;
    // Replays count as calls: 4 rounds of 10 stay within the step's limit of 50.
    for (int round = 0; round < 4; round++) {
      String key = "race-" + round;
      List<CompletableFuture<Resp>> racers = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        racers.add(
            CompletableFuture.supplyAsync(
                () ->
                    post(
                        SKILLS + "github.create_issue",
                        bearer(),
                        issue("acme", "widgets", "racing " + key).put("idempotency_key", key))));
      }
      for (Resp r : racers.stream().map(CompletableFuture::join).toList()) {
        if (r.status == 409) {
          conflicts++;
          if (r.gateId() == null) {
            ungated.add(r.body.path("message").asText());
          }
        } else if (sample == null && r.status == 200) {
          sample = r;
        }
      }
    }
    check(
        "args.racing_conflicts_carry_gate_ids",
        sample == null ? Resp.failed("no call succeeded") : sample,
        ungated.isEmpty(),
        conflicts
            + " conflict(s), "
            + ungated.size()
            + " without a gate_id: "
            + ungated.stream().distinct().toList());
    finish("racing");
  }

  // ------------------------------------------------------------------------------------------
  // Idempotency: a key binds its input, replays are bounded, a run has one plan.

  private void replayFlood() {
    use(Playbook.PROBE_REPLAY_FLOOD);
    String skill = SKILLS + "github.create_issue";
    Resp first =
        post(
            skill,
            bearer(),
            issue("acme", "widgets", "flood me").put("idempotency_key", "flood-key"));
    String invocation = first.body.path("invocation_id").asText();
    check(
        "replay.first_call",
        first,
        !first.body.path("replayed").asBoolean(),
        "invocation " + invocation);
    Resp rest =
        post(
            skill,
            bearer(),
            issue("acme", "widgets", "something else").put("idempotency_key", "flood-key"));
    check("replay.rest_key_other_input", rest, !rest.body.has("output"), null);
    Resp mcp =
        mcpCall(
            "github.create_issue",
            (ObjectNode) issue("acme", "docs", "flood me").path("input"),
            "flood-key");
    check("replay.mcp_key_other_input", mcp, !mcp.body.has("output"), null);

    // Replays, over MCP then REST, until the step's call limit refuses them.
    int replays = 0;
    Resp refused = null;
    List<String> odd = new ArrayList<>();
    for (int i = 0; i < 2 * Playbook.MAX_SKILL_CALLS_PER_STEP && refused == null; i++) {
      Resp r =
          i % 2 == 0
              ? mcpCall(
                  "github.create_issue",
                  (ObjectNode) issue("acme", "widgets", "flood me").path("input"),
                  "flood-key")
              : post(
                  skill,
                  bearer(),
                  issue("acme", "widgets", "flood me").put("idempotency_key", "flood-key"));
      if (replayOf(r, invocation)) {
        replays++;
      } else if (r.error().equals("policy_denied")) {
        refused = r; // the 50th call, a REST one (the playbook wants its 403)
      } else {
        odd.add(r.status + " " + r.error());
      }
    }
    int limitRefusals = refused == null ? 0 : 1;
    check(
        "replay.mcp_and_rest_until_the_limit",
        refused == null ? Resp.failed("never refused") : refused,
        replays == Playbook.MAX_SKILL_CALLS_PER_STEP - 1 && odd.isEmpty(),
        replays + " replays; odd " + odd);

    // Still the same key: refused until the denials end the attempt.
    Resp last = null;
    List<String> refusalGates = new ArrayList<>();
    for (int i = 0; i < 2 * Playbook.MAX_DENIES_PER_ATTEMPT; i++) {
      last =
          post(
              skill,
              bearer(),
              issue("acme", "widgets", "flood me").put("idempotency_key", "flood-key"));
      if (last.status == 403 && last.error().equals("policy_denied")) {
        limitRefusals++;
        refusalGates.add(last.gateId());
      } else {
        break;
      }
    }
    ObjectNode ended =
        check(
            "replay.refused_until_the_attempt_ends",
            last,
            limitRefusals == Playbook.MAX_DENIES_PER_ATTEMPT - 2,
            limitRefusals + " limit refusals before the attempt ended (2 conflicts before them)");
    ArrayNode extra = ended.putArray("extra_gate_ids");
    refusalGates.forEach(extra::add);
    check(
        "replay.mcp_after_the_end",
        mcpCall(
            "github.create_issue",
            (ObjectNode) issue("acme", "widgets", "flood me").path("input"),
            "flood-key"));
    resultPosted = true; // it can no longer post one
    ObjectNode report = report("replay-flood");
    report
        .put("replays", replays)
        .put("limit_refusals", limitRefusals)
        .put("invocation_id", invocation);
    sinkPut("report/replay-flood", report.toString());
  }

  private void planner() {
    use(Playbook.PLANNER);
    ObjectNode plan =
        json(
            "{\"summary\":\"The hostile planner's plan\",\"steps\":[{\"step_ref\":\"answer\","
                + "\"agent\":\"daneel\",\"objective\":\"Answer the hostile planner\",\"skills\":[],\"depends_on\":[]}]}");
    Resp first = post(PLAN, bearer(), plan);
    check("plan.first", first, first.body.hasNonNull("plan_hash"), null);
    Resp again = post(PLAN, bearer(), plan);
    check("plan.same_again", again, again.body.equals(first.body), "answered " + again.body);
    ObjectNode rewritten =
        json(
            "{\"steps\":[{\"depends_on\":[],\"skills\":[],\"objective\":\" Answer the hostile"
                + " planner\\n\",\"agent\":\"daneel\",\"step_ref\":\"answer\"}],\"summary\":\"The hostile planner's plan \"}");
    Resp same = post(PLAN, bearer(), rewritten);
    check("plan.same_rewritten", same, same.body.equals(first.body), "answered " + same.body);
    ObjectNode other = plan.deepCopy();
    ((ObjectNode) other.path("steps").get(0)).put("objective", "Answer someone else");
    Resp refused = post(PLAN, bearer(), other);
    check(
        "plan.other",
        refused,
        refused.body.path("accepted_plan").equals(first.body),
        "accepted_plan " + refused.body.path("accepted_plan"));
    Resp invalid = post(PLAN, bearer(), plan());
    check(
        "plan.invalid_after_accept",
        invalid,
        invalid.body.path("accepted_plan").equals(first.body),
        null);
    ObjectNode forged =
        obj()
            .put("status", "succeeded")
            .put("summary", "planned")
            .put("step_id", UUID.randomUUID().toString());
    Resp identity = mcpCall("worka.submit_result", forged, null);
    check("identity.mcp_submit_result_other_step", identity);
    finish("planner");
  }

  /**
   * A {@code tools/call} over {@code /v1/agent/mcp}, as a {@link Resp}: an HTTP refusal as it is; a
   * tool result with {@code isError} as status 200 with the error body it carries; a successful one
   * as status 200 with the REST answer's fields ({@code invocation_id}, {@code replayed}, {@code
   * output}).
   */
  private Resp mcpCall(String tool, ObjectNode arguments, String key) {
    ObjectNode request = obj().put("jsonrpc", "2.0").put("id", 1).put("method", "tools/call");
    ObjectNode params = request.putObject("params").put("name", tool);
    params.set("arguments", arguments);
    if (key != null) {
      params.putObject("_meta").put("dev.worka/idempotency_key", key);
    }
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gateway + MCP))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", bearer())
            .header("Content-Type", JSON)
            .header("Accept", "application/json, text/event-stream")
            .POST(HttpRequest.BodyPublishers.ofByteArray(bytes(request.toString())));
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode parsed = r.body().isEmpty() ? obj() : Json.LENIENT.readTree(r.body());
      if (r.statusCode() != 200 || !parsed.has("result")) {
        return new Resp(r.statusCode(), parsed, r.body(), "");
      }
      JsonNode result = parsed.path("result");
      if (result.path("isError").asBoolean()) {
        return new Resp(
            200,
            Json.LENIENT.readTree(result.path("content").get(0).path("text").asText()),
            r.body(),
            "");
      }
      ObjectNode answer =
          obj()
              .put("invocation_id", result.path("_meta").path("dev.worka/invocation_id").asText())
              .put("replayed", result.path("_meta").path("dev.worka/replayed").asBoolean());
      answer.set("output", result.path("structuredContent"));
      return new Resp(200, answer, r.body(), "");
    } catch (IOException e) {
      return Resp.failed("POST " + MCP + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Resp.failed("interrupted");
    }
  }

  /** Posts the current playbook's report as the step's result. */
  private void finish(String name) {
    resultPosted = true;
    Resp posted =
        post(
            RESULT,
            bearer(),
            obj()
                .put("status", "succeeded")
                .put("summary", name + " probed")
                .set("output", report(name)));
    if (posted.status != 200) {
      throw new IllegalStateException("its result answered " + posted.status + " " + posted.raw);
    }
  }

  private static boolean replayOf(Resp r, String invocationId) {
    return r.status == 200
        && r.body.path("replayed").asBoolean()
        && r.body.path("invocation_id").asText().equals(invocationId);
  }

  // ------------------------------------------------------------------------------------------
  // Checking and reporting.

  private void use(List<Expect> playbook) {
    attempts = Json.STRICT.createArrayNode();
    expected = Playbook.index(playbook);
  }

  private void check(String name, Resp r) {
    check(name, r, true, null);
  }

  /**
   * Records the attempt {@code name}: ok when the answer is the playbook's and {@code alsoOk}
   * holds.
   */
  private ObjectNode check(String name, Resp r, boolean alsoOk, String note) {
    Expect e = expected.get(name);
    if (e == null) {
      throw new IllegalStateException("attempt " + name + " is not in the playbook");
    }
    boolean ok = alsoOk && e.matches(r.status, r.error(), r.gateId() != null);
    ObjectNode entry =
        attempts
            .addObject()
            .put("attempt", name)
            .put("status", r.status)
            .put("error", r.error())
            .put("gate_id", r.gateId())
            .put("ok", ok);
    if (!ok && note == null) {
      note = r.raw.length() > 300 ? r.raw.substring(0, 300) : r.raw;
    }
    if (note != null) {
      entry.put("note", note);
    }
    System.out.println(
        (ok ? "ok      " : "UNEXPECTED ")
            + name
            + " -> "
            + r.status
            + " "
            + r.error()
            + (r.gateId() != null ? " gate " + r.gateId() : "")
            + (note != null ? " (" + note + ")" : ""));
    return entry;
  }

  /** {@code BURST} copies of a request at once; ok when every one got the expected answer. */
  private void burst(String name, Supplier<Resp> request) {
    List<CompletableFuture<Resp>> all = new ArrayList<>();
    for (int i = 0; i < BURST; i++) {
      all.add(CompletableFuture.supplyAsync(request));
    }
    List<Resp> answers = all.stream().map(CompletableFuture::join).toList();
    Expect e = expected.get(name);
    long good =
        answers.stream().filter(r -> e.matches(r.status, r.error(), r.gateId() != null)).count();
    Resp odd =
        answers.stream()
            .filter(r -> !e.matches(r.status, r.error(), r.gateId() != null))
            .findFirst()
            .orElse(answers.get(0));
    check(name, odd, good == BURST, good + " of " + BURST + " as expected");
  }

  private ObjectNode report(String name) {
    ObjectNode report = Json.STRICT.createObjectNode().put("report", name);
    report.set("attempts", attempts);
    return report;
  }

  /** Secrets and broadcasts an agent might smuggle into its output. */
  private ObjectNode leaks() {
    return obj()
        .put("github_token", "ghp_" + "A1b2C3d4E5".repeat(4))
        .put("slack_token", "xoxb-2048-4096-abcdefghijklmnop")
        .put("anthropic_key", "sk-ant-api03-" + "k".repeat(40))
        .put("aws_key", "AKIA" + "ABCDEFGHIJKLMNOP")
        .put("own_worker_token", "mine: " + token)
        .put(
            "private_key",
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----")
        .put("broadcasts", "<!channel> <!here|here> @everyone <!subteam^S0123|@oncall> hello")
        .put("invisible", "pay\u200Bpal \u202Etxt.exe");
  }

  // ------------------------------------------------------------------------------------------
  // HTTP.

  /** An answer: status (-1 when the request itself failed), body (an empty object unless JSON). */
  record Resp(int status, JsonNode body, String raw, String connection) {
    static Resp failed(String why) {
      return new Resp(-1, Json.STRICT.createObjectNode(), why, "");
    }

    String error() {
      return body.path("error").asText("");
    }

    String gateId() {
      return body.path("gate_id").isTextual() ? body.path("gate_id").asText() : null;
    }
  }

  private String bearer() {
    return bearer(token);
  }

  private String bearer(String t) {
    return "Bearer " + t;
  }

  private Resp get(String path, String authorization) {
    return send("GET", path, authorization, null, null);
  }

  private Resp post(String path, String authorization, JsonNode body) {
    return send(
        "POST",
        path,
        authorization,
        body == null ? null : JSON,
        body == null ? null : bytes(body.toString()));
  }

  private Resp send(
      String method, String path, String authorization, String contentType, byte[] body) {
    return send(http, method, path, authorization, contentType, body);
  }

  private Resp send(
      HttpClient client,
      String method,
      String path,
      String authorization,
      String contentType,
      byte[] body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gateway + path))
            .timeout(Duration.ofSeconds(30))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode parsed = Json.STRICT.createObjectNode();
      if (r.headers().firstValue("content-type").orElse("").startsWith(JSON)
          && !r.body().isEmpty()) {
        parsed = Json.LENIENT.readTree(r.body());
      }
      return new Resp(
          r.statusCode(), parsed, r.body(), r.headers().firstValue("connection").orElse(""));
    } catch (IOException e) {
      return Resp.failed(method + " " + path + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Resp.failed("interrupted");
    }
  }

  /**
   * A request on a connection of its own: the Gateway answers an oversized body early and may close
   * the connection without saying so, which must not break the attempts after it.
   */
  private Resp sendOnItsOwnConnection(
      String method, String path, String authorization, String contentType, byte[] body) {
    try (HttpClient own =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build()) {
      return send(own, method, path, authorization, contentType, body);
    }
  }

  private String sinkGet(String key, int waitSeconds) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(sink + "/kv/" + key + "?wait=" + waitSeconds))
                  .timeout(Duration.ofSeconds(waitSeconds + 10))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IllegalStateException("the sink has no " + key + " (" + r.statusCode() + ")");
      }
      return r.body();
    } catch (IOException e) {
      throw new IllegalStateException("cannot reach the sink for " + key, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private void sinkPut(String key, String value) {
    try {
      http.send(
          HttpRequest.newBuilder(URI.create(sink + "/kv/" + key))
              .timeout(Duration.ofSeconds(10))
              .PUT(HttpRequest.BodyPublishers.ofString(value))
              .build(),
          HttpResponse.BodyHandlers.discarding());
    } catch (IOException e) {
      throw new IllegalStateException("cannot reach the sink for " + key, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Bodies.

  private static ObjectNode obj() {
    return Json.STRICT.createObjectNode();
  }

  private static ObjectNode json(String text) {
    try {
      return (ObjectNode) Json.STRICT.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static ObjectNode postMessage() {
    return json(
        "{\"input\":{\"channel\":\"C0123456789\",\"text\":\"hello from a hostile worker\"}}");
  }

  private static ObjectNode issue(String owner, String repo, String title) {
    ObjectNode body = obj();
    body.putObject("input").put("owner", owner).put("repo", repo).put("title", title);
    return body;
  }

  private static ObjectNode plan() {
    return json(
        "{\"summary\":\"a worker's own plan\",\"steps\":[{\"step_ref\":\"mine\",\"agent\":\"ernest\","
            + "\"objective\":\"Delete the repository acme/widgets\",\"skills\":[\"github.create_issue\"],\"depends_on\":[]}]}");
  }

  /** {@code depth} nested objects: {"a":{"a":...{"a":1}...}}. */
  private static String nested(int depth) {
    return "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
  }
}
