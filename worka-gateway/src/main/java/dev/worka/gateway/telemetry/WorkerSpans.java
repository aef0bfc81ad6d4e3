package dev.worka.gateway.telemetry;

import com.google.protobuf.ByteString;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker's own spans, received by the Gateway on {@code POST /v1/agent/otel/v1/traces} and
 * re-emitted through the Gateway's tracer, so they reach the same exporter (collector or Langfuse)
 * as its own spans (docs/observability.md, "Workers' spans"). What the worker says is data, never
 * identity: only spans of the run's trace are kept; their ids are re-derived under the attempt
 * ({@code worker:<step>:<attempt>:<id>}), so a worker can neither overwrite a Gateway span nor hang
 * a span anywhere but under its own attempt; the {@code worka.*} and {@code langfuse.trace.*}
 * attributes it sets are deleted and {@code worka.run_id}, {@code worka.step_id}, {@code
 * worka.agent}, {@code worka.attempt} stamped from its verified token; every text (names, keys,
 * values, events, status) passes through the Gateway's cleaner; content attributes are dropped with
 * {@code WORKA_TRACE_CONTENT=off}; links are dropped (they could point into other traces).
 */
public final class WorkerSpans {
  /** The most spans one step attempt may send (beyond them spans are dropped and counted). */
  public static final int MAX_SPANS_PER_ATTEMPT = 1000;

  static final int MAX_NAME = 200;
  static final int MAX_ATTEMPTS_TRACKED = 10_000;

  /** Attribute keys whose value is content (an input, an output, a prompt, a message). */
  static final Set<String> CONTENT_KEYS =
      Set.of(
          "langfuse.observation.input",
          "langfuse.observation.output",
          "input.value",
          "output.value",
          "gen_ai.prompt",
          "gen_ai.completion",
          "gen_ai.input.messages",
          "gen_ai.output.messages",
          "gen_ai.system_instructions",
          "gen_ai.tool.call.arguments",
          "gen_ai.tool.call.result");

  private final Tracing tracing;
  private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

  public WorkerSpans(Tracing tracing) {
    this.tracing = tracing;
  }

  /**
   * What became of the spans of one request: re-emitted, dropped for naming another trace (or no
   * valid one), dropped beyond {@link #MAX_SPANS_PER_ATTEMPT}.
   */
  public record Forwarded(int accepted, int otherTrace, int overCap) {
    public int rejected() {
      return otherTrace + overCap;
    }
  }

  /** The caller's verified identity: whatever a span says, these are stamped on it. */
  public record Stamp(String traceId, UUID runId, UUID stepId, int attempt, String agent) {}

  /**
   * Re-emits the spans of {@code request} sent by the worker of {@code stamp}'s step attempt. With
   * tracing off nothing is emitted and every span counts as accepted (the worker must not retry).
   */
  public Forwarded forward(ExportTraceServiceRequest request, Stamp stamp) {
    int accepted = 0;
    int otherTrace = 0;
    int overCap = 0;
    String key = stamp.stepId() + ":" + stamp.attempt();
    if (counts.size() > MAX_ATTEMPTS_TRACKED) {
      counts.clear(); // a bound on memory; an attempt can't make 10 000 attempts to reset its own
    }
    AtomicInteger sent = counts.computeIfAbsent(key, k -> new AtomicInteger());
    for (ResourceSpans rs : request.getResourceSpansList()) {
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        for (io.opentelemetry.proto.trace.v1.Span s : ss.getSpansList()) {
          if (!hex(s.getTraceId()).equals(stamp.traceId())) {
            otherTrace++;
            continue;
          }
          if (sent.incrementAndGet() > MAX_SPANS_PER_ATTEMPT) {
            overCap++;
            continue;
          }
          accepted++;
          if (tracing.exporting()) {
            emit(s, stamp);
          }
        }
      }
    }
    return new Forwarded(accepted, otherTrace, overCap);
  }

  private void emit(io.opentelemetry.proto.trace.v1.Span s, Stamp stamp) {
    String attemptSpan = SpanIds.attempt(stamp.stepId(), stamp.attempt());
    String parent = hex(s.getParentSpanId());
    String parentId =
        parent.isEmpty() || parent.equals(attemptSpan) || parent.equals("0000000000000000")
            ? attemptSpan
            : workerSpanId(stamp, parent);
    String name = truncate(clean(s.getName()), MAX_NAME);
    SpanBuilder b =
        tracing
            .tracer()
            .spanBuilder(name.isBlank() ? "worker span" : name)
            .setParent(Tracing.remote(stamp.traceId(), parentId))
            .setSpanKind(kind(s.getKind()))
            .setAllAttributes(attributes(s.getAttributesList()));
    if (s.getStartTimeUnixNano() > 0) {
      b.setStartTimestamp(s.getStartTimeUnixNano(), TimeUnit.NANOSECONDS);
    }
    b.setAttribute(Tracing.RUN_ID, stamp.runId().toString())
        .setAttribute(Tracing.STEP_ID, stamp.stepId().toString())
        .setAttribute(Tracing.AGENT, stamp.agent())
        .setAttribute(Tracing.ATTEMPT, (long) stamp.attempt())
        .setAttribute("worka.worker_span", true);
    Span span =
        SpanIds.next(stamp.traceId(), workerSpanId(stamp, hex(s.getSpanId())), () -> b.startSpan());
    for (io.opentelemetry.proto.trace.v1.Span.Event e : s.getEventsList()) {
      String eventName = truncate(clean(e.getName()), MAX_NAME);
      Attributes attributes = attributes(e.getAttributesList());
      if (e.getTimeUnixNano() > 0) {
        span.addEvent(eventName, attributes, e.getTimeUnixNano(), TimeUnit.NANOSECONDS);
      } else {
        span.addEvent(eventName, attributes);
      }
    }
    switch (s.getStatus().getCode()) {
      case STATUS_CODE_ERROR ->
          span.setStatus(
              StatusCode.ERROR, truncate(clean(s.getStatus().getMessage()), Tracing.MAX_CONTENT));
      case STATUS_CODE_OK -> span.setStatus(StatusCode.OK);
      default -> {}
    }
    long end = s.getEndTimeUnixNano();
    if (end > 0 && end >= s.getStartTimeUnixNano()) {
      span.end(end, TimeUnit.NANOSECONDS);
    } else {
      span.end();
    }
  }

  /**
   * The span id a worker's span id {@code id} becomes: derived per step attempt, so it is never a
   * Gateway span's id nor another attempt's.
   */
  static String workerSpanId(Stamp stamp, String id) {
    return SpanIds.derive("worker:" + stamp.stepId() + ":" + stamp.attempt() + ":" + id);
  }

  private Attributes attributes(List<KeyValue> kvs) {
    AttributesBuilder out = Attributes.builder();
    for (KeyValue kv : kvs) {
      String key = kv.getKey();
      if (key.isEmpty()
          || key.startsWith("worka.")
          || key.startsWith("langfuse.trace.")
          || !clean(key).equals(key)
          || key.length() > MAX_NAME
          || (!tracing.content() && CONTENT_KEYS.contains(key))) {
        continue;
      }
      AnyValue v = kv.getValue();
      switch (v.getValueCase()) {
        case STRING_VALUE -> out.put(key, truncate(clean(v.getStringValue()), Tracing.MAX_CONTENT));
        case BOOL_VALUE -> out.put(key, v.getBoolValue());
        case INT_VALUE -> out.put(key, v.getIntValue());
        case DOUBLE_VALUE -> out.put(key, v.getDoubleValue());
        case ARRAY_VALUE -> {
          List<String> texts = new ArrayList<>();
          for (AnyValue item : v.getArrayValue().getValuesList()) {
            if (item.hasStringValue() && texts.size() < 128) {
              texts.add(truncate(clean(item.getStringValue()), Tracing.MAX_CONTENT));
            }
          }
          if (!texts.isEmpty()) {
            out.put(key, texts.toArray(String[]::new));
          }
        }
        default -> {} // maps and bytes are dropped: nothing the cleaner could read
      }
    }
    return out.build();
  }

  private String clean(String s) {
    return tracing.clean(s);
  }

  private static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }

  private static SpanKind kind(io.opentelemetry.proto.trace.v1.Span.SpanKind kind) {
    return switch (kind) {
      case SPAN_KIND_SERVER -> SpanKind.SERVER;
      case SPAN_KIND_CLIENT -> SpanKind.CLIENT;
      case SPAN_KIND_PRODUCER -> SpanKind.PRODUCER;
      case SPAN_KIND_CONSUMER -> SpanKind.CONSUMER;
      default -> SpanKind.INTERNAL;
    };
  }

  private static String hex(ByteString id) {
    return HexFormat.of().formatHex(id.toByteArray());
  }
}
