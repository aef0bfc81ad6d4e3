package dev.worka.gateway;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

/**
 * A local OTLP/HTTP trace receiver for tests: decodes each {@code ExportTraceServiceRequest}
 * (protobuf) posted to {@code /v1/traces} (a collector) or {@code /api/public/otel/v1/traces}
 * (Langfuse's path), and keeps its spans and the {@code Authorization} header it came with. The
 * Gateway reaches it through its real exporter, configured only by URL.
 */
public final class OtlpReceiver implements AutoCloseable {
  /**
   * A received span, flattened: ids in hex, attributes as strings, each event as its name followed
   * by its attributes' {@code key=value}.
   */
  public record ReceivedSpan(
      String path,
      String serviceName,
      String traceId,
      String spanId,
      String parentSpanId,
      String name,
      String kind,
      Map<String, String> attributes,
      List<String> events) {}

  private final HttpServer server;
  private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();
  private final List<String> authorizations = new CopyOnWriteArrayList<>();

  public OtlpReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/v1/traces", this::exportOrFail);
    server.createContext("/api/public/otel/v1/traces", this::exportOrFail);
    server.start();
  }

  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public List<ReceivedSpan> spans() {
    return List.copyOf(spans);
  }

  public List<ReceivedSpan> spansOf(String traceId) {
    return spans.stream().filter(s -> s.traceId().equals(traceId)).toList();
  }

  public List<String> authorizations() {
    return List.copyOf(authorizations);
  }

  /** Failures of the receiver itself, which the exporter would only see as a dropped answer. */
  public final List<Throwable> failures = new CopyOnWriteArrayList<>();

  private void exportOrFail(HttpExchange x) throws IOException {
    try {
      export(x);
    } catch (IOException | RuntimeException | Error e) {
      failures.add(e);
      throw e;
    }
  }

  private void export(HttpExchange x) throws IOException {
    try (x) {
      if (!x.getRequestMethod().equals("POST")
          || !x.getRequestHeaders().getFirst("Content-Type").startsWith("application/x-protobuf")) {
        x.sendResponseHeaders(415, -1);
        return;
      }
      String auth = x.getRequestHeaders().getFirst("Authorization");
      authorizations.add(auth == null ? "" : auth);
      InputStream body = x.getRequestBody();
      if ("gzip".equals(x.getRequestHeaders().getFirst("Content-Encoding"))) {
        body = new GZIPInputStream(body);
      }
      ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(body.readAllBytes());
      String path = x.getRequestURI().getPath();
      for (ResourceSpans rs : request.getResourceSpansList()) {
        String service = "";
        for (KeyValue kv : rs.getResource().getAttributesList()) {
          if (kv.getKey().equals("service.name")) {
            service = kv.getValue().getStringValue();
          }
        }
        for (ScopeSpans ss : rs.getScopeSpansList()) {
          for (io.opentelemetry.proto.trace.v1.Span s : ss.getSpansList()) {
            Map<String, String> attributes = new LinkedHashMap<>();
            for (KeyValue kv : s.getAttributesList()) {
              attributes.put(kv.getKey(), text(kv.getValue()));
            }
            List<String> events = new ArrayList<>();
            for (io.opentelemetry.proto.trace.v1.Span.Event e : s.getEventsList()) {
              StringBuilder event = new StringBuilder(e.getName());
              for (KeyValue kv : e.getAttributesList()) {
                event.append(' ').append(kv.getKey()).append('=').append(text(kv.getValue()));
              }
              events.add(event.toString());
            }
            spans.add(
                new ReceivedSpan(
                    path,
                    service,
                    HexFormat.of().formatHex(s.getTraceId().toByteArray()),
                    HexFormat.of().formatHex(s.getSpanId().toByteArray()),
                    HexFormat.of().formatHex(s.getParentSpanId().toByteArray()),
                    s.getName(),
                    s.getKind().name(),
                    attributes,
                    events));
          }
        }
      }
      byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
      x.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      x.sendResponseHeaders(200, answer.length);
      x.getResponseBody().write(answer);
    }
  }

  private static String text(AnyValue v) {
    return switch (v.getValueCase()) {
      case STRING_VALUE -> v.getStringValue();
      case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
      case INT_VALUE -> Long.toString(v.getIntValue());
      case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
      default -> v.toString();
    };
  }

  /** Every attribute value of every span, for scanning. */
  public static List<String> allValues(List<ReceivedSpan> spans) {
    List<String> values = new ArrayList<>();
    spans.forEach(s -> values.addAll(s.attributes().values()));
    return values;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
