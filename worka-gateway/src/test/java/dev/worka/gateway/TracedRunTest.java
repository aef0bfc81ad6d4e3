package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.OtlpReceiver.ReceivedSpan;
import dev.worka.gateway.skill.model.StubMessagesApi;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.telemetry.SpanIds;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * One trace per run, exported by the Gateway's real OTLP/HTTP exporter to a local receiver that
 * decodes the protobuf (docs/observability.md): the caller's trace continued, the span tree with
 * its parent links rebuilt from stored ids, and no secret in any span.
 */
class TracedRunTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  OtlpReceiver receiver;

  static final String CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String CALLER_SPAN = "00f067aa0ba902b7";
  static final String REQUEST = "open an issue in acme/widgets titled 'Login test is flaky'";
  static final String GITHUB_TRACE = "0af7651916cd43dd8448eb211c80319c";
  static final String GITHUB_SPAN = "b7ad6b7169203331";
  static final String WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789";

  @BeforeEach
  void receive() throws Exception {
    receiver = new OtlpReceiver();
  }

  @AfterEach
  void stop() {
    receiver.close();
    assertEquals(List.of(), receiver.failures, "the receiver failed");
  }

  /** Submits {@link #REQUEST} with the caller's traceparent, runs it, stops the Gateway (flush). */
  private RunDone run(Map<String, String> environment) throws Exception {
    TestGateway gw =
        TestGateway.startWithEnvironment(
            home, db.url(), TestGateway.builtinPolicyForTests(), "dry-run", environment);
    try {
      TestGateway.Answer created =
          gw.call(
              "POST",
              "/v1/runs",
              Json.LENIENT.createObjectNode().put("text", REQUEST).toString(),
              Map.of(
                  "Authorization", "Bearer " + TestGateway.OPERATOR_TOKEN,
                  "Content-Type", "application/json",
                  "traceparent", "00-" + CALLER_TRACE + "-" + CALLER_SPAN + "-01"));
      assertEquals(202, created.status(), created.raw().body());
      String runId = created.body().path("run_id").asText();
      JsonNode run = gw.finish(runId);
      TestGateway.Answer shown =
          gw.call(
              "GET",
              "/v1/runs/" + runId,
              null,
              Map.of("Authorization", "Bearer " + TestGateway.OPERATOR_TOKEN));
      JsonNode github = Json.LENIENT.createObjectNode();
      String githubHeader = "";
      if (environment.containsKey("GITHUB_WEBHOOK_SECRET")) {
        String comment = githubComment("@worka " + REQUEST);
        TestGateway.Answer delivered =
            gw.call(
                "POST",
                "/github/webhook",
                comment,
                Map.of(
                    "Content-Type",
                    "application/json",
                    "X-GitHub-Event",
                    "issue_comment",
                    "X-GitHub-Delivery",
                    UUID.randomUUID().toString(),
                    "X-Hub-Signature-256",
                    sign(comment),
                    "traceparent",
                    "00-" + GITHUB_TRACE + "-" + GITHUB_SPAN + "-01"));
        assertEquals(202, delivered.status(), delivered.raw().body());
        github = delivered.body();
        githubHeader = delivered.raw().headers().firstValue("traceparent").orElse("");
        JsonNode story = gw.finish(github.path("run_id").asText());
        assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
        // The answers go out after the run ended: wait until both were sent (and exported).
        await("the acknowledgement and the result delivered")
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(50))
            .until(
                () ->
                    receiver.spansOf(GITHUB_TRACE).stream()
                        .filter(x -> x.name().equals("worka.delivery"))
                        .filter(x -> "sent".equals(x.attributes().get("worka.delivery.outcome")))
                        .count(),
                n -> n >= 2);
      }
      return new RunDone(
          UUID.fromString(runId),
          created.body(),
          created.raw().headers().firstValue("traceparent").orElse(""),
          shown.raw().headers().firstValue("traceparent").orElse(""),
          run,
          github,
          githubHeader);
    } finally {
      gw.close(); // flushes the batch span processor
    }
  }

  record RunDone(
      UUID runId,
      JsonNode created,
      String createdHeader,
      String shownHeader,
      JsonNode story,
      JsonNode github,
      String githubHeader) {
    UUID githubRunId() {
      return UUID.fromString(github.path("run_id").asText());
    }
  }

  private static String sign(String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(WEBHOOK_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
  }

  /** An {@code issue_comment} delivery (as GitHubWebhookTest builds one). */
  private static String githubComment(String text) {
    return "{\"action\": \"created\", \"issue\": {\"number\": 7, \"title\": \"Flaky login\"},"
        + " \"comment\": {\"id\": 77, \"body\": "
        + Json.write(Json.STRICT.getNodeFactory().textNode(text))
        + ", \"html_url\": \"https://github.test/acme/widgets/issues/7#issuecomment-77\","
        + " \"author_association\": \"MEMBER\","
        + " \"user\": {\"login\": \"octo\", \"type\": \"User\"}},"
        + " \"repository\": {\"name\": \"widgets\", \"full_name\": \"acme/widgets\","
        + " \"owner\": {\"login\": \"acme\"}},"
        + " \"sender\": {\"login\": \"octo\", \"type\": \"User\"}}";
  }

  @Test
  void anApiRunAndAGithubCommentRunEachContinueTheirCallersTrace() throws Exception {
    RunDone done =
        run(
            Map.of(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                receiver.url(),
                "OTEL_BSP_SCHEDULE_DELAY",
                "20",
                "GITHUB_WEBHOOK_SECRET",
                WEBHOOK_SECRET));
    assertEquals("succeeded", done.story().path("status").asText(), done.story().toPrettyString());

    // The run continues the caller's trace: answer, story and header all name it.
    String runSpan = SpanIds.run(done.runId());
    assertEquals(CALLER_TRACE, done.created().path("trace_id").asText());
    assertEquals(CALLER_TRACE, done.story().path("trace_id").asText());
    assertEquals("00-" + CALLER_TRACE + "-" + runSpan + "-01", done.createdHeader());
    assertEquals(done.createdHeader(), done.shownHeader());

    List<ReceivedSpan> spans = receiver.spansOf(CALLER_TRACE);
    assertEquals(
        spans.size() + receiver.spansOf(GITHUB_TRACE).size(),
        receiver.spans().size(),
        "every span is of one of the two runs' traces");
    assertTrue(spans.stream().allMatch(s -> s.path().equals("/v1/traces")));
    assertTrue(spans.stream().allMatch(s -> s.serviceName().equals("worka-gateway")));
    Map<String, ReceivedSpan> byId =
        spans.stream().collect(Collectors.toMap(ReceivedSpan::spanId, s -> s));

    // ingress (child of the caller's span) → run
    ReceivedSpan ingress = one(spans, "worka.ingress");
    assertEquals(CALLER_SPAN, ingress.parentSpanId());
    assertEquals(SpanIds.ingress(done.runId()), ingress.spanId());
    assertEquals("SPAN_KIND_SERVER", ingress.kind());
    assertEquals("POST /v1/runs", ingress.attributes().get("http.route"));
    ReceivedSpan run = one(spans, "worka.run");
    assertEquals(runSpan, run.spanId());
    assertEquals(ingress.spanId(), run.parentSpanId());
    assertEquals("succeeded", run.attributes().get("worka.run.status"));
    assertEquals(REQUEST, run.attributes().get("langfuse.observation.input"));

    // run → the planning step (hari) and the work step (ernest), each one attempt
    List<ReceivedSpan> steps = all(spans, "worka.step");
    assertEquals(
        List.of("hari", "ernest"),
        steps.stream().map(s -> s.attributes().get("worka.agent")).toList());
    JsonNode storySteps = done.story().path("steps");
    for (int i = 0; i < 2; i++) {
      ReceivedSpan step = steps.get(i);
      UUID stepId = UUID.fromString(storySteps.get(i).path("step_id").asText());
      assertEquals(runSpan, step.parentSpanId());
      assertEquals(SpanIds.attempt(stepId, 1), step.spanId());
      assertEquals(stepId.toString(), step.attributes().get("worka.step_id"));
      assertEquals(done.runId().toString(), step.attributes().get("worka.run_id"));
      assertEquals("1", step.attributes().get("worka.attempt"));
      assertEquals("process", step.attributes().get("worka.runtime"));
      assertEquals("succeeded", step.attributes().get("worka.step.status"));
    }

    // each gate under the attempt that asked (or under its skill call)
    ReceivedSpan planGate = gate(spans, "plan.submit");
    assertEquals(steps.get(0).spanId(), planGate.parentSpanId());
    assertEquals("allow", planGate.attributes().get("worka.gate.decision"));
    assertEquals(
        done.story().path("gates").get(0).path("gate_id").asText(),
        planGate.attributes().get("worka.gate.id"));
    assertTrue(planGate.attributes().get("worka.gate.chain_seq").matches("[1-9][0-9]*"));
    ReceivedSpan skillGate = gate(spans, "skill.invoke");
    assertEquals("github.create_issue", skillGate.attributes().get("worka.skill"));

    // ernest's skill call: under its attempt, its gate and upstream call its children
    ReceivedSpan skill = one(spans, "worka.skill");
    assertEquals(steps.get(1).spanId(), skill.parentSpanId());
    assertEquals("github.create_issue", skill.attributes().get("worka.skill"));
    assertEquals("performed", skill.attributes().get("worka.skill.outcome"));
    assertEquals("ernest", skill.attributes().get("worka.agent"));
    assertEquals(
        done.story().path("skill_invocations").get(0).path("invocation_id").asText(),
        skill.attributes().get("worka.invocation_id"));
    assertTrue(
        skill.attributes().get("langfuse.observation.input").contains("Login test is flaky"),
        skill.toString());
    assertTrue(skill.attributes().containsKey("langfuse.observation.output"), skill.toString());
    assertEquals(skill.spanId(), skillGate.parentSpanId());
    ReceivedSpan upstream = one(spans, "worka.skill.upstream");
    assertEquals(skill.spanId(), upstream.parentSpanId());
    assertEquals("SPAN_KIND_CLIENT", upstream.kind());
    assertEquals("true", upstream.attributes().get("worka.skill.dry_run"));

    // every span hangs from the caller's span through parents the trace holds
    for (ReceivedSpan s : spans) {
      assertTrue(
          ancestors(s, byId).contains(CALLER_SPAN) || s.parentSpanId().equals(CALLER_SPAN),
          s.name() + " is not under the caller's span");
    }
    noSecretIn(spans, List.of(TestGateway.OPERATOR_TOKEN, WEBHOOK_SECRET));

    // #150: the git event → the worker run → the API answer, one trace.
    UUID githubRun = done.githubRunId();
    assertEquals(GITHUB_TRACE, done.github().path("trace_id").asText());
    assertEquals("00-" + GITHUB_TRACE + "-" + SpanIds.run(githubRun) + "-01", done.githubHeader());
    List<ReceivedSpan> git = receiver.spansOf(GITHUB_TRACE);
    Map<String, ReceivedSpan> gitById =
        git.stream().collect(Collectors.toMap(ReceivedSpan::spanId, s -> s));
    ReceivedSpan delivery = one(git, "worka.ingress");
    assertEquals(GITHUB_SPAN, delivery.parentSpanId());
    assertEquals("POST /github/webhook", delivery.attributes().get("http.route"));
    assertEquals("github", delivery.attributes().get("worka.source"));
    ReceivedSpan gitRun = one(git, "worka.run");
    assertEquals(SpanIds.run(githubRun), gitRun.spanId());
    assertEquals(delivery.spanId(), gitRun.parentSpanId());
    assertEquals("succeeded", gitRun.attributes().get("worka.run.status"));
    List<ReceivedSpan> gitSteps = all(git, "worka.step");
    assertEquals(
        List.of("hari", "ernest"),
        gitSteps.stream().map(s -> s.attributes().get("worka.agent")).toList());
    // the answers on the issue: the acknowledgement and the result, each delivered under the run
    List<ReceivedSpan> answers = all(git, "worka.delivery");
    assertEquals(
        List.of("ack", "result"),
        answers.stream().map(a -> a.attributes().get("worka.delivery.kind")).sorted().toList(),
        git.toString());
    for (ReceivedSpan a : answers) {
      assertEquals(gitRun.spanId(), a.parentSpanId());
      assertEquals("github", a.attributes().get("worka.delivery.channel"));
      assertEquals("sent", a.attributes().get("worka.delivery.outcome"), a.toString());
    }
    for (ReceivedSpan s : git) {
      assertTrue(
          ancestors(s, gitById).contains(GITHUB_SPAN) || s.parentSpanId().equals(GITHUB_SPAN),
          s.name() + " is not under the delivery's caller span");
    }
    noSecretIn(git, List.of(TestGateway.OPERATOR_TOKEN, WEBHOOK_SECRET));
  }

  @Test
  void langfuseGetsBasicAuthAndNoContentWithTraceContentOff() throws Exception {
    String secretKey = "sk-lf-0123456789abcdef-secret";
    RunDone done =
        run(
            Map.of(
                "LANGFUSE_HOST", receiver.url(),
                "LANGFUSE_PUBLIC_KEY", "pk-lf-public",
                "LANGFUSE_SECRET_KEY", secretKey,
                "WORKA_TRACE_CONTENT", "off",
                "OTEL_BSP_SCHEDULE_DELAY", "20"));
    assertEquals("succeeded", done.story().path("status").asText(), done.story().toPrettyString());

    List<ReceivedSpan> spans = receiver.spansOf(CALLER_TRACE);
    assertFalse(spans.isEmpty());
    assertTrue(spans.stream().allMatch(s -> s.path().equals("/api/public/otel/v1/traces")));
    String basic =
        "Basic "
            + Base64.getEncoder()
                .encodeToString(("pk-lf-public:" + secretKey).getBytes(StandardCharsets.UTF_8));
    assertTrue(receiver.authorizations().stream().allMatch(basic::equals));
    for (ReceivedSpan s : spans) {
      assertFalse(s.attributes().containsKey("langfuse.observation.input"), s.toString());
      assertFalse(s.attributes().containsKey("langfuse.observation.output"), s.toString());
    }
    assertFalse(
        OtlpReceiver.allValues(spans).stream().anyMatch(v -> v.contains(REQUEST)),
        "the request's text is in no span");
    noSecretIn(spans, List.of(TestGateway.OPERATOR_TOKEN, secretKey, basic.substring(6)));
  }

  @Test
  void eachModelCallIsAGenerationUnderItsAttemptAndTheProviderKeyIsInNoSpan() throws Exception {
    try (StubMessagesApi stub =
        StubMessagesApi.start(ModelThroughGatewayTest.KEY, ModelThroughGatewayTest::playModel)) {
      RunDone done =
          run(
              Map.of(
                  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                  receiver.url() + "/v1/traces",
                  "OTEL_BSP_SCHEDULE_DELAY",
                  "20",
                  "OTEL_SERVICE_NAME",
                  "worka-test",
                  "WORKA_MODEL",
                  "anthropic",
                  "ANTHROPIC_API_KEY",
                  ModelThroughGatewayTest.KEY,
                  "ANTHROPIC_BASE_URL",
                  stub.baseUrl(),
                  "WORKA_ANTHROPIC_MODEL",
                  ModelThroughGatewayTest.MODEL));
      assertEquals(
          "succeeded", done.story().path("status").asText(), done.story().toPrettyString());
    }
    List<ReceivedSpan> spans = receiver.spansOf(CALLER_TRACE);
    assertTrue(spans.stream().allMatch(s -> s.serviceName().equals("worka-test")));
    List<ReceivedSpan> steps = all(spans, "worka.step");
    List<ReceivedSpan> calls = all(spans, "chat " + ModelThroughGatewayTest.MODEL);
    assertEquals(
        List.of("hari", "ernest", "ernest"),
        calls.stream().map(c -> c.attributes().get("worka.agent")).toList(),
        spans.toString());
    for (ReceivedSpan c : calls) {
      String agent = c.attributes().get("worka.agent");
      ReceivedSpan attempt =
          steps.stream()
              .filter(st -> st.attributes().get("worka.agent").equals(agent))
              .findFirst()
              .orElseThrow();
      assertEquals(attempt.spanId(), c.parentSpanId());
      assertEquals("SPAN_KIND_CLIENT", c.kind());
      assertEquals("chat", c.attributes().get("gen_ai.operation.name"));
      assertEquals("anthropic", c.attributes().get("gen_ai.provider.name"));
      assertEquals(ModelThroughGatewayTest.MODEL, c.attributes().get("gen_ai.request.model"));
      assertEquals("generation", c.attributes().get("langfuse.observation.type"));
      assertTrue(c.attributes().get("gen_ai.usage.input_tokens").matches("[1-9][0-9]*"));
      assertTrue(c.attributes().get("gen_ai.usage.output_tokens").matches("[1-9][0-9]*"));
      assertTrue(c.attributes().containsKey("langfuse.observation.input"), c.toString());
    }
    assertEquals(
        String.valueOf(ModelThroughGatewayTest.PLAN_IN),
        calls.get(0).attributes().get("gen_ai.usage.input_tokens"));
    assertEquals(
        String.valueOf(ModelThroughGatewayTest.PLAN_OUT),
        calls.get(0).attributes().get("gen_ai.usage.output_tokens"));
    assertEquals(
        3,
        spans.stream()
            .filter(s -> "model.invoke".equals(s.attributes().get("worka.gate.action")))
            .count());
    // The agents' own side of each call (docs/observability.md, "The built-in agents' spans"): an
    // agent.model span under the agent's agent.step span, itself under its attempt.
    List<ReceivedSpan> agentCalls = all(spans, "agent.model");
    assertEquals(
        List.of("hari", "ernest", "ernest"),
        agentCalls.stream().map(c -> c.attributes().get("worka.agent")).toList(),
        spans.toString());
    for (ReceivedSpan c : agentCalls) {
      String agent = c.attributes().get("worka.agent");
      ReceivedSpan agentStep =
          spans.stream()
              .filter(x -> x.name().equals("agent.step"))
              .filter(x -> agent.equals(x.attributes().get("worka.agent")))
              .findFirst()
              .orElseThrow();
      assertEquals(agentStep.spanId(), c.parentSpanId(), c.toString());
      assertEquals(
          steps.stream()
              .filter(st -> st.attributes().get("worka.agent").equals(agent))
              .findFirst()
              .orElseThrow()
              .spanId(),
          agentStep.parentSpanId());
      assertEquals(ModelThroughGatewayTest.MODEL, c.attributes().get("agent.model"));
      assertEquals("true", c.attributes().get("worka.worker_span"));
      assertTrue(c.attributes().get("agent.model.input_tokens").matches("[1-9][0-9]*"));
    }
    noSecretIn(spans, List.of(ModelThroughGatewayTest.KEY, TestGateway.OPERATOR_TOKEN));
  }

  private static void noSecretIn(List<ReceivedSpan> spans, List<String> secrets) {
    for (ReceivedSpan s : spans) {
      for (Map.Entry<String, String> a : s.attributes().entrySet()) {
        for (String secret : secrets) {
          assertFalse(
              a.getValue().contains(secret), s.name() + " " + a.getKey() + " holds a secret");
        }
      }
    }
  }

  private static ReceivedSpan one(List<ReceivedSpan> spans, String name) {
    List<ReceivedSpan> found = all(spans, name);
    assertEquals(1, found.size(), name + " in " + spans);
    return found.get(0);
  }

  /** The spans named {@code name}, the planner's (hari) first. */
  private static List<ReceivedSpan> all(List<ReceivedSpan> spans, String name) {
    return spans.stream()
        .filter(s -> s.name().equals(name))
        .sorted(
            Comparator.comparingInt(
                s -> s.attributes().getOrDefault("worka.agent", "").equals("hari") ? 0 : 1))
        .toList();
  }

  private static ReceivedSpan gate(List<ReceivedSpan> spans, String action) {
    List<ReceivedSpan> found =
        spans.stream()
            .filter(
                s ->
                    s.name().equals("worka.gate")
                        && action.equals(s.attributes().get("worka.gate.action")))
            .toList();
    assertEquals(1, found.size(), action + " gates in " + spans);
    return found.get(0);
  }

  private static List<String> ancestors(ReceivedSpan s, Map<String, ReceivedSpan> byId) {
    List<String> up = new java.util.ArrayList<>();
    ReceivedSpan at = s;
    while (at != null && !at.parentSpanId().isEmpty() && up.size() < 20) {
      up.add(at.parentSpanId());
      at = byId.get(at.parentSpanId());
    }
    return up;
  }
}
