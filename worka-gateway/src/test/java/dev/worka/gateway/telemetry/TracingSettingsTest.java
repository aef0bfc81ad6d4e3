package dev.worka.gateway.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The tracing settings: read once, every mistake named with its variable, no secret shown. */
class TracingSettingsTest {
  private static List<String> problems(Map<String, String> env) {
    List<String> problems = new ArrayList<>();
    TracingSettings.read(env, problems);
    return problems;
  }

  @Test
  void noExporterMeansNoTracing() {
    List<String> problems = new ArrayList<>();
    assertFalse(TracingSettings.read(Map.of(), problems).exporting());
    assertFalse(
        TracingSettings.read(
                Map.of(
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    "http://localhost:4318",
                    "OTEL_TRACES_EXPORTER",
                    "none"),
                problems)
            .exporting());
    assertFalse(
        TracingSettings.read(
                Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_SDK_DISABLED", "true"),
                problems)
            .exporting());
    assertTrue(
        TracingSettings.read(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), problems)
            .exporting());
    assertEquals(List.of(), problems);
    Tracing off = Tracing.start(TracingSettings.read(Map.of(), problems), s -> s);
    assertFalse(off.exporting());
    assertEquals(java.util.Optional.empty(), off.traceLink("4bf92f3577b34da6a3ce929d0e0e4736"));
  }

  @Test
  void eachMistakeIsNamedWithItsVariable() {
    assertTrue(problems(Map.of("OTEL_TRACES_EXPORTER", "zipkin")).get(0).contains("otlp"));
    assertTrue(
        problems(Map.of("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"))
            .get(0)
            .contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"));
    assertTrue(
        problems(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"))
            .get(0)
            .startsWith("OTEL_EXPORTER_OTLP_ENDPOINT"));
    assertTrue(
        problems(Map.of("LANGFUSE_HOST", "https://cloud.langfuse.com"))
            .get(0)
            .contains("LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY"));
    assertTrue(
        problems(
                Map.of(
                    "LANGFUSE_HOST", "https://cloud.langfuse.com",
                    "LANGFUSE_PUBLIC_KEY", "pk-lf-1",
                    "LANGFUSE_SECRET_KEY", "sk-lf-1",
                    "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"))
            .get(0)
            .contains("not both"));
    assertTrue(problems(Map.of("WORKA_TRACE_CONTENT", "maybe")).get(0).contains("on"));
  }

  @Test
  void langfuseIsAnEndpointWithBasicAuthWhoseCredentialsAreSecrets() {
    List<String> problems = new ArrayList<>();
    TracingSettings s =
        TracingSettings.read(
            Map.of(
                "LANGFUSE_HOST", "https://langfuse.example/",
                "LANGFUSE_PUBLIC_KEY", "pk-lf-public",
                "LANGFUSE_SECRET_KEY", "sk-lf-secret-value",
                "OTEL_EXPORTER_OTLP_HEADERS", "x-team=Bearer%20team-token-0123"),
            problems);
    assertEquals(List.of(), problems);
    assertTrue(s.exporting());
    TracingSettings.Langfuse l = s.langfuse().orElseThrow();
    assertEquals("https://langfuse.example/api/public/otel/v1/traces", l.tracesEndpoint());
    assertEquals(
        "Basic "
            + java.util.Base64.getEncoder()
                .encodeToString(
                    "pk-lf-public:sk-lf-secret-value"
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8)),
        l.authorization());
    assertEquals("https://langfuse.example/trace/abc", l.traceLink("abc"));
    assertTrue(s.secrets().contains("sk-lf-secret-value"));
    assertTrue(s.secrets().contains(l.authorization().substring(6)));
    assertTrue(s.secrets().contains("team-token-0123"));
    assertFalse(s.toString().contains("sk-lf-secret-value"), s.toString());
    assertFalse(s.toString().contains("team-token"), s.toString());
  }

  @Test
  void derivedSpanIdsAreStableAndDistinct() {
    UUID run = UUID.fromString("00000000-0000-0000-0000-000000000001");
    assertEquals(SpanIds.run(run), SpanIds.run(run));
    assertTrue(SpanIds.run(run).matches("[0-9a-f]{16}"));
    assertFalse(SpanIds.run(run).equals(SpanIds.ingress(run)));
    assertFalse(SpanIds.attempt(run, 1).equals(SpanIds.attempt(run, 2)));
  }
}
