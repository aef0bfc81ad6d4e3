package dev.worka.gateway.telemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The Gateway's tracer (docs/observability.md, "Spans"): the OpenTelemetry SDK configured by
 * autoconfigure from {@link TracingSettings} (never from {@code System.getenv}: the Gateway's own
 * environment map, so tests set it), exporting OTLP/HTTP protobuf through a batch span processor;
 * or OpenTelemetry's no-op when no exporter is configured (then every method here costs about
 * nothing and the worker still gets a valid {@code TRACEPARENT}).
 *
 * <p>Each method starts one kind of span of a run with its parent recreated from stored ids ({@link
 * SpanIds}): ingress → run → step attempt → gate / skill call (→ upstream) / model call; run →
 * delivery. Content (inputs, outputs) passes through the cleaner given at start, truncated, and is
 * left out entirely with {@code WORKA_TRACE_CONTENT=off}.
 */
public final class Tracing implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Tracing.class);
  private static final Pattern TRACEPARENT =
      Pattern.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})");
  static final int MAX_CONTENT = 4000;

  /** Span names (the contract of docs/observability.md). */
  public static final String INGRESS = "worka.ingress";

  public static final String RUN = "worka.run";
  public static final String STEP = "worka.step";
  public static final String GATE = "worka.gate";
  public static final String SKILL = "worka.skill";
  public static final String UPSTREAM = "worka.skill.upstream";
  public static final String DELIVERY = "worka.delivery";

  /** Attributes of every span of a run. */
  public static final AttributeKey<String> RUN_ID = AttributeKey.stringKey("worka.run_id");

  public static final AttributeKey<String> STEP_ID = AttributeKey.stringKey("worka.step_id");
  public static final AttributeKey<String> AGENT = AttributeKey.stringKey("worka.agent");
  public static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("worka.attempt");
  public static final AttributeKey<String> RUNTIME = AttributeKey.stringKey("worka.runtime");

  /** Content attributes: cleaned, and absent with {@code WORKA_TRACE_CONTENT=off}. */
  public static final AttributeKey<String> INPUT =
      AttributeKey.stringKey("langfuse.observation.input");

  public static final AttributeKey<String> OUTPUT =
      AttributeKey.stringKey("langfuse.observation.output");

  private final Optional<OpenTelemetrySdk> sdk;
  private final Tracer tracer;
  private final boolean content;
  private final UnaryOperator<String> clean;
  private final Optional<TracingSettings.Langfuse> langfuse;
  private final Metrics metrics;

  private Tracing(
      Optional<OpenTelemetrySdk> sdk,
      OpenTelemetry otel,
      boolean content,
      UnaryOperator<String> clean,
      Optional<TracingSettings.Langfuse> langfuse,
      Metrics metrics) {
    this.metrics = metrics;
    this.sdk = sdk;
    this.tracer = otel.getTracer("dev.worka.gateway");
    this.content = content;
    this.clean = clean;
    this.langfuse = langfuse;
  }

  /** No tracing: a no-op tracer (tests that build services by hand). */
  public static Tracing off() {
    return new Tracing(
        Optional.empty(), OpenTelemetry.noop(), false, s -> s, Optional.empty(), Metrics.off());
  }

  /**
   * The Gateway's metrics, recorded where the events of runs happen (they travel with the tracer,
   * which every such place already holds).
   */
  public Metrics metrics() {
    return metrics;
  }

  /**
   * The tracer {@code settings} ask for; {@code clean} cleans content before it goes into a span
   * (the Gateway's output cleaner: its secrets, token formats, invisible characters).
   *
   * @throws IllegalArgumentException when the SDK refuses an {@code OTEL_*} setting (the message
   *     names it)
   */
  public static Tracing start(TracingSettings settings, UnaryOperator<String> clean) {
    return start(settings, clean, Metrics.off());
  }

  /**
   * As {@link #start(TracingSettings, UnaryOperator)}, carrying the Gateway's {@code metrics}
   * (closed by their owner, not here).
   */
  public static Tracing start(
      TracingSettings settings, UnaryOperator<String> clean, Metrics metrics) {
    if (!settings.exporting()) {
      return new Tracing(
          Optional.empty(), OpenTelemetry.noop(), false, clean, settings.langfuse(), metrics);
    }
    Map<String, String> properties = new HashMap<>();
    settings
        .otel()
        .forEach((k, v) -> properties.put(k.toLowerCase(Locale.ROOT).replace('_', '.'), v));
    properties.putIfAbsent("otel.service.name", "worka-gateway");
    properties.put("otel.traces.exporter", "otlp");
    properties.put("otel.exporter.otlp.traces.protocol", "http/protobuf");
    properties.put("otel.metrics.exporter", "none");
    properties.put("otel.logs.exporter", "none");
    settings
        .langfuse()
        .ifPresent(l -> properties.put("otel.exporter.otlp.traces.endpoint", l.tracesEndpoint()));
    Map<String, String> decided = Map.copyOf(properties);
    SpanIds ids = new SpanIds();
    try {
      OpenTelemetrySdk sdk =
          AutoConfiguredOpenTelemetrySdk.builder()
              .addPropertiesSupplier(() -> decided)
              // The Gateway's environment map wins over the JVM's own environment and properties.
              .addPropertiesCustomizer(config -> decided)
              .addTracerProviderCustomizer((b, config) -> b.setIdGenerator(ids))
              .addSpanExporterCustomizer(
                  (exporter, config) -> {
                    if (settings.langfuse().isPresent()
                        && exporter instanceof OtlpHttpSpanExporter otlp) {
                      OtlpHttpSpanExporter withAuth =
                          otlp.toBuilder()
                              .addHeader("Authorization", settings.langfuse().get().authorization())
                              .addHeader("x-langfuse-ingestion-version", "4")
                              .build();
                      otlp.shutdown(); // built by autoconfigure without the header; never used
                      return withAuth;
                    }
                    return exporter;
                  })
              .disableShutdownHook()
              .build()
              .getOpenTelemetrySdk();
      log.info(
          "tracing: exporting spans over OTLP/HTTP to {} as service {} (content in spans: {})",
          settings.langfuse().isPresent()
              ? "Langfuse at " + settings.langfuse().get().host()
              : endpointShown(decided),
          decided.get("otel.service.name"),
          settings.content() ? "cleaned" : "off");
      return new Tracing(
          Optional.of(sdk), sdk, settings.content(), clean, settings.langfuse(), metrics);
    } catch (ConfigurationException e) {
      throw new IllegalArgumentException(
          "an OTEL_* setting was refused by OpenTelemetry: " + e.getMessage(), e);
    }
  }

  private static String endpointShown(Map<String, String> p) {
    String url =
        p.getOrDefault(
            "otel.exporter.otlp.traces.endpoint",
            p.getOrDefault("otel.exporter.otlp.endpoint", "http://localhost:4318")
                + " (+/v1/traces)");
    return url.replaceAll("[?#].*", "");
  }

  /** Whether spans are exported. */
  public boolean exporting() {
    return sdk.isPresent();
  }

  /**
   * Where a person sees trace {@code traceId}: Langfuse's page, when spans are exported to
   * Langfuse.
   */
  public Optional<String> traceLink(String traceId) {
    return exporting() && RunIds.valid(traceId)
        ? langfuse.map(l -> l.traceLink(traceId))
        : Optional.empty();
  }

  /**
   * The ingress span of a request that created (or found) run {@code runId}, already answered:
   * started at {@code start}, a child of the caller's {@code traceparent} when it names the run's
   * trace, else the trace's root. The first request of a run gets the derived id its run span names
   * as parent; a repeat gets a random one.
   */
  public void ingress(
      String route,
      String source,
      Instant start,
      String callerTraceparent,
      String traceId,
      UUID runId,
      boolean firstRequest) {
    Context parent = Context.root();
    Optional<SpanContext> caller = caller(callerTraceparent);
    if (caller.isPresent() && caller.get().getTraceId().equals(traceId)) {
      parent = parent.with(Span.wrap(caller.get()));
    }
    SpanBuilder b =
        tracer
            .spanBuilder(INGRESS)
            .setParent(parent)
            .setSpanKind(SpanKind.SERVER)
            .setAttribute("http.route", route)
            .setAttribute("worka.source", source)
            .setAttribute(RUN_ID, runId.toString())
            .setAttribute("worka.replayed", !firstRequest);
    if (start != null) {
      b.setStartTimestamp(start);
    }
    Span span = SpanIds.next(traceId, firstRequest ? SpanIds.ingress(runId) : null, b::startSpan);
    span.end();
  }

  /**
   * The run's span, written when the run ended (by whichever Gateway ended it): from {@code
   * createdAt} to now, the child of its first request's ingress span.
   */
  public void runEnded(
      String traceId,
      UUID runId,
      String source,
      Instant createdAt,
      String status,
      String text,
      String error) {
    if (!RunIds.valid(traceId)) {
      return;
    }
    SpanBuilder b =
        tracer
            .spanBuilder(RUN)
            .setParent(remote(traceId, SpanIds.ingress(runId)))
            .setStartTimestamp(createdAt)
            .setAttribute(RUN_ID, runId.toString())
            .setAttribute("worka.source", source)
            .setAttribute("worka.run.status", status)
            .setAttribute("langfuse.trace.name", "worka run (" + source + ")");
    Span span = SpanIds.next(traceId, SpanIds.run(runId), b::startSpan);
    content(span, INPUT, text);
    if (error != null) {
      span.setAttribute("worka.run.error", cleaned(error));
    }
    span.end();
  }

  /** A step attempt's span (ended by the caller), the parent of everything its worker does. */
  public Span attempt(
      String traceId, UUID runId, UUID stepId, int attempt, String agent, String runtime) {
    SpanBuilder b =
        tracer
            .spanBuilder(STEP)
            .setParent(remote(traceId, SpanIds.run(runId)))
            .setSpanKind(SpanKind.INTERNAL)
            .setAttribute(RUN_ID, runId.toString())
            .setAttribute(STEP_ID, stepId.toString())
            .setAttribute(AGENT, agent)
            .setAttribute(ATTEMPT, (long) attempt)
            .setAttribute(RUNTIME, runtime)
            .setAttribute("langfuse.observation.type", "agent");
    return SpanIds.next(
        RunIds.valid(traceId) ? traceId : null, SpanIds.attempt(stepId, attempt), b::startSpan);
  }

  /**
   * A recorded gate as a short span: under the current span when it is of the same trace (a skill
   * call), else under its step attempt, else its run, else the current span (an ingress refusal).
   */
  public void gate(
      String traceId,
      UUID runId,
      UUID stepId,
      Integer attempt,
      String action,
      String decision,
      String reason,
      UUID gateId,
      long chainSeq,
      String subject,
      String skill) {
    Context parent = parentOf(traceId, runId, stepId, attempt);
    SpanBuilder b =
        tracer
            .spanBuilder(GATE)
            .setParent(parent)
            .setAttribute("worka.gate.action", action)
            .setAttribute("worka.gate.decision", decision)
            .setAttribute("worka.gate.reason", truncate(cleaned(reason)))
            .setAttribute("worka.gate.id", gateId.toString())
            .setAttribute("worka.gate.chain_seq", chainSeq)
            .setAttribute("worka.gate.subject", subject)
            .setAttribute("langfuse.observation.type", "guardrail");
    if (runId != null) {
      b.setAttribute(RUN_ID, runId.toString());
    }
    if (stepId != null) {
      b.setAttribute(STEP_ID, stepId.toString());
    }
    if (attempt != null) {
      b.setAttribute(ATTEMPT, attempt.longValue());
    }
    if (skill != null) {
      b.setAttribute("worka.skill", skill);
    }
    b.startSpan().end();
  }

  /** A skill call of a step attempt (ended by the caller; make it current around the upstream). */
  public Span skill(
      String traceId, UUID runId, UUID stepId, int attempt, String agent, String skill) {
    return tracer
        .spanBuilder(SKILL)
        .setParent(remote(traceId, SpanIds.attempt(stepId, attempt)))
        .setAttribute(RUN_ID, runId.toString())
        .setAttribute(STEP_ID, stepId.toString())
        .setAttribute(AGENT, agent)
        .setAttribute(ATTEMPT, (long) attempt)
        .setAttribute("worka.skill", skill)
        .setAttribute("langfuse.observation.type", "tool")
        .startSpan();
  }

  /** The upstream call of the current skill call (ended by the caller). */
  public Span upstream(String skill) {
    return tracer
        .spanBuilder(UPSTREAM)
        .setSpanKind(SpanKind.CLIENT)
        .setAttribute("worka.skill", skill)
        .startSpan();
  }

  /**
   * A model call of a step attempt, by OpenTelemetry's GenAI conventions (span {@code chat
   * <model>}, {@code gen_ai.*}) with the attribute Langfuse reads to show it as a generation. Ended
   * by the caller, after {@link #usage}.
   */
  public Span model(
      String traceId,
      UUID runId,
      UUID stepId,
      int attempt,
      String agent,
      String provider,
      String model) {
    return tracer
        .spanBuilder("chat " + model)
        .setParent(remote(traceId, SpanIds.attempt(stepId, attempt)))
        .setSpanKind(SpanKind.CLIENT)
        .setAttribute("gen_ai.operation.name", "chat")
        .setAttribute("gen_ai.provider.name", provider)
        .setAttribute("gen_ai.system", provider)
        .setAttribute("gen_ai.request.model", model)
        .setAttribute("langfuse.observation.type", "generation")
        .setAttribute(RUN_ID, runId.toString())
        .setAttribute(STEP_ID, stepId.toString())
        .setAttribute(AGENT, agent)
        .setAttribute(ATTEMPT, (long) attempt)
        .startSpan();
  }

  /** A model call's token usage. */
  public static void usage(Span span, String responseModel, long inputTokens, long outputTokens) {
    if (responseModel != null) {
      span.setAttribute("gen_ai.response.model", responseModel);
    }
    span.setAttribute("gen_ai.usage.input_tokens", inputTokens);
    span.setAttribute("gen_ai.usage.output_tokens", outputTokens);
  }

  /** The delivery of a run's answer (ended by the caller). */
  public Span delivery(String traceId, UUID runId, String channel) {
    return tracer
        .spanBuilder(DELIVERY)
        .setParent(remote(traceId, SpanIds.run(runId)))
        .setSpanKind(SpanKind.CLIENT)
        .setAttribute(RUN_ID, runId.toString())
        .setAttribute("worka.delivery.channel", channel)
        .startSpan();
  }

  /**
   * Puts {@code value} on {@code span} as {@code key}, cleaned and truncated; nothing with {@code
   * WORKA_TRACE_CONTENT=off} or when the span is not recorded.
   */
  public void content(Span span, AttributeKey<String> key, String value) {
    if (content && value != null && span.isRecording()) {
      span.setAttribute(key, truncate(cleaned(value)));
    }
  }

  /**
   * Sets the run's ids on this thread's log lines ({@code trace_id}, {@code run_id}) until the
   * returned scope is closed.
   */
  public static LogScope logScope(String traceId, UUID runId) {
    String oldTrace = MDC.get("trace_id");
    String oldRun = MDC.get("run_id");
    if (traceId != null) {
      MDC.put("trace_id", traceId);
    }
    if (runId != null) {
      MDC.put("run_id", runId.toString());
    }
    return () -> {
      restore("trace_id", oldTrace);
      restore("run_id", oldRun);
    };
  }

  /**
   * Sets the run's ids on this thread's log lines for the rest of an HTTP request (the HTTP server
   * removes them when it has answered).
   */
  public static void putLogIds(String traceId, UUID runId) {
    if (traceId != null) {
      MDC.put("trace_id", traceId);
    }
    if (runId != null) {
      MDC.put("run_id", runId.toString());
    }
  }

  /** A scope of {@link #logScope} (closing it throws nothing). */
  @FunctionalInterface
  public interface LogScope extends AutoCloseable {
    @Override
    void close();
  }

  private static void restore(String key, String old) {
    if (old == null) {
      MDC.remove(key);
    } else {
      MDC.put(key, old);
    }
  }

  private String cleaned(String s) {
    return s == null ? null : clean.apply(s);
  }

  /** The Gateway's tracer (for {@link WorkerSpans}). */
  Tracer tracer() {
    return tracer;
  }

  /** Whether content goes into spans ({@code WORKA_TRACE_CONTENT} not {@code off}). */
  boolean content() {
    return content;
  }

  /** {@code s} cleaned as content is ({@link WorkerSpans}). */
  String clean(String s) {
    return clean.apply(s);
  }

  private static String truncate(String s) {
    return s == null || s.length() <= MAX_CONTENT ? s : s.substring(0, MAX_CONTENT) + "…";
  }

  private Context parentOf(String traceId, UUID runId, UUID stepId, Integer attempt) {
    Span current = Span.current();
    if (current.getSpanContext().isValid()
        && (traceId == null || current.getSpanContext().getTraceId().equals(traceId))) {
      return Context.current();
    }
    if (RunIds.valid(traceId) && stepId != null && attempt != null) {
      return remote(traceId, SpanIds.attempt(stepId, attempt));
    }
    if (RunIds.valid(traceId) && runId != null) {
      return remote(traceId, SpanIds.run(runId));
    }
    return Context.current();
  }

  /**
   * A context whose parent is span {@code spanId} of trace {@code traceId}, from another thread.
   */
  static Context remote(String traceId, String spanId) {
    if (!RunIds.valid(traceId)) {
      return Context.root();
    }
    return Context.root()
        .with(
            Span.wrap(
                SpanContext.createFromRemoteParent(
                    traceId, spanId, TraceFlags.getSampled(), TraceState.getDefault())));
  }

  /** The trace id of a W3C {@code traceparent} header, when it is one. */
  public static Optional<String> traceIdOf(String traceparent) {
    return caller(traceparent).map(SpanContext::getTraceId);
  }

  private static Optional<SpanContext> caller(String traceparent) {
    if (traceparent == null) {
      return Optional.empty();
    }
    Matcher m = TRACEPARENT.matcher(traceparent.strip());
    if (!m.matches()) {
      return Optional.empty();
    }
    SpanContext c =
        SpanContext.createFromRemoteParent(
            m.group(1), m.group(2), TraceFlags.getSampled(), TraceState.getDefault());
    return c.isValid() ? Optional.of(c) : Optional.empty();
  }

  /** Exports what is buffered and stops the exporter (waits up to 5 s). */
  @Override
  public void close() {
    sdk.ifPresent(
        s -> {
          CompletableResultCode flushed = s.getSdkTracerProvider().forceFlush();
          flushed.join(5, TimeUnit.SECONDS);
          s.shutdown().join(5, TimeUnit.SECONDS);
        });
  }

  /** W3C trace ids. */
  static final class RunIds {
    private RunIds() {}

    static boolean valid(String traceId) {
      return traceId != null
          && traceId.matches("[0-9a-f]{32}")
          && !traceId.equals("00000000000000000000000000000000");
    }
  }
}
