package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.error.WorkaException;
import dev.worka.protocol.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.BiConsumer;

/** The CLI's HTTP client of the operator API. */
final class GatewayClient {
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String baseUrl;
  private final String token;

  GatewayClient(String baseUrl, String token) {
    this.baseUrl = baseUrl.replaceAll("/+$", "");
    this.token = token;
  }

  static GatewayClient fromEnvironment(Map<String, String> env) {
    String url = env.getOrDefault("WORKA_URL", "");
    if (url.isBlank()) {
      url = "http://127.0.0.1:" + env.getOrDefault("WORKA_HTTP_PORT", "8080");
    }
    String token = env.get("WORKA_OPERATOR_TOKEN");
    if (token == null || token.isBlank()) {
      Path home =
          Path.of(env.getOrDefault("WORKA_HOME", System.getProperty("user.home") + "/.worka"));
      Path file = home.resolve("operator-token");
      try {
        token = Files.readString(file).trim();
      } catch (IOException e) {
        throw new WorkaException(
            "no operator token: set WORKA_OPERATOR_TOKEN, or start the Gateway once"
                + " (bin/worka serve) so it writes "
                + file);
      }
    }
    return new GatewayClient(url, token);
  }

  /** The Gateway's base URL, as the CLI reaches it. */
  String baseUrl() {
    return baseUrl;
  }

  /** A JSON answer with its status. */
  record Answer(int status, JsonNode body) {
    boolean ok() {
      return status / 100 == 2;
    }

    String error() {
      return body.path("error").asText("http_" + status) + ": " + body.path("message").asText("");
    }
  }

  Answer get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  Answer post(String path, Object body, Map<String, String> headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri(path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(json(body)));
    headers.forEach(b::header);
    return send(b);
  }

  Answer delete(String path) {
    return send(HttpRequest.newBuilder(uri(path)).DELETE());
  }

  Answer put(String path, String body) {
    return send(
        HttpRequest.newBuilder(uri(path))
            .header("Content-Type", "application/yaml")
            .PUT(HttpRequest.BodyPublishers.ofString(body)));
  }

  /** Follows a server-sent event stream, calling {@code onEvent(event, data)} until it ends. */
  void stream(String path, BiConsumer<String, JsonNode> onEvent) {
    HttpRequest request =
        HttpRequest.newBuilder(uri(path))
            .header("Authorization", "Bearer " + token)
            .header("Accept", "text/event-stream")
            .GET()
            .build();
    try {
      HttpResponse<java.io.InputStream> response =
          http.send(request, HttpResponse.BodyHandlers.ofInputStream());
      if (response.statusCode() != 200) {
        byte[] body = response.body().readAllBytes();
        throw new WorkaException(
            "event stream refused ("
                + response.statusCode()
                + "): "
                + new String(body, StandardCharsets.UTF_8));
      }
      try (BufferedReader in =
          new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
        String event = "message";
        StringBuilder data = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
          if (line.isEmpty()) {
            if (data.length() > 0) {
              onEvent.accept(event, Json.LENIENT.readTree(data.toString()));
              if (event.equals("end")) {
                return;
              }
            }
            event = "message";
            data.setLength(0);
          } else if (line.startsWith("event:")) {
            event = line.substring(6).trim();
          } else if (line.startsWith("data:")) {
            data.append(line.substring(5).trim());
          }
        }
      }
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WorkaException("interrupted");
    }
  }

  private Answer send(HttpRequest.Builder builder) {
    HttpRequest request =
        builder.header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(60)).build();
    try {
      HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      byte[] body = response.body();
      JsonNode node =
          body.length == 0 ? Json.LENIENT.createObjectNode() : Json.LENIENT.readTree(body);
      return new Answer(response.statusCode(), node);
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WorkaException("interrupted");
    }
  }

  private WorkaException unreachable(IOException e) {
    if (e instanceof ConnectException || e.getCause() instanceof ConnectException) {
      return new WorkaException(
          "no Worka Gateway answers at "
              + baseUrl
              + ". Start one with `bin/worka serve` (in another terminal), or set WORKA_URL.");
    }
    return new WorkaException("talking to the Gateway at " + baseUrl + " failed: " + e);
  }

  private URI uri(String path) {
    return URI.create(baseUrl + path);
  }

  private static byte[] json(Object body) {
    try {
      return Json.STRICT.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
