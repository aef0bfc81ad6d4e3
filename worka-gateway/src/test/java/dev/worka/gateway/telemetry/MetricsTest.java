package dev.worka.gateway.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** The metrics facade: its label guard, its Prometheus text, its OTLP push, its settings. */
class MetricsTest {
  @Test
  void aLabelValueIsAShortNameOrOtherNeverAnIdOrText() {
    assertEquals("github.create_issue", Metrics.label("github.create_issue"));
    assertEquals("plan.submit", Metrics.label("plan.submit"));
    assertEquals("none", Metrics.label(null));
    assertEquals("other", Metrics.label(UUID.randomUUID().toString()));
    assertEquals("other", Metrics.label("4bf92f3577b34da6a3ce929d0e0e4736"));
    assertEquals("other", Metrics.label("open an issue in acme/widgets"));
    assertEquals("other", Metrics.label("x".repeat(65)));
    assertEquals("other", Metrics.label("skill\"} 1\nworka_runs_total{x=\"y"));

    try (Metrics m = Metrics.start(TracingSettings.off())) {
      String run = UUID.randomUUID().toString();
      m.skillCall("github.create_issue" + run, "performed");
      m.gate("plan.submit", "deny");
      m.runEnded("api", "succeeded", Duration.ofMillis(1500));
      String text = m.scrape();
      assertFalse(text.contains(run), text);
      assertTrue(
          text.contains("worka_skill_calls_total{outcome=\"performed\",skill=\"other\"} 1"), text);
      assertTrue(
          text.contains("worka_gates_total{action=\"plan.submit\",decision=\"deny\"} 1"), text);
      assertTrue(
          text.contains(
              "worka_run_duration_seconds_bucket{source=\"api\",status=\"succeeded\",le=\"2.5\"} 1"),
          text);
      assertTrue(text.contains("# TYPE worka_runs_total counter"), text);
      assertFalse(text.contains("otel_scope"), "no scope labels: " + text);
      assertFalse(text.contains("target_info"), text);
    }
  }

  @Test
  void otlpPushesTheSameInstrumentsWhenAskedToAndRefusesWhatItCannotDo() throws Exception {
    List<ExportMetricsServiceRequest> received = new CopyOnWriteArrayList<>();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/v1/metrics",
        ex -> {
          try (InputStream in =
              "gzip".equals(ex.getRequestHeaders().getFirst("Content-Encoding"))
                  ? new GZIPInputStream(ex.getRequestBody())
                  : ex.getRequestBody()) {
            received.add(ExportMetricsServiceRequest.parseFrom(in));
          }
          ex.sendResponseHeaders(200, -1);
          ex.close();
        });
    server.start();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort();
      TracingSettings settings =
          TracingSettings.read(
              Map.of(
                  "OTEL_METRICS_EXPORTER",
                  "otlp",
                  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                  url + "/v1/metrics",
                  "OTEL_SERVICE_NAME",
                  "worka-metrics-test"),
              new ArrayList<>());
      assertFalse(settings.exporting(), "no traces: only metrics were asked for");
      try (Metrics m = Metrics.start(settings)) {
        m.gate("skill.invoke", "allow");
        m.modelTokens("hari", 400, 120);
        assertTrue(m.scrape().contains("worka_gates_total"), "GET /metrics still serves");
      } // closing pushes what was recorded
      List<String> names = new ArrayList<>();
      Optional<String> service = Optional.empty();
      for (ExportMetricsServiceRequest r : received) {
        for (ResourceMetrics rm : r.getResourceMetricsList()) {
          for (var a : rm.getResource().getAttributesList()) {
            if (a.getKey().equals("service.name")) {
              service = Optional.of(a.getValue().getStringValue());
            }
          }
          for (ScopeMetrics sm : rm.getScopeMetricsList()) {
            sm.getMetricsList().stream().map(Metric::getName).forEach(names::add);
          }
        }
      }
      assertTrue(names.contains("worka.gates"), names.toString());
      assertTrue(names.contains("worka.model.tokens"), names.toString());
      assertEquals(Optional.of("worka-metrics-test"), service);
    } finally {
      server.stop(0);
    }

    IllegalArgumentException noEndpoint =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Metrics.start(
                    TracingSettings.read(
                        Map.of("OTEL_METRICS_EXPORTER", "otlp"), new ArrayList<>())));
    assertTrue(
        noEndpoint.getMessage().contains("OTEL_EXPORTER_OTLP_ENDPOINT"), noEndpoint.getMessage());
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Metrics.start(
                    TracingSettings.read(
                        Map.of("OTEL_METRICS_EXPORTER", "logging"), new ArrayList<>())));
    assertTrue(
        unknown.getMessage().contains("OTEL_METRICS_EXPORTER=logging"), unknown.getMessage());
  }
}
