package dev.worka.agents;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.MeterProvider;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Sends a step attempt's noted spans ({@link StepSpans}) to the Gateway's span route, {@code POST
 * /v1/agent/otel/v1/traces}, with the official OpenTelemetry SDK: OTLP/HTTP protobuf through the
 * JDK's HttpClient, the step token as {@code Authorization: Bearer}, the root a child of the
 * attempt's {@code TRACEPARENT}. This class is the only one naming the SDK, and it is loaded only
 * when a step's work is done, so the SDK costs a step's start nothing.
 *
 * <p>It never fails a step: one request, no retry, at most {@link #TIMEOUT}; a failure is one
 * progress line. It runs before the result is posted, since the Gateway refuses the token of an
 * attempt whose result it has accepted.
 */
final class SpanExport {
  /** Longest an export may hold the step's end. */
  static final Duration TIMEOUT = Duration.ofSeconds(2);

  static final String PATH = "/v1/agent/otel/v1/traces";

  /**
   * The SDK's own loggers, silenced while this JVM lives: a failed export is reported once, by
   * {@link #send}, never with the SDK's warnings (which could quote the Gateway's answer at
   * length).
   */
  private static final Logger SDK_LOGS = Logger.getLogger("io.opentelemetry");

  private SpanExport() {}

  /**
   * Exports {@code spans} under {@code traceparent} (sampled W3C trace context; nothing is sent
   * otherwise) to the Gateway at {@code gateway}; false, after one line to {@code log}, when they
   * were not accepted.
   */
  static boolean send(
      List<StepSpans.Noted> spans,
      URI gateway,
      String token,
      String traceparent,
      Duration timeout,
      ProgressLog log) {
    SpanContext parent = parentOf(traceparent);
    if (parent == null || spans.isEmpty()) {
      return false;
    }
    SDK_LOGS.setLevel(Level.OFF);
    List<SpanData> ended = new CopyOnWriteArrayList<>();
    OtlpHttpSpanExporter exporter = null;
    try (SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(
                Resource.create(
                    Attributes.of(AttributeKey.stringKey("service.name"), "worka-agent")))
            .setSampler(Sampler.alwaysOn())
            .addSpanProcessor(new Collect(ended))
            .build()) {
      Tracer tracer = provider.get("dev.worka.agents");
      List<Span> started = new ArrayList<>();
      for (StepSpans.Noted n : spans) {
        Context context =
            n.parent() < 0
                ? Context.root().with(Span.wrap(parent))
                : Context.root().with(started.get(n.parent()));
        SpanBuilder b =
            tracer
                .spanBuilder(n.name())
                .setParent(context)
                .setSpanKind(n.parent() < 0 ? SpanKind.INTERNAL : SpanKind.CLIENT)
                .setStartTimestamp(n.startNanos(), TimeUnit.NANOSECONDS);
        for (Map.Entry<String, Object> a : n.attributes().entrySet()) {
          if (a.getValue() instanceof Long number) {
            b.setAttribute(a.getKey(), number);
          } else {
            b.setAttribute(a.getKey(), String.valueOf(a.getValue()));
          }
        }
        Span span = b.startSpan();
        span.setStatus(
            n.error() == null ? StatusCode.OK : StatusCode.ERROR,
            n.error() == null ? "" : n.error());
        started.add(span);
      }
      for (int i = started.size() - 1; i >= 0; i--) {
        started.get(i).end(spans.get(i).endNanos(), TimeUnit.NANOSECONDS);
      }
      exporter =
          OtlpHttpSpanExporter.builder()
              .setEndpoint(gateway.toString().replaceAll("/+$", "") + PATH)
              .addHeader("Authorization", "Bearer " + token)
              .setTimeout(timeout)
              .setConnectTimeout(timeout)
              .setRetryPolicy(null)
              .setMeterProvider(MeterProvider::noop)
              .build();
      CompletableResultCode result =
          exporter.export(List.copyOf(ended)).join(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (result.isSuccess()) {
        return true;
      }
      log.line(
          "spans not exported (the step goes on): "
              + (result.isDone()
                  ? describe(result.getFailureThrowable())
                  : "no answer in " + timeout));
      return false;
    } catch (RuntimeException | LinkageError e) {
      log.line("spans not exported (the step goes on): " + describe(e));
      return false;
    } finally {
      if (exporter != null) {
        exporter.shutdown();
      }
    }
  }

  /**
   * The remote parent {@code traceparent} names when it is sampled W3C trace context; else null.
   */
  static SpanContext parentOf(String traceparent) {
    if (!StepSpans.sampled(traceparent)) {
      return null;
    }
    SpanContext context =
        SpanContext.createFromRemoteParent(
            traceparent.substring(3, 35),
            traceparent.substring(36, 52),
            TraceFlags.getSampled(),
            TraceState.getDefault());
    return context.isValid() ? context : null;
  }

  private static String describe(Throwable e) {
    if (e == null) {
      return "the Gateway did not accept them";
    }
    String message = e.getMessage();
    return message == null || message.isBlank()
        ? e.getClass().getSimpleName()
        : message.length() > 300 ? message.substring(0, 300) + "…" : message;
  }

  /** Keeps each ended span, for one export. */
  private record Collect(List<SpanData> ended) implements SpanProcessor {
    @Override
    public void onStart(Context parentContext, ReadWriteSpan span) {}

    @Override
    public boolean isStartRequired() {
      return false;
    }

    @Override
    public void onEnd(ReadableSpan span) {
      ended.add(span.toSpanData());
    }

    @Override
    public boolean isEndRequired() {
      return true;
    }
  }
}
