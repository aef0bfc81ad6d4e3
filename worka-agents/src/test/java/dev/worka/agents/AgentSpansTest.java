package dev.worka.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.agents.scripted.ScriptedModel;
import dev.worka.protocol.AgentEnvironment;
import dev.worka.protocol.RequestContext;
import dev.worka.protocol.SkillSpec;
import dev.worka.protocol.StepEnvelope;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A built-in agent's own spans (docs/observability.md, "The built-in agents' spans"), against a
 * stand-in Gateway: exported once, before the result, with the step token as bearer and the root a
 * child of {@code TRACEPARENT}; a span route that refuses or hangs costs the step nothing but one
 * line.
 */
class AgentSpansTest {
  private static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
  private static final String ATTEMPT_SPAN = "b7ad6b7169203331";

  private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
  private StandInGateway gateway;

  @AfterEach
  void stop() {
    assertFalse(stderr().contains(StandInGateway.TOKEN), "the token was printed:\n" + stderr());
    if (gateway != null) {
      gateway.close();
    }
  }

  private String stderr() {
    return stderr.toString(StandardCharsets.UTF_8);
  }

  private int run(Duration timeout, Consumer<StandInGateway> route) throws IOException {
    return run(timeout, route, "01");
  }

  /**
   * Runs Ernest's step against a stand-in {@code route} configures, under trace flags {@code
   * flags}, exporting with {@code timeout} (null: as {@link AgentRunner#standard} does); the
   * agent's exit code.
   */
  private int run(Duration timeout, Consumer<StandInGateway> route, String flags)
      throws IOException {
    gateway =
        new StandInGateway(
            new StepEnvelope(
                "run-1",
                "step-1",
                "file",
                1,
                "ernest",
                StepEnvelope.ROLE_WORKER,
                "Open an issue in acme/widgets titled 'Fix the login bug'",
                new RequestContext(
                    "open an issue in acme/widgets titled Fix the login bug",
                    "api",
                    "alice",
                    null,
                    null),
                List.of(new SkillSpec("github.create_issue", "x", null, true)),
                List.of(),
                List.of(),
                "2030-01-01T00:00:00Z",
                null));
    route.accept(gateway);
    AgentRunner.Spans spans =
        timeout == null
            ? AgentRunner.Spans.GATEWAY
            : (noted, environment, log) ->
                SpanExport.send(
                    noted,
                    environment.gatewayUrl(),
                    environment.token(),
                    environment.traceparent(),
                    timeout,
                    log);
    Map<String, String> env = new java.util.HashMap<>(gateway.env("ernest"));
    env.put(AgentEnvironment.TRACEPARENT, "00-" + TRACE + "-" + ATTEMPT_SPAN + "-" + flags);
    return new AgentRunner(
            BuiltInAgents.using(new ScriptedModel()),
            null,
            Duration.ofHours(1),
            pause -> {},
            new PrintStream(stderr, true, StandardCharsets.UTF_8),
            spans)
        .run(env, new String[] {"ernest"});
  }

  private static String attribute(Span s, String key) {
    for (KeyValue kv : s.getAttributesList()) {
      if (kv.getKey().equals(key)) {
        return kv.getValue().hasIntValue()
            ? Long.toString(kv.getValue().getIntValue())
            : kv.getValue().getStringValue();
      }
    }
    return null;
  }

  @Test
  void theStepsSpanTreeGoesToTheGatewayBeforeTheResultUnderTheAttempt() throws Exception {
    assertEquals(AgentRunner.RESULT_ACCEPTED, run(SpanExport.TIMEOUT, g -> {}));

    List<String> order = gateway.calls.stream().map(StandInGateway.Call::path).toList();
    assertEquals(
        List.of(
            "/v1/agent/context",
            "/v1/agent/skills/github.create_issue",
            SpanExport.PATH,
            "/v1/agent/result"),
        order,
        "the spans go before the result, which ends the token");
    StandInGateway.Call export = gateway.callsTo(SpanExport.PATH).get(0);
    assertEquals("Bearer " + StandInGateway.TOKEN, export.authorization());
    assertEquals("application/x-protobuf", export.contentType());

    assertEquals(1, gateway.spanExports.size());
    List<Span> spans =
        ExportTraceServiceRequest.parseFrom(gateway.spanExports.get(0))
            .getResourceSpans(0)
            .getScopeSpans(0)
            .getSpansList();
    Map<String, Span> byName =
        spans.stream()
            .collect(java.util.stream.Collectors.toMap(Span::getName, s -> s, (a, b) -> a));
    assertEquals(
        java.util.Set.of("agent.step", "agent.context", "agent.skill github.create_issue"),
        byName.keySet());
    Span step = byName.get("agent.step");
    HexFormat hex = HexFormat.of();
    for (Span s : spans) {
      assertEquals(TRACE, hex.formatHex(s.getTraceId().toByteArray()), s.getName());
      assertEquals(
          s.getName().equals("agent.step")
              ? ATTEMPT_SPAN
              : hex.formatHex(step.getSpanId().toByteArray()),
          hex.formatHex(s.getParentSpanId().toByteArray()),
          s.getName() + "'s parent");
      assertTrue(
          s.getStartTimeUnixNano() > 0 && s.getEndTimeUnixNano() >= s.getStartTimeUnixNano());
      assertFalse(s.toString().contains(StandInGateway.TOKEN), s.getName() + " holds the token");
    }
    assertEquals("ernest", attribute(step, "agent.name"));
    assertEquals("succeeded", attribute(step, "agent.step.outcome"));
    Span skill = byName.get("agent.skill github.create_issue");
    assertEquals("github.create_issue", attribute(skill, "agent.skill"));
    assertEquals("performed", attribute(skill, "agent.skill.outcome"));
    assertEquals("200", attribute(skill, "http.response.status_code"));
    assertEquals("POST", attribute(skill, "http.request.method"));
    assertFalse(stderr().contains("spans not exported"), stderr());
  }

  @Test
  void noSpanIsSentUnderTraceContextThatIsNotSampled() throws Exception {
    // The Gateway clears the sampled flag when it exports no span (tracing off).
    assertEquals(AgentRunner.RESULT_ACCEPTED, run(null, g -> {}, "00"));
    assertEquals(List.of(), gateway.callsTo(SpanExport.PATH));
    assertEquals("succeeded", gateway.result().path("status").asText());
  }

  @Test
  void aSpanRouteThatRefusesCostsTheStepOneLine() throws Exception {
    int code =
        run(
            SpanExport.TIMEOUT,
            g ->
                g.spansReply =
                    StandInGateway.Reply.json(
                        409, "{\"error\": \"step_not_running\", \"message\": \"ended\"}"));
    assertEquals(AgentRunner.RESULT_ACCEPTED, code);
    assertEquals("succeeded", gateway.result().path("status").asText());
    assertEquals(1, gateway.callsTo(SpanExport.PATH).size(), "one try, no retry");
    assertEquals(
        1, stderr().lines().filter(l -> l.contains("spans not exported")).count(), stderr());
  }

  @Test
  void aSpanRouteThatHangsHoldsTheStepOnlyUntilTheTimeout() throws Exception {
    // The route holds the export until the test ends; the agent gives up on it and goes on.
    int code = run(Duration.ofMillis(300), g -> g.holdSpans = new CountDownLatch(1));
    assertEquals(AgentRunner.RESULT_ACCEPTED, code);
    assertEquals("succeeded", gateway.result().path("status").asText());
    assertEquals(
        1, stderr().lines().filter(l -> l.contains("spans not exported")).count(), stderr());
  }
}
