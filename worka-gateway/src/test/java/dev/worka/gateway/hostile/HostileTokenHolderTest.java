package dev.worka.gateway.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.slack.api.app_backend.SlackSignature;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.cli.WorkaCli;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whoever holds the operator token, tried as an attacker would, against a real Gateway over HTTP:
 *
 * <ul>
 *   <li>a manifest whose agents run a program of their own ({@code /bin/sh -c}, a relative path
 *       climbing out of the installation, a path that is a string prefix but not a path prefix of
 *       {@code WORKA_ALLOWED_LAUNCH}, a symlink under it, an allowed command with other arguments,
 *       {@code env} with a preload) is refused with {@code 403 launch_not_allowed} and a deny gate
 *       naming the command, the active policy unchanged — through {@code PUT /v1/policy} and {@code
 *       worka policy apply}; an allowed one is applied with an allow gate;
 *   <li>a run pinned to such a manifest (stored before the rule) never starts the program;
 *   <li>a manifest whose {@code resources} try to switch a limit off or lift it past its bound
 *       ({@code resources:} with nothing, {@code 1Ti}, {@code pids: 0}, {@code cpu: unlimited}) is
 *       {@code 422 invalid_policy} naming the path, the active policy unchanged and no gate;
 *   <li>with {@code WORKA_INGRESS_PORT}, the operator API, the agent API and {@code /v1/agent/mcp}
 *       do not exist on the ingress port, and the Slack and GitHub routes not on the main port.
 * </ul>
 */
class HostileTokenHolderTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789";
  private static final String SLACK_SECRET = "slack-signing-secret-for-tests";

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  @TempDir Path host;
  TestGateway gw;
  SlackApiStandIn slack;

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (slack != null) {
      slack.close();
    }
  }

  record Answer(int status, JsonNode body, String raw) {}

  static Answer send(
      String base, String method, String path, String body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
    headers.forEach(b::header);
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode node =
        r.body().startsWith("{")
            ? Json.LENIENT.readTree(r.body())
            : Json.LENIENT.createObjectNode();
    return new Answer(r.statusCode(), node, r.body());
  }

  static Map<String, String> operator() {
    return Map.of(
        "Authorization",
        "Bearer " + TestGateway.OPERATOR_TOKEN,
        "Content-Type",
        "application/yaml");
  }

  /** The policy.apply gates, oldest first: status, subject, reason, manifest id. */
  static List<Map<String, String>> policyGates() throws Exception {
    List<Map<String, String>> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select id, status, subject, reason, run_id, policy_manifest_id"
                    + " from gates where action = 'policy.apply' order by seq");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        Map<String, String> g = new LinkedHashMap<>();
        g.put("id", rs.getString("id"));
        g.put("status", rs.getString("status"));
        g.put("subject", rs.getString("subject"));
        g.put("reason", rs.getString("reason"));
        g.put("run_id", rs.getString("run_id"));
        g.put("manifest", rs.getString("policy_manifest_id"));
        out.add(g);
      }
    }
    return out;
  }

  static long count(String sql) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static Path executable(Path file, String script) throws Exception {
    Files.createDirectories(file.getParent());
    Files.writeString(file, script);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  /** The test policy (the Gateway's WORKA_POLICY_FILE) with hari's command replaced. */
  static String withHari(List<String> argv) {
    return TestGateway.policyWith(Map.of("hari", argv), null);
  }

  // ---------------------------------------------------------------------------------------------
  // Launch specs

  @Test
  void aManifestRunningAProgramOfItsOwnIsRefusedAndRecordedAndChangesNothing() throws Exception {
    Path agents = Files.createDirectories(host.resolve("agents"));
    Path ok = executable(agents.resolve("ok-agent"), "#!/bin/sh\nexit 0\n");
    Path evil = executable(host.resolve("agents-evil/prog"), "#!/bin/sh\nexit 0\n");
    Path link = Files.createSymbolicLink(agents.resolve("shell"), Path.of("/bin/sh"));
    Path marker = host.resolve("pwned");
    Path install = Path.of("..").toAbsolutePath().normalize();
    String testPolicy = TestGateway.builtinPolicyForTests();
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            testPolicy,
            "dry-run",
            Map.of("WORKA_ALLOWED_LAUNCH", agents.toString()));
    String base = gw.baseUrl;
    int version = gw.operator("GET", "/v1/policy", null).body().path("version").asInt();

    String up = "../".repeat(install.getNameCount());
    Map<String, List<String>> attacks = new LinkedHashMap<>();
    attacks.put("a shell", List.of("/bin/sh", "-c", "touch " + marker));
    attacks.put(
        "a relative path out of the installation", List.of(up + "bin/sh", "-c", "touch " + marker));
    attacks.put(
        "dot-dot inside an allowed-looking path", List.of("bin/../" + up + "bin/sh", "-c", "id"));
    attacks.put("a string prefix that is not a path prefix", List.of(evil.toString()));
    attacks.put("dot-dot out of the allowed prefix", List.of(agents + "/../agents-evil/prog"));
    attacks.put(
        "a symlink under the prefix to a shell", List.of(link.toString(), "-c", "touch " + marker));
    attacks.put(
        "the built-in command with other arguments", List.of("bin/worka-agent", "hari", "--evil"));
    attacks.put(
        "env with a preload in front of an allowed program",
        List.of("/usr/bin/env", "LD_PRELOAD=" + host.resolve("x.so"), ok.toString()));
    attacks.put(
        "an assignment as the program",
        List.of("LD_PRELOAD=" + host.resolve("x.so"), ok.toString()));
    // The policy file's own hari command, with the class path pointing somewhere else.
    String fileHari = testPolicy.substring(testPolicy.indexOf("hari:"));
    fileHari =
        fileHari.substring(
            fileHari.indexOf("command: [") + "command: ".length(), fileHari.indexOf("]") + 1);
    List<String> javaArgv =
        new ArrayList<>(List.of(Json.LENIENT.readValue(fileHari, String[].class)));
    javaArgv.set(javaArgv.indexOf("-cp") + 1, host.toString());
    attacks.put("the file's java with another class path", javaArgv);

    for (Map.Entry<String, List<String>> attack : attacks.entrySet()) {
      int gatesBefore = policyGates().size();
      Answer refused = send(base, "PUT", "/v1/policy", withHari(attack.getValue()), operator());
      assertEquals(403, refused.status(), attack.getKey() + ": " + refused.raw());
      assertEquals("launch_not_allowed", refused.body().path("error").asText(), attack.getKey());
      assertTrue(
          refused.body().path("reason").asText().startsWith("agent hari: command ["),
          refused.raw());
      assertTrue(
          refused.body().path("message").asText().contains("WORKA_ALLOWED_LAUNCH"), refused.raw());
      List<Map<String, String>> gates = policyGates();
      assertEquals(gatesBefore + 1, gates.size(), attack.getKey());
      Map<String, String> gate = gates.get(gates.size() - 1);
      assertEquals("deny", gate.get("status"), attack.getKey());
      assertEquals("operator", gate.get("subject"));
      assertEquals(null, gate.get("run_id"));
      assertEquals(refused.body().path("gate_id").asText(), gate.get("id"));
      assertTrue(
          gate.get("reason").contains("agent hari: command " + attack.getValue()),
          gate.get("reason"));
      assertEquals(
          version,
          gw.operator("GET", "/v1/policy", null).body().path("version").asInt(),
          attack.getKey() + ": the active policy is unchanged");
    }
    assertEquals(1, count("select count(*) from policy_manifests"), "nothing was stored");
    assertFalse(Files.exists(marker));

    // Allowed: a program under WORKA_ALLOWED_LAUNCH with any arguments, the built-in command as it
    // is.
    for (List<String> allowed :
        List.of(
            List.of(ok.toString(), "--any", "arguments"),
            List.of("bin/worka-agent", "hari"),
            List.of(install + "/bin/../bin/worka-agent", "hari"))) {
      Answer applied = send(base, "PUT", "/v1/policy", withHari(allowed), operator());
      assertEquals(201, applied.status(), allowed + ": " + applied.raw());
      Map<String, String> gate = policyGates().get(policyGates().size() - 1);
      assertEquals("allow", gate.get("status"));
      assertEquals("operator", gate.get("subject"));
      assertEquals(
          applied.body().path("id").asText(),
          gate.get("manifest"),
          "the allow gate names the new version");
      assertEquals(applied.body().path("gate_id").asText(), gate.get("id"));
      assertTrue(
          gate.get("reason").contains("policy v" + applied.body().path("version").asInt() + " "),
          gate.get("reason"));
    }
    // The same manifest again: no change, no gate.
    int gates = policyGates().size();
    assertEquals(
        200,
        send(
                base,
                "PUT",
                "/v1/policy",
                withHari(List.of(install + "/bin/../bin/worka-agent", "hari")),
                operator())
            .status());
    assertEquals(gates, policyGates().size());
  }

  @Test
  void resourcesThatSwitchALimitOffOrLiftItPastItsBoundAreRefused() throws Exception {
    gw = TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests());
    String base = gw.baseUrl;
    Map<String, String> attacks =
        Map.of(
            "resources:",
            "agents.hari.resources: expected a mapping (memory, cpu, pids, disk, open_files),"
                + " found nothing (remove the key for the defaults)",
            "resources: {memory: 1Ti}",
            "agents.hari.resources.memory: '1Ti' is not a quantity",
            "resources: {memory: 65Gi}",
            "agents.hari.resources.memory: 65Gi is out of bounds (16Mi to 64Gi)",
            "resources: {pids: 0}",
            "agents.hari.resources.pids: 0 is out of bounds (8 to 32768)",
            "resources: {cpu: unlimited}",
            "agents.hari.resources.cpu: 'unlimited' is not a cpu quantity",
            "resources: {memory: 512Mi, swap: 64Gi}",
            "agents.hari.resources.swap: unknown key");
    for (Map.Entry<String, String> attack : attacks.entrySet()) {
      String manifest =
          TestGateway.builtinPolicyForTests()
              .replaceFirst("(?m)^  hari:\n", "  hari:\n    " + attack.getKey() + "\n");
      Answer refused = send(base, "PUT", "/v1/policy", manifest, operator());
      assertEquals(422, refused.status(), attack.getKey() + ": " + refused.raw());
      assertEquals("invalid_policy", refused.body().path("error").asText(), refused.raw());
      assertTrue(refused.raw().contains(attack.getValue()), attack.getKey() + ": " + refused.raw());
    }
    assertEquals(1, gw.operator("GET", "/v1/policy", null).body().path("version").asInt());
    assertEquals(List.of(), policyGates());
  }

  @Test
  void theCliSaysWhyAManifestWasRefusedAndExitsNonZero() throws Exception {
    gw = TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests());
    Path manifest =
        Files.writeString(host.resolve("evil.yaml"), withHari(List.of("/bin/sh", "-c", "id")));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        WorkaCli.execute(
            Map.of("WORKA_URL", gw.baseUrl, "WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN),
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            "policy",
            "apply",
            manifest.toString());
    assertEquals(1, status, out + "" + err);
    assertTrue(out.toString().contains(manifest + " was refused"), out.toString());
    assertTrue(
        out.toString()
            .contains(
                "agent hari: command [/bin/sh, -c, id] is not a launch spec this host allows"),
        out.toString());
    assertTrue(
        out.toString().contains("denied by gate " + policyGates().get(0).get("id")),
        out.toString());
    assertEquals(1, gw.operator("GET", "/v1/policy", null).body().path("version").asInt());
  }

  @Test
  void aRunPinnedToAManifestStoredBeforeTheRuleNeverStartsItsProgram() throws Exception {
    Path marker = host.resolve("ran");
    Path program = executable(host.resolve("planner"), "#!/bin/sh\ntouch " + marker + "\nexit 1\n");
    gw = TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests());
    // As if uploaded before launch specs were checked: straight into the store, then made active.
    String old = TestGateway.withLimit(withHari(List.of(program.toString())), "max_attempts", "1");
    new PolicyStore(db.dataSource(), InstantSource.system()).activate(old, "operator");

    String runId = gw.submit("what time is it?");
    JsonNode story = gw.finish(runId);
    assertEquals("failed", story.path("status").asText(), story.toPrettyString());
    assertFalse(Files.exists(marker), "the program ran");
    boolean burned = false;
    for (JsonNode burn : story.path("burns")) {
      burned |=
          burn.path("kind").asText().equals("dispatch")
              && burn.path("reason").asText().contains("the host does not allow it")
              && burn.path("reason").asText().contains(program.toString());
    }
    assertTrue(burned, story.path("burns").toPrettyString());
  }

  // ---------------------------------------------------------------------------------------------
  // The ingress port

  static String sign(String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(WEBHOOK_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }

  static Answer githubPing(String base) throws Exception {
    String body = "{\"zen\": \"Keep it logically awesome.\", \"hook_id\": 1}";
    return send(
        base,
        "POST",
        "/github/webhook",
        body,
        Map.of(
            "Content-Type",
            "application/json",
            "X-GitHub-Event",
            "ping",
            "X-GitHub-Delivery",
            UUID.randomUUID().toString(),
            "X-Hub-Signature-256",
            sign(body)));
  }

  static Answer slackChallenge(String base) throws Exception {
    String body = "{\"token\":\"x\",\"challenge\":\"c-123\",\"type\":\"url_verification\"}";
    String ts = Long.toString(Instant.now().getEpochSecond());
    return send(
        base,
        "POST",
        "/slack/events",
        body,
        Map.of(
            "Content-Type",
            "application/json",
            "X-Slack-Request-Timestamp",
            ts,
            "X-Slack-Signature",
            new SlackSignature.Generator(SLACK_SECRET).generate(ts, body)));
  }

  TestGateway startWithIngress(Map<String, String> extra) throws Exception {
    slack = new SlackApiStandIn();
    Map<String, String> env =
        new LinkedHashMap<>(
            Map.of(
                "GITHUB_WEBHOOK_SECRET",
                WEBHOOK_SECRET,
                "SLACK_BOT_TOKEN",
                "xoxb-test-bot-token",
                "SLACK_SIGNING_SECRET",
                SLACK_SECRET,
                "SLACK_API_URL",
                slack.url()));
    env.putAll(extra);
    return TestGateway.startWithEnvironment(
        home, db.url(), TestGateway.builtinPolicyForTests(), "dry-run", env);
  }

  @Test
  void withAnIngressPortTheOperatorAndAgentApisAreNotThereAndTheWebhooksOnlyThere()
      throws Exception {
    gw = startWithIngress(Map.of("WORKA_INGRESS_PORT", "0"));
    assertTrue(gw.gateway.ingressPort().isPresent());
    String ingress = "http://127.0.0.1:" + gw.gateway.ingressPort().getAsInt();
    String main = gw.baseUrl;
    assertFalse(ingress.equals(main));
    Map<String, String> bearer =
        Map.of(
            "Authorization",
            "Bearer " + TestGateway.OPERATOR_TOKEN,
            "Content-Type",
            "application/json");
    String evil = withHari(List.of("/bin/sh", "-c", "id"));

    // The operator API, the agent API and MCP do not exist on the ingress port, token or not.
    List<String[]> privateRoutes =
        List.of(
            new String[] {"GET", "/v1/runs", null},
            new String[] {"POST", "/v1/runs", "{\"text\": \"hi\"}"},
            new String[] {"GET", "/v1/policy", null},
            new String[] {"PUT", "/v1/policy", evil},
            new String[] {"GET", "/v1/skills", null},
            new String[] {"GET", "/v1/audit/verify", null},
            new String[] {"GET", "/metrics", null},
            new String[] {"GET", "/readyz", null},
            new String[] {"POST", "/v1/invocations/" + UUID.randomUUID() + "/resolve", "{}"},
            new String[] {"GET", "/v1/agent/context", null},
            new String[] {"POST", "/v1/agent/plan", "{}"},
            new String[] {"POST", "/v1/agent/skills/github.create_issue", "{\"input\": {}}"},
            new String[] {"POST", "/v1/agent/result", "{}"},
            new String[] {"POST", "/v1/agent/heartbeat", "{}"},
            new String[] {"POST", "/v1/agent/model/v1/messages", "{}"},
            new String[] {
              "POST",
              "/v1/agent/mcp",
              "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"initialize\"}"
            },
            new String[] {"GET", "/v1/agent/mcp", null});
    for (String[] r : privateRoutes) {
      Answer a = send(ingress, r[0], r[1], r[2], bearer);
      assertEquals(404, a.status(), r[0] + " " + r[1] + " on the ingress port: " + a.raw());
      assertEquals("not_found", a.body().path("error").asText(), r[0] + " " + r[1]);
    }
    assertEquals(
        0, count("select count(*) from runs"), "no run was created through the ingress port");
    assertEquals(
        1, count("select count(*) from policy_manifests"), "no policy was stored through it");

    // The public routes answer there and only there.
    assertEquals(200, githubPing(ingress).status());
    Answer challenge = slackChallenge(ingress);
    assertEquals(200, challenge.status(), challenge.raw());
    assertEquals("c-123", challenge.raw());
    assertEquals(200, send(ingress, "GET", "/healthz", null, Map.of()).status());
    for (Answer onMain :
        List.of(
            githubPing(main),
            slackChallenge(main),
            send(
                main,
                "POST",
                "/slack/commands",
                "command=/worka&text=hi",
                Map.of("Content-Type", "application/x-www-form-urlencoded")),
            send(
                main,
                "POST",
                "/slack/interactivity",
                "payload=%7B%7D",
                Map.of("Content-Type", "application/x-www-form-urlencoded")))) {
      assertEquals(404, onMain.status(), onMain.raw());
      assertEquals("not_found", onMain.body().path("error").asText());
    }
    // The main port keeps the operator API and liveness.
    assertEquals(200, send(main, "GET", "/v1/runs", null, bearer).status());
    assertEquals(200, send(main, "GET", "/healthz", null, Map.of()).status());
  }

  @Test
  void withoutAnIngressPortEverythingIsOnTheOnePortAsBefore() throws Exception {
    gw = startWithIngress(Map.of());
    assertTrue(gw.gateway.ingressPort().isEmpty());
    assertEquals(200, githubPing(gw.baseUrl).status());
    assertEquals(200, slackChallenge(gw.baseUrl).status());
    assertEquals(200, gw.operator("GET", "/v1/runs", null).status());
    assertEquals(401, send(gw.baseUrl, "GET", "/v1/agent/context", null, Map.of()).status());
  }
}
