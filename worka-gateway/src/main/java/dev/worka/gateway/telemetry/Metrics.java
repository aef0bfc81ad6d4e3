package dev.worka.gateway.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableDoubleMeasurement;
import io.opentelemetry.api.metrics.ObservableLongMeasurement;
import io.opentelemetry.exporter.prometheus.PrometheusMetricReader;
import io.opentelemetry.exporter.prometheus.TranslationStrategy;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Gateway's metrics (docs/observability.md, "Metrics"): OpenTelemetry instruments of this
 * process, read on {@code GET /metrics} through the SDK's Prometheus reader (written in Prometheus
 * text by the Prometheus client's writer), and pushed over OTLP/HTTP too when {@code
 * OTEL_METRICS_EXPORTER=otlp}.
 *
 * <p>Each method records one kind of event where it happens. Labels are low-cardinality by
 * construction: callers pass names from closed sets (statuses, sources, runtimes, gate actions) or
 * from the operator's policy and catalog (agents, skills; an unknown skill is {@code unknown}), and
 * every label value is checked here once more: anything that is not a short name becomes {@code
 * other}, so no run id, request text or worker-chosen string becomes a series.
 */
public final class Metrics implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Metrics.class);
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");
  private static final Pattern ID =
      Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-|[0-9a-fA-F]{16}");

  /** Runtimes, failure kinds, delivery channels, kinds and outcomes: series that start at 0. */
  private static final List<String> RUNTIMES = List.of("process", "wasm", "kubernetes");

  private static final List<String> WORKER_FAILURES =
      List.of("failed_to_start", "exited", "timed_out", "stopped", "limit_reached");
  private static final List<String> CHANNELS = List.of("github", "slack");
  private static final List<String> DELIVERY_KINDS = List.of("ack", "result");
  private static final List<String> DELIVERY_OUTCOMES =
      List.of("sent", "refused", "retrying", "failed");

  /** Seconds, from 50 ms to an hour: a skill call, a model call, a step, a whole run. */
  private static final List<Double> SECONDS =
      List.of(
          0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
          3600.0);

  private static final AttributeKey<String> SOURCE = AttributeKey.stringKey("source");
  private static final AttributeKey<String> STATUS = AttributeKey.stringKey("status");
  private static final AttributeKey<String> AGENT = AttributeKey.stringKey("agent");
  private static final AttributeKey<String> RUNTIME = AttributeKey.stringKey("runtime");
  private static final AttributeKey<String> REASON = AttributeKey.stringKey("reason");
  private static final AttributeKey<String> ACTION = AttributeKey.stringKey("action");
  private static final AttributeKey<String> DECISION = AttributeKey.stringKey("decision");
  private static final AttributeKey<String> SKILL = AttributeKey.stringKey("skill");
  private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outcome");
  private static final AttributeKey<String> TYPE = AttributeKey.stringKey("type");
  private static final AttributeKey<String> CHANNEL = AttributeKey.stringKey("channel");
  private static final AttributeKey<String> KIND = AttributeKey.stringKey("kind");
  private static final AttributeKey<String> STATE = AttributeKey.stringKey("state");

  /** What the queue holds now (read from the tasks table when the metrics are collected). */
  public record Queue(long ready, long scheduled, long claimed, Duration lag) {}

  private final SdkMeterProvider provider;
  private final Optional<OpenTelemetrySdk> sdk;
  private final Optional<PrometheusMetricReader> prometheus;
  private final Meter meter;
  private final List<AutoCloseable> observers = new CopyOnWriteArrayList<>();

  private final LongCounter runs;
  private final DoubleHistogram runDuration;
  private final DoubleHistogram stepDuration;
  private final LongCounter workerStarts;
  private final LongCounter workerFailures;
  private final LongCounter gates;
  private final LongCounter skillCalls;
  private final LongCounter modelTokens;
  private final LongCounter deliveries;

  private Metrics(
      SdkMeterProvider provider,
      Optional<OpenTelemetrySdk> sdk,
      Optional<PrometheusMetricReader> prometheus) {
    this.provider = provider;
    this.sdk = sdk;
    this.prometheus = prometheus;
    this.meter = provider.get("dev.worka.gateway");
    runs =
        meter
            .counterBuilder("worka.runs")
            .setUnit("{run}")
            .setDescription("Runs that ended, by source and terminal status.")
            .build();
    runDuration =
        meter
            .histogramBuilder("worka.run.duration")
            .setUnit("s")
            .setDescription("Runs from creation to their terminal status, by source and status.")
            .setExplicitBucketBoundariesAdvice(SECONDS)
            .build();
    stepDuration =
        meter
            .histogramBuilder("worka.step.duration")
            .setUnit("s")
            .setDescription(
                "Step attempts from their start to their end, by agent, runtime and the step's"
                    + " status after the attempt.")
            .setExplicitBucketBoundariesAdvice(SECONDS)
            .build();
    workerStarts =
        meter
            .counterBuilder("worka.worker.starts")
            .setUnit("{worker}")
            .setDescription("Workers this Gateway started, by runtime.")
            .build();
    workerFailures =
        meter
            .counterBuilder("worka.worker.failures")
            .setUnit("{worker}")
            .setDescription(
                "Attempts whose worker ended without a result, by runtime and reason"
                    + " (failed_to_start, exited, timed_out, stopped, limit_reached).")
            .build();
    gates =
        meter
            .counterBuilder("worka.gates")
            .setUnit("{gate}")
            .setDescription("Gate decisions recorded, by action and decision (allow, deny).")
            .build();
    skillCalls =
        meter
            .counterBuilder("worka.skill.calls")
            .setUnit("{call}")
            .setDescription(
                "Skill calls answered, by skill and outcome (performed, replayed, denied, ...).")
            .build();
    modelTokens =
        meter
            .counterBuilder("worka.model.tokens")
            .setUnit("{token}")
            .setDescription("Model tokens used through the Gateway, by agent and type.")
            .build();
    deliveries =
        meter
            .counterBuilder("worka.deliveries")
            .setUnit("{delivery}")
            .setDescription(
                "Sendings of an acknowledgement or result, by channel, kind and outcome (sent,"
                    + " refused, retrying, failed).")
            .build();
    for (String runtime : RUNTIMES) {
      workerStarts.add(0, Attributes.of(RUNTIME, runtime));
      for (String reason : WORKER_FAILURES) {
        workerFailures.add(0, Attributes.of(RUNTIME, runtime, REASON, reason));
      }
    }
    for (String channel : CHANNELS) {
      for (String kind : DELIVERY_KINDS) {
        for (String outcome : DELIVERY_OUTCOMES) {
          deliveries.add(0, Attributes.of(CHANNEL, channel, KIND, kind, OUTCOME, outcome));
        }
      }
    }
  }

  /** Metrics recorded nowhere (tests that build services by hand): {@link #scrape()} is empty. */
  public static Metrics off() {
    return OFF;
  }

  private static final Metrics OFF =
      new Metrics(SdkMeterProvider.builder().build(), Optional.empty(), Optional.empty());

  /**
   * The Gateway's metrics: always read by {@code GET /metrics}; also exported over OTLP/HTTP when
   * {@code settings} say {@code OTEL_METRICS_EXPORTER=otlp} (with the standard {@code OTEL_*}
   * variables: endpoint, headers, {@code OTEL_METRIC_EXPORT_INTERVAL}, resource, service name).
   *
   * @throws IllegalArgumentException when an {@code OTEL_*} metrics setting is refused (the message
   *     names it)
   */
  public static Metrics start(TracingSettings settings) {
    PrometheusMetricReader reader =
        PrometheusMetricReader.builder()
            .setOtelScopeLabelsEnabled(false)
            .setTargetInfoMetricEnabled(false)
            .setTranslationStrategy(TranslationStrategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES)
            .build();
    Map<String, String> otel = settings.otel();
    List<String> exporters =
        Arrays.stream(otel.getOrDefault("OTEL_METRICS_EXPORTER", "prometheus").split(","))
            .map(s -> s.trim().toLowerCase(Locale.ROOT))
            .filter(s -> !s.isEmpty())
            .toList();
    for (String e : exporters) {
      if (!List.of("prometheus", "otlp", "none").contains(e)) {
        throw new IllegalArgumentException(
            "OTEL_METRICS_EXPORTER="
                + otel.get("OTEL_METRICS_EXPORTER")
                + " is not supported: use otlp (also push over OTLP/HTTP), prometheus or none"
                + " (GET /metrics only, the default)");
      }
    }
    boolean otlp =
        exporters.contains("otlp")
            && !"true".equalsIgnoreCase(otel.getOrDefault("OTEL_SDK_DISABLED", "").trim());
    if (!otlp) {
      return new Metrics(
          SdkMeterProvider.builder().registerMetricReader(reader).build(),
          Optional.empty(),
          Optional.of(reader));
    }
    if (!otel.containsKey("OTEL_EXPORTER_OTLP_ENDPOINT")
        && !otel.containsKey("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")) {
      throw new IllegalArgumentException(
          "OTEL_METRICS_EXPORTER=otlp needs OTEL_EXPORTER_OTLP_ENDPOINT or"
              + " OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (Langfuse takes no metrics)");
    }
    String protocol =
        otel.getOrDefault(
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            otel.getOrDefault("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"));
    if (!protocol.equals("http/protobuf")) {
      throw new IllegalArgumentException(
          "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="
              + protocol
              + " is not supported: the Gateway exports OTLP over http/protobuf");
    }
    Map<String, String> properties = new HashMap<>();
    otel.forEach((k, v) -> properties.put(k.toLowerCase(Locale.ROOT).replace('_', '.'), v));
    properties.putIfAbsent("otel.service.name", "worka-gateway");
    properties.put("otel.metrics.exporter", "otlp");
    properties.put("otel.exporter.otlp.metrics.protocol", "http/protobuf");
    properties.put("otel.traces.exporter", "none");
    properties.put("otel.logs.exporter", "none");
    Map<String, String> decided = Map.copyOf(properties);
    try {
      OpenTelemetrySdk sdk =
          AutoConfiguredOpenTelemetrySdk.builder()
              .addPropertiesSupplier(() -> decided)
              .addPropertiesCustomizer(config -> decided)
              .addMeterProviderCustomizer((b, config) -> b.registerMetricReader(reader))
              .disableShutdownHook()
              .build()
              .getOpenTelemetrySdk();
      log.info("metrics: GET /metrics, and pushed over OTLP/HTTP");
      return new Metrics(sdk.getSdkMeterProvider(), Optional.of(sdk), Optional.of(reader));
    } catch (ConfigurationException e) {
      throw new IllegalArgumentException(
          "an OTEL_* metrics setting was refused by OpenTelemetry: " + e.getMessage(), e);
    }
  }

  /** This process's metrics in Prometheus text format (version 0.0.4). */
  public String scrape() {
    if (prometheus.isEmpty()) {
      return "";
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(out, prometheus.get().collect());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** A run reached terminal {@code status} ({@code took} since it was created). */
  public void runEnded(String source, String status, Duration took) {
    Attributes a = Attributes.of(SOURCE, label(source), STATUS, label(status));
    runs.add(1, a);
    runDuration.record(seconds(took), a);
  }

  /** A step attempt ended, the step's status after it being {@code status}. */
  public void attemptEnded(String agent, String runtime, String status, Duration took) {
    stepDuration.record(
        seconds(took),
        Attributes.of(AGENT, label(agent), RUNTIME, label(runtime), STATUS, label(status)));
  }

  /** A worker was started in {@code runtime}. */
  public void workerStarted(String runtime) {
    workerStarts.add(1, Attributes.of(RUNTIME, label(runtime)));
  }

  /**
   * A worker ended without a result; {@code reason}: {@code failed_to_start}, {@code exited},
   * {@code timed_out}, {@code stopped} or {@code limit_reached}.
   */
  public void workerFailed(String runtime, String reason) {
    workerFailures.add(1, Attributes.of(RUNTIME, label(runtime), REASON, label(reason)));
  }

  /** A gate decision was recorded. */
  public void gate(String action, String decision) {
    gates.add(1, Attributes.of(ACTION, label(action), DECISION, label(decision)));
  }

  /**
   * A skill call was answered; {@code skill} must be a skill of the catalog ({@code unknown} for a
   * name the catalog lacks: a worker chooses it).
   */
  public void skillCall(String skill, String outcome) {
    skillCalls.add(1, Attributes.of(SKILL, label(skill), OUTCOME, label(outcome)));
  }

  /** A model call of {@code agent} used these tokens. */
  public void modelTokens(String agent, long input, long output) {
    modelTokens.add(Math.max(0, input), Attributes.of(AGENT, label(agent), TYPE, "input"));
    modelTokens.add(Math.max(0, output), Attributes.of(AGENT, label(agent), TYPE, "output"));
  }

  /** An acknowledgement or result was sent, refused, will be retried, or failed for good. */
  public void delivery(String channel, String kind, String outcome) {
    deliveries.add(
        1, Attributes.of(CHANNEL, label(channel), KIND, label(kind), OUTCOME, label(outcome)));
  }

  /** Observes {@code running}: the workers this Gateway runs now. */
  public void observeWorkers(LongSupplier running) {
    observers.add(
        meter
            .gaugeBuilder("worka.workers.running")
            .ofLongs()
            .setUnit("{worker}")
            .setDescription("Workers this Gateway runs now.")
            .buildWithCallback(m -> m.record(running.getAsLong())));
  }

  /**
   * Observes the task queue, read by {@code read} once per collection (a scrape): tasks by state
   * and the lag of the oldest task due. A failed read leaves them out of that collection.
   */
  public void observeQueue(Supplier<Queue> read) {
    ObservableLongMeasurement depth =
        meter
            .gaugeBuilder("worka.queue.depth")
            .ofLongs()
            .setUnit("{task}")
            .setDescription(
                "Tasks of the shared queue (all Gateways) by state: ready (due now), scheduled"
                    + " (due later: retries, timers), claimed (being handled).")
            .buildObserver();
    ObservableDoubleMeasurement lag =
        meter
            .gaugeBuilder("worka.queue.lag")
            .setUnit("s")
            .setDescription(
                "How long the oldest due task has waited to be claimed (0 when none waits).")
            .buildObserver();
    observers.add(
        meter.batchCallback(
            () -> {
              Queue q;
              try {
                q = read.get();
              } catch (RuntimeException e) {
                log.debug("metrics: the queue could not be read: {}", e.toString());
                return;
              }
              depth.record(q.ready(), Attributes.of(STATE, "ready"));
              depth.record(q.scheduled(), Attributes.of(STATE, "scheduled"));
              depth.record(q.claimed(), Attributes.of(STATE, "claimed"));
              lag.record(seconds(q.lag()));
            },
            depth,
            lag));
  }

  /**
   * {@code value} when it is a short name, else {@code other}; {@code none} when absent. An id (a
   * UUID, or 16 or more hex digits: a run, step or trace id) is never a name.
   */
  static String label(String value) {
    if (value == null || value.isEmpty()) {
      return "none";
    }
    return NAME.matcher(value).matches() && !ID.matcher(value).find() ? value : "other";
  }

  private static double seconds(Duration d) {
    return d == null || d.isNegative() ? 0 : d.toNanos() / 1e9;
  }

  /** Pushes what OTLP has not sent yet and stops (waits up to 5 s). */
  @Override
  public void close() {
    for (AutoCloseable o : observers) {
      try {
        o.close();
      } catch (Exception e) {
        log.debug("metrics: an observer did not close: {}", e.toString());
      }
    }
    if (sdk.isPresent()) {
      sdk.get().getSdkMeterProvider().forceFlush().join(5, TimeUnit.SECONDS);
      sdk.get().shutdown().join(5, TimeUnit.SECONDS);
    } else if (this != OFF) {
      provider.shutdown().join(5, TimeUnit.SECONDS);
    }
  }
}
