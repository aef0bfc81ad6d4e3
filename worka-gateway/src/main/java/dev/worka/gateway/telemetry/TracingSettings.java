package dev.worka.gateway.telemetry;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Where the Gateway's traces go (docs/observability.md), read from its environment: the standard
 * {@code OTEL_*} variables as OpenTelemetry's SDK reads them ({@code OTEL_EXPORTER_OTLP_ENDPOINT},
 * {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}, {@code OTEL_EXPORTER_OTLP_HEADERS}, {@code
 * OTEL_SERVICE_NAME}, {@code OTEL_RESOURCE_ATTRIBUTES}, {@code OTEL_TRACES_EXPORTER}, {@code
 * OTEL_BSP_SCHEDULE_DELAY}, ...), or the Langfuse shortcut {@code LANGFUSE_HOST} + {@code
 * LANGFUSE_PUBLIC_KEY} + {@code LANGFUSE_SECRET_KEY}; and {@code WORKA_TRACE_CONTENT} ({@code on},
 * the default, or {@code off}): whether cleaned inputs and outputs go into spans at all.
 *
 * <p>Tracing is on when an exporter is configured: {@code OTEL_TRACES_EXPORTER=otlp}, an OTLP
 * endpoint, or Langfuse. Otherwise (and with {@code OTEL_TRACES_EXPORTER=none} or {@code
 * OTEL_SDK_DISABLED=true}) it is off. {@link #toString()} shows no key or header value.
 *
 * @param otel every {@code OTEL_*} variable that is set, by its name
 * @param langfuse the Langfuse shortcut, when its three variables are set
 * @param content {@code WORKA_TRACE_CONTENT}: cleaned inputs and outputs in spans
 */
public record TracingSettings(
    Map<String, String> otel, Optional<Langfuse> langfuse, boolean content) {

  /** The variables this reads besides {@code OTEL_*}. */
  public static final List<String> LANGFUSE_VARIABLES =
      List.of("LANGFUSE_HOST", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY");

  /**
   * Langfuse's OTLP ingestion (its docs: "OpenTelemetry (OTEL) for LLM Observability"): traces go
   * to {@code $LANGFUSE_HOST/api/public/otel/v1/traces} with HTTP Basic auth, public key as user
   * and secret key as password.
   */
  public record Langfuse(String host, String publicKey, String secretKey) {
    /** The OTLP/HTTP traces endpoint. */
    public String tracesEndpoint() {
      return host + "/api/public/otel/v1/traces";
    }

    /** The value of the {@code Authorization} header: a credential, never logged. */
    public String authorization() {
      return "Basic "
          + Base64.getEncoder()
              .encodeToString((publicKey + ":" + secretKey).getBytes(StandardCharsets.UTF_8));
    }

    /** Where a person sees trace {@code traceId} in Langfuse's UI. */
    public String traceLink(String traceId) {
      return host + "/trace/" + traceId;
    }

    @Override
    public String toString() {
      return "Langfuse[" + host + "]";
    }
  }

  public TracingSettings {
    otel = Map.copyOf(otel);
  }

  /** Tracing off, content on (tests, and a Gateway with no exporter configured). */
  public static TracingSettings off() {
    return new TracingSettings(Map.of(), Optional.empty(), true);
  }

  /** Whether spans are exported at all. */
  public boolean exporting() {
    if ("true".equalsIgnoreCase(otel.getOrDefault("OTEL_SDK_DISABLED", "").trim())) {
      return false;
    }
    String exporter = otel.getOrDefault("OTEL_TRACES_EXPORTER", "").trim();
    if (exporter.equalsIgnoreCase("none")) {
      return false;
    }
    return exporter.equalsIgnoreCase("otlp")
        || langfuse.isPresent()
        || otel.containsKey("OTEL_EXPORTER_OTLP_ENDPOINT")
        || otel.containsKey("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  }

  /** The credentials among the settings (header values, the Langfuse keys): redacted anywhere. */
  public List<String> secrets() {
    List<String> secrets = new java.util.ArrayList<>();
    langfuse.ifPresent(
        l -> {
          secrets.add(l.secretKey());
          secrets.add(l.authorization().substring("Basic ".length()));
        });
    for (String name :
        List.of(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS")) {
      String headers = otel.get(name);
      if (headers != null) {
        for (String pair : headers.split(",")) {
          int eq = pair.indexOf('=');
          if (eq > 0 && eq < pair.length() - 1) {
            String value = pair.substring(eq + 1).trim();
            secrets.add(value);
            int space = value.indexOf("%20");
            if (space > 0) {
              secrets.add(value.substring(space + 3)); // "Bearer%20<token>": the token alone
            }
          }
        }
      }
    }
    return secrets;
  }

  /**
   * Reads the settings from {@code env}, each problem added to {@code problems}; {@link #off()}
   * when there is one.
   */
  public static TracingSettings read(Map<String, String> env, List<String> problems) {
    int before = problems.size();
    Map<String, String> otel = new TreeMap<>();
    env.forEach(
        (k, v) -> {
          if (k.startsWith("OTEL_") && v != null && !v.isBlank()) {
            otel.put(k, v.trim());
          }
        });
    String exporter = otel.getOrDefault("OTEL_TRACES_EXPORTER", "otlp");
    if (!exporter.equalsIgnoreCase("otlp") && !exporter.equalsIgnoreCase("none")) {
      problems.add(
          "OTEL_TRACES_EXPORTER="
              + exporter
              + " is not supported: the Gateway exports traces with otlp (OTLP/HTTP) or none");
    }
    String protocol = otel.getOrDefault("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    String tracesProtocol = otel.getOrDefault("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol);
    if (!tracesProtocol.equals("http/protobuf")) {
      problems.add(
          "OTEL_EXPORTER_OTLP_PROTOCOL="
              + tracesProtocol
              + " is not supported: the Gateway exports OTLP over http/protobuf");
    }
    for (String name :
        List.of("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
      String url = otel.get(name);
      if (url != null && !isHttpUrl(url)) {
        problems.add(name + " is not an http(s) URL such as http://localhost:4318");
      }
    }
    Optional<Langfuse> langfuse = Optional.empty();
    long set =
        LANGFUSE_VARIABLES.stream()
            .filter(n -> env.get(n) != null && !env.get(n).isBlank())
            .count();
    if (set > 0 && set < LANGFUSE_VARIABLES.size()) {
      problems.add(
          "Langfuse needs all of LANGFUSE_HOST, LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (set: "
              + LANGFUSE_VARIABLES.stream()
                  .filter(n -> env.get(n) != null && !env.get(n).isBlank())
                  .toList()
              + ")");
    } else if (set == LANGFUSE_VARIABLES.size()) {
      String host = env.get("LANGFUSE_HOST").trim().replaceAll("/+$", "");
      if (!isHttpUrl(host)) {
        problems.add("LANGFUSE_HOST is not an http(s) URL such as https://cloud.langfuse.com");
      } else if (otel.containsKey("OTEL_EXPORTER_OTLP_ENDPOINT")
          || otel.containsKey("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
        problems.add(
            "set either LANGFUSE_HOST (with its keys) or OTEL_EXPORTER_OTLP_ENDPOINT /"
                + " OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, not both: the Gateway exports traces to"
                + " one place");
      } else {
        langfuse =
            Optional.of(
                new Langfuse(
                    host,
                    env.get("LANGFUSE_PUBLIC_KEY").trim(),
                    env.get("LANGFUSE_SECRET_KEY").trim()));
      }
    }
    String content = env.getOrDefault("WORKA_TRACE_CONTENT", "on").trim();
    if (!content.equals("on") && !content.equals("off")) {
      problems.add(
          "WORKA_TRACE_CONTENT="
              + content
              + " must be on (cleaned inputs and outputs in spans) or off (none)");
    }
    if (problems.size() > before) {
      return off();
    }
    return new TracingSettings(otel, langfuse, !content.equals("off"));
  }

  private static boolean isHttpUrl(String s) {
    try {
      URI uri = URI.create(s);
      return ("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
          && uri.getHost() != null
          && uri.getUserInfo() == null;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "TracingSettings[exporting="
        + exporting()
        + ", variables="
        + otel.keySet()
        + ", "
        + langfuse.map(Langfuse::toString).orElse("no Langfuse")
        + ", content="
        + (content ? "on" : "off")
        + "]";
  }
}
