package dev.worka.gateway.skill.model;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An Anthropic Messages endpoint for tests ({@code POST /v1/messages}), on the JDK's HTTP server:
 * it answers the way the real API does — {@code 401} with an {@code authentication_error} unless
 * the request carries the real key (as {@code x-api-key} or {@code Authorization: Bearer}), else a
 * {@code message} object made by the test's script — and records every request it received, headers
 * and body, so a test can check what reached the provider and with which credentials.
 */
public final class StubMessagesApi implements AutoCloseable {
  /** One request as received: headers by lower-case name, and the JSON body. */
  public record Received(Map<String, String> headers, JsonNode body) {
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  /**
   * An answer of the script's choosing: any status, any body (an error the way the provider writes
   * one).
   */
  public record Reply(int status, JsonNode body) {}

  private final HttpServer server;
  private final String realKey;
  private final Function<JsonNode, Reply> script;
  private final List<Received> received = Collections.synchronizedList(new ArrayList<>());
  private final List<String> refusedCredentials = Collections.synchronizedList(new ArrayList<>());
  private static final AtomicInteger IDS = new AtomicInteger();

  private StubMessagesApi(String realKey, Function<JsonNode, Reply> script) throws IOException {
    this.realKey = realKey;
    this.script = script;
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/v1/messages", this::handle);
    server.start();
  }

  /**
   * Starts a stub that accepts only {@code realKey} and answers each request with {@code script}.
   */
  public static StubMessagesApi start(String realKey, Function<JsonNode, JsonNode> script)
      throws IOException {
    return new StubMessagesApi(realKey, request -> new Reply(200, script.apply(request)));
  }

  /**
   * Starts a stub that accepts only {@code realKey} and answers each request with the status and
   * body {@code script} says.
   */
  public static StubMessagesApi startReplying(String realKey, Function<JsonNode, Reply> script)
      throws IOException {
    return new StubMessagesApi(realKey, script);
  }

  /**
   * An error body as the Messages API writes one: {@code {"type": "error", "error": {type,
   * message}, "request_id"}}.
   */
  public static JsonNode apiError(String type, String message, String requestId) {
    ObjectNode e = (ObjectNode) error(type, message);
    e.put("request_id", requestId);
    return e;
  }

  /** The base URL to give as {@code ANTHROPIC_BASE_URL}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Every request that carried the real key, in order. */
  public List<Received> received() {
    return List.copyOf(received);
  }

  /**
   * Until {@code n} requests with the real key have arrived (calls the script holds open count as
   * soon as they arrive).
   */
  public void awaitReceived(int n, java.time.Duration timeout) {
    await("the stub receiving " + n + " requests (how many it received)")
        .atMost(timeout)
        .pollInterval(java.time.Duration.ofMillis(10))
        .until(received::size, count -> count >= n);
  }

  /** The credentials of every request refused for not carrying the real key. */
  public List<String> refusedCredentials() {
    return List.copyOf(refusedCredentials);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] bytes = exchange.getRequestBody().readAllBytes();
      Map<String, String> headers = new TreeMap<>();
      exchange
          .getRequestHeaders()
          .forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), v.get(0)));
      String apiKey = headers.get("x-api-key");
      String authorization = headers.get("authorization");
      boolean authentic = realKey.equals(apiKey) || ("Bearer " + realKey).equals(authorization);
      if (!exchange.getRequestMethod().equals("POST")) {
        send(exchange, 405, error("invalid_request_error", "POST only"));
        return;
      }
      if (!authentic) {
        refusedCredentials.add("x-api-key=" + apiKey + " authorization=" + authorization);
        send(exchange, 401, error("authentication_error", "invalid x-api-key"));
        return;
      }
      JsonNode body = Json.LENIENT.readTree(bytes);
      received.add(new Received(Map.copyOf(headers), body));
      Reply reply = script.apply(body);
      send(exchange, reply.status(), reply.body());
    } catch (RuntimeException e) {
      send(exchange, 500, error("api_error", e.toString()));
    }
  }

  /** An assistant message whose only content is a tool_use of {@code tool} with {@code input}. */
  public static ObjectNode toolUse(
      JsonNode request, String tool, JsonNode input, int inputTokens, int outputTokens) {
    ObjectNode m = Json.LENIENT.createObjectNode();
    int id = IDS.incrementAndGet();
    m.put("id", "msg_stub_" + id);
    m.put("type", "message");
    m.put("role", "assistant");
    m.put("model", request.path("model").asText());
    ObjectNode use = m.putArray("content").addObject();
    use.put("type", "tool_use");
    use.put("id", "toolu_stub_" + id);
    use.put("name", tool);
    use.set("input", input);
    m.put("stop_reason", "tool_use");
    m.putNull("stop_sequence");
    ObjectNode usage = m.putObject("usage");
    usage.put("input_tokens", inputTokens);
    usage.put("output_tokens", outputTokens);
    return m;
  }

  private static JsonNode error(String type, String message) {
    ObjectNode e = Json.LENIENT.createObjectNode();
    e.put("type", "error");
    e.putObject("error").put("type", type).put("message", message);
    return e;
  }

  private static void send(HttpExchange exchange, int status, JsonNode body) throws IOException {
    byte[] bytes =
        (body.isTextual() ? body.asText() : Json.write(body)).getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("content-type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
