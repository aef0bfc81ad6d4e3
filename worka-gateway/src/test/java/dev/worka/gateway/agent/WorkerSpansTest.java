package dev.worka.gateway.agent;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.worka.gateway.OtlpReceiver;
import dev.worka.gateway.OtlpReceiver.ReceivedSpan;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.telemetry.SpanIds;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /v1/agent/otel/v1/traces} against a real Gateway (real PostgreSQL, dry run) exporting
 * to a local OTLP receiver that decodes the protobuf: Ernest's step is parked so it stays running,
 * and the test, as a hostile worker with that step's token, sends spans that forge their identity,
 * carry a GitHub token, name another trace, or are too large.
 */
class WorkerSpansTest {
  private static final List<String> PARKED = List.of("/bin/sh", "-c", "sleep 600");
  private static final String PATH = "/v1/agent/otel/v1/traces";
  private static final String GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
  private static final String OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  TestGateway gw;
  OtlpReceiver receiver;

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (receiver != null) {
      receiver.close();
      assertEquals(List.of(), receiver.failures, "the receiver failed");
    }
  }

  @Test
  void aWorkersSpansArriveStampedFromItsTokenCleanedAndInItsRunsTraceOnly() throws Exception {
    receiver = new OtlpReceiver();
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            TestGateway.policyWith(Map.of("ernest", PARKED), null),
            "dry-run",
            Map.of(
                "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(),
                "OTEL_BSP_SCHEDULE_DELAY", "20",
                "WORKA_TRACE_CONTENT", "off"));
    String runId = gw.submit("open an issue in acme/widgets titled 'worker spans'");
    gw.followUntil(
        runId,
        e -> "file".equals(e.path("step_ref").asText()) && "running".equals(e.path("to").asText()));
    JsonNode story = gw.story(runId);
    String trace = story.path("trace_id").asText();
    JsonNode step =
        StreamSupport.stream(story.path("steps").spliterator(), false)
            .filter(s -> "file".equals(s.path("step_ref").asText()))
            .findFirst()
            .orElseThrow();
    UUID stepId = UUID.fromString(step.path("step_id").asText());
    int attempt = step.path("attempt").asInt();
    String token = token(UUID.fromString(runId), stepId, attempt);
    String attemptSpan = SpanIds.attempt(stepId, attempt);

    // The worker's root span (its parent the TRACEPARENT it was given), a child, and a span of
    // another trace; the root forges every stamp (span and resource) and carries a GitHub token
    // in an attribute, an event, its status and a content attribute.
    String forgedRun = UUID.randomUUID().toString();
    Span root =
        span(trace, "1111111111111111", attemptSpan, "worker step " + GITHUB_TOKEN)
            .addAttributes(kv("worka.run_id", forgedRun))
            .addAttributes(kv("worka.step_id", UUID.randomUUID().toString()))
            .addAttributes(kv("worka.agent", "hari"))
            .addAttributes(
                KeyValue.newBuilder()
                    .setKey("worka.attempt")
                    .setValue(AnyValue.newBuilder().setIntValue(99)))
            .addAttributes(kv("worka.gate.decision", "allow"))
            .addAttributes(kv("langfuse.trace.name", "renamed by the worker"))
            .addAttributes(kv("worker.note", "called with " + GITHUB_TOKEN))
            .addAttributes(kv("langfuse.observation.output", "the request text"))
            .addEvents(
                Span.Event.newBuilder()
                    .setName("tool result")
                    .setTimeUnixNano(nanos())
                    .addAttributes(kv("text", "token " + GITHUB_TOKEN)))
            .setStatus(
                io.opentelemetry.proto.trace.v1.Status.newBuilder()
                    .setCode(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR)
                    .setMessage("failed with " + GITHUB_TOKEN))
            .build();
    Span child = span(trace, "2222222222222222", "1111111111111111", "child").build();
    Span foreign = span(OTHER_TRACE, "3333333333333333", "", "into someone else's trace").build();
    ExportTraceServiceRequest export =
        ExportTraceServiceRequest.newBuilder()
            .addResourceSpans(
                ResourceSpans.newBuilder()
                    .setResource(
                        Resource.newBuilder()
                            .addAttributes(kv("service.name", "hostile-worker"))
                            .addAttributes(kv("worka.run_id", forgedRun)))
                    .addScopeSpans(
                        ScopeSpans.newBuilder().addSpans(root).addSpans(child).addSpans(foreign)))
            .build();

    HttpResponse<byte[]> sent = post(token, "application/x-protobuf", export.toByteArray());
    assertEquals(200, sent.statusCode(), new String(sent.body(), StandardCharsets.UTF_8));
    ExportTraceServiceResponse answer = ExportTraceServiceResponse.parseFrom(sent.body());
    assertEquals(1, answer.getPartialSuccess().getRejectedSpans(), answer.toString());

    await("the worker's spans exported")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> workerSpans(trace, stepId).size(), n -> n >= 2);
    List<ReceivedSpan> spans = workerSpans(trace, stepId);
    assertEquals(2, spans.size(), spans.toString());
    ReceivedSpan gotRoot =
        spans.stream().filter(s -> s.name().startsWith("worker step")).findFirst().orElseThrow();
    ReceivedSpan gotChild =
        spans.stream().filter(s -> s.name().equals("child")).findFirst().orElseThrow();
    // In the run's trace, under the attempt; ids re-derived (never the worker's own).
    assertEquals(trace, gotRoot.traceId());
    assertEquals(attemptSpan, gotRoot.parentSpanId());
    assertNotEquals("1111111111111111", gotRoot.spanId());
    assertEquals(gotRoot.spanId(), gotChild.parentSpanId());
    assertEquals("worka-gateway", gotRoot.serviceName());
    // Stamped from the token, whatever the span said.
    for (ReceivedSpan s : spans) {
      assertEquals(runId, s.attributes().get("worka.run_id"), s.toString());
      assertEquals(stepId.toString(), s.attributes().get("worka.step_id"), s.toString());
      assertEquals("ernest", s.attributes().get("worka.agent"), s.toString());
      assertEquals(Integer.toString(attempt), s.attributes().get("worka.attempt"), s.toString());
    }
    assertFalse(gotRoot.attributes().containsKey("worka.gate.decision"), gotRoot.toString());
    assertFalse(gotRoot.attributes().containsKey("langfuse.trace.name"), gotRoot.toString());
    // Cleaned: the token nowhere; the note kept without it; no content (WORKA_TRACE_CONTENT=off).
    String note = gotRoot.attributes().get("worker.note");
    assertTrue(note != null && note.startsWith("called with "), gotRoot.toString());
    assertFalse(
        gotRoot.attributes().containsKey("langfuse.observation.output"), gotRoot.toString());
    assertEquals(1, gotRoot.events().size(), gotRoot.toString());
    assertTrue(gotRoot.events().get(0).startsWith("tool result text=token "), gotRoot.toString());
    for (ReceivedSpan s : receiver.spans()) {
      assertFalse(s.toString().contains(GITHUB_TOKEN), s.toString());
      assertFalse(s.toString().contains(forgedRun), s.toString());
      assertFalse(s.toString().contains("hostile-worker"), s.toString());
    }
    // Another trace's span: dropped.
    assertEquals(List.of(), receiver.spansOf(OTHER_TRACE));

    // Too large → 413; not protobuf → 415; no token, an operator token, another attempt's →
    // refused.
    assertEquals(
        413, post(token, "application/x-protobuf", new byte[1024 * 1024 + 1]).statusCode());
    assertEquals(
        415, post(token, "application/json", "{}".getBytes(StandardCharsets.UTF_8)).statusCode());
    assertEquals(401, post(null, "application/x-protobuf", export.toByteArray()).statusCode());
    assertEquals(
        401,
        post(TestGateway.OPERATOR_TOKEN, "application/x-protobuf", export.toByteArray())
            .statusCode());
    int ended =
        post(
                token(UUID.fromString(runId), stepId, attempt + 1),
                "application/x-protobuf",
                export.toByteArray())
            .statusCode();
    assertTrue(ended == 401 || ended == 409, "another attempt's token answered " + ended);
    assertEquals(2, workerSpans(trace, stepId).size(), "a refused export added spans");
  }

  /**
   * The worker spans of {@code trace} stamped as {@code step}'s (the planner Hari's own spans, of
   * another attempt, are in the trace too: the built-in agents export theirs).
   */
  private List<ReceivedSpan> workerSpans(String trace, UUID step) {
    return receiver.spansOf(trace).stream()
        .filter(s -> "true".equals(s.attributes().get("worka.worker_span")))
        .filter(s -> step.toString().equals(s.attributes().get("worka.step_id")))
        .toList();
  }

  private String token(UUID runId, UUID stepId, int attempt) {
    return new TokenIssuer(SigningKeys.loadOrCreate(home), "worka-gateway", InstantSource.system())
        .mint("ernest", runId, stepId, attempt, Instant.now().plus(Duration.ofMinutes(10)))
        .token();
  }

  private HttpResponse<byte[]> post(String token, String type, byte[] body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gw.baseUrl + PATH))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", type)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static Span.Builder span(String trace, String id, String parent, String name) {
    long now = nanos();
    return Span.newBuilder()
        .setTraceId(bytes(trace))
        .setSpanId(bytes(id))
        .setParentSpanId(bytes(parent))
        .setName(name)
        .setKind(Span.SpanKind.SPAN_KIND_INTERNAL)
        .setStartTimeUnixNano(now - 1_000_000)
        .setEndTimeUnixNano(now);
  }

  private static long nanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  private static ByteString bytes(String hex) {
    return ByteString.copyFrom(HexFormat.of().parseHex(hex));
  }

  private static KeyValue kv(String key, String value) {
    return KeyValue.newBuilder()
        .setKey(key)
        .setValue(AnyValue.newBuilder().setStringValue(value))
        .build();
  }
}
