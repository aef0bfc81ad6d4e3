package dev.worka.agents;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.worka.protocol.AgentEnvironment;
import dev.worka.protocol.Json;
import dev.worka.protocol.StepEnvelope;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * A local stand-in for the Gateway's {@code /v1/agent/*} endpoints, speaking the real protocol over
 * HTTP: it checks the bearer token, serves one step envelope, answers skill calls and plans as each
 * test configures, and records every call.
 */
final class StandInGateway implements AutoCloseable {
  static final String TOKEN =
      "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJlcm5lc3QiLCJzdGVwX2lkIjoic3RlcC0xIn0.c2lnbmF0dXJlLW9mLXRoZS1nYXRld2F5";

  record Call(
      String method,
      String path,
      String authorization,
      String contentType,
      String traceparent,
      JsonNode body) {}

  record Reply(int status, String body) {
    static Reply json(int status, String body) {
      return new Reply(status, body);
    }
  }

  final List<Call> calls = new CopyOnWriteArrayList<>();
  final CountDownLatch heartbeatSeen = new CountDownLatch(1);

  volatile StepEnvelope envelope;
  volatile BiFunction<String, JsonNode, Reply> skills =
      (skill, body) ->
          Reply.json(200, "{\"invocation_id\": \"inv-1\", \"output\": {}, \"replayed\": false}");
  volatile Function<JsonNode, Reply> plans =
      body -> Reply.json(201, "{\"plan_id\": \"plan-1\", \"plan_hash\": \"h\", \"steps\": {}}");
  volatile Reply resultReply = Reply.json(200, "{}");

  /** The answer to {@code POST /v1/agent/otel/v1/traces}: an empty OTLP answer by default. */
  volatile Reply spansReply = new Reply(200, "");

  /** When set, a span export is held until it counts down (the route hangs). */
  volatile CountDownLatch holdSpans;

  /** The bodies of the span exports, as sent (OTLP protobuf). */
  final List<byte[]> spanExports = new CopyOnWriteArrayList<>();

  /** How many context requests are answered 503 before the envelope is served. */
  final AtomicInteger contextUnavailable = new AtomicInteger();

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();

  StandInGateway(StepEnvelope envelope) throws IOException {
    this.envelope = envelope;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v1/agent/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** The worker environment the Gateway would start a worker with (token inline). */
  Map<String, String> env(String agent) {
    Map<String, String> env = new HashMap<>();
    env.put(AgentEnvironment.GATEWAY_URL, url());
    env.put(AgentEnvironment.TOKEN, TOKEN);
    env.put(AgentEnvironment.RUN_ID, envelope.runId());
    env.put(AgentEnvironment.STEP_ID, envelope.stepId());
    env.put(AgentEnvironment.AGENT, agent);
    env.put(
        AgentEnvironment.TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    return env;
  }

  List<Call> callsTo(String path) {
    return calls.stream().filter(c -> c.path().equals(path)).toList();
  }

  List<Call> skillCalls() {
    return calls.stream().filter(c -> c.path().startsWith("/v1/agent/skills/")).toList();
  }

  /** The one result posted; fails the test if there is not exactly one. */
  JsonNode result() {
    List<Call> results = callsTo("/v1/agent/result");
    if (results.size() != 1) {
      throw new AssertionError(
          "expected exactly one result, got " + results.size() + ": " + results);
    }
    return results.get(0).body();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String type = exchange.getRequestHeaders().getFirst("Content-Type");
      JsonNode body;
      if (type != null && type.startsWith("application/x-protobuf")) {
        spanExports.add(exchange.getRequestBody().readAllBytes());
        body = NullNode.getInstance();
      } else {
        body = readBody(exchange.getRequestBody());
      }
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      calls.add(
          new Call(
              method,
              path,
              authorization,
              exchange.getRequestHeaders().getFirst("Content-Type"),
              exchange.getRequestHeaders().getFirst("traceparent"),
              body));
      Reply reply;
      if (!("Bearer " + TOKEN).equals(authorization)) {
        reply =
            Reply.json(401, "{\"error\": \"unauthorized\", \"message\": \"bad or missing token\"}");
      } else if (method.equals("GET") && path.equals("/v1/agent/context")) {
        reply =
            contextUnavailable.getAndUpdate(n -> Math.max(0, n - 1)) > 0
                ? Reply.json(503, "{\"error\": \"unavailable\", \"message\": \"starting\"}")
                : Reply.json(200, Json.LENIENT.writeValueAsString(envelope));
      } else if (method.equals("POST") && path.startsWith("/v1/agent/skills/")) {
        reply = skills.apply(path.substring("/v1/agent/skills/".length()), body);
      } else if (method.equals("POST") && path.equals("/v1/agent/plan")) {
        reply = plans.apply(body);
      } else if (method.equals("POST") && path.equals("/v1/agent/otel/v1/traces")) {
        CountDownLatch hold = holdSpans;
        if (hold != null) {
          try {
            hold.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        reply = spansReply;
      } else if (method.equals("POST") && path.equals("/v1/agent/result")) {
        reply = resultReply;
      } else if (method.equals("POST") && path.equals("/v1/agent/heartbeat")) {
        heartbeatSeen.countDown();
        reply = Reply.json(200, "{}");
      } else {
        reply = Reply.json(404, "{\"error\": \"not_found\", \"message\": \"no " + path + "\"}");
      }
      byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
      exchange
          .getResponseHeaders()
          .set(
              "Content-Type",
              path.equals("/v1/agent/otel/v1/traces") && reply.status() == 200
                  ? "application/x-protobuf"
                  : "application/json");
      exchange.sendResponseHeaders(reply.status(), bytes.length);
      exchange.getResponseBody().write(bytes);
    }
  }

  private static JsonNode readBody(InputStream in) {
    try {
      byte[] bytes = in.readAllBytes();
      return bytes.length == 0 ? NullNode.getInstance() : Json.LENIENT.readTree(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    CountDownLatch hold = holdSpans;
    if (hold != null) {
      hold.countDown();
    }
    server.stop(0);
    executor.shutdownNow();
  }
}
