package dev.worka.gateway.memory;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory in mem0: a real Gateway with {@code MEM0_API_URL} pointing at a local server that speaks
 * mem0's platform REST API, recording what it receives (path, {@code Authorization: Token}, body)
 * and answering as told — well, with another agent's memory and a malformed one among its results,
 * with {@code 500}, with garbage, or not in time.
 */
class Mem0MemoryTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  static final String KEY = "m0-test-key-0123456789abcdef";

  record Received(String method, String path, String authorization, JsonNode body) {}

  final List<Received> received = new CopyOnWriteArrayList<>();
  final CountDownLatch never = new CountDownLatch(1);
  volatile String mode = "ok";
  HttpServer mem0;
  TestGateway gw;

  @BeforeEach
  void start() throws IOException {
    mem0 = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    mem0.createContext("/", this::answer);
    mem0.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
    mem0.start();
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            MemoryTest.policy(),
            "dry-run",
            Map.of(
                "MEM0_API_URL",
                "http://127.0.0.1:" + mem0.getAddress().getPort() + "/",
                "MEM0_API_KEY",
                KEY,
                "MEM0_TIMEOUT",
                "500ms"));
  }

  @AfterEach
  void stop() {
    gw.close();
    never.countDown();
    mem0.stop(0);
  }

  private void answer(HttpExchange x) throws IOException {
    byte[] in = x.getRequestBody().readAllBytes();
    JsonNode body = in.length == 0 ? null : Json.LENIENT.readTree(in);
    String path = x.getRequestURI().toString();
    received.add(
        new Received(
            x.getRequestMethod(), path, x.getRequestHeaders().getFirst("Authorization"), body));
    String out;
    int status = 200;
    switch (mode) {
      case "500" -> {
        status = 500;
        out = "{\"detail\": \"internal error\"}";
      }
      case "garbage" -> out = "<html>not json";
      case "shape" -> out = "{\"results\": \"nope\"}";
      case "hang" -> {
        try {
          never.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        out = "[]";
      }
      default -> {
        if (path.startsWith("/v1/memories/") && x.getRequestMethod().equals("POST")) {
          out = "{\"results\": [{\"id\": \"new-1\", \"memory\": \"x\", \"event\": \"ADD\"}]}";
        } else if (path.equals("/v1/memories/mem-1/") && x.getRequestMethod().equals("DELETE")) {
          out = "{\"message\": \"Memory deleted successfully!\"}";
        } else if (path.equals("/v1/memories/mem-1/")) {
          out = mine();
        } else {
          // search and list: the agent's memory, another agent's, and a malformed item
          out =
              "{\"results\": ["
                  + mine()
                  + ", {\"id\": \"mem-2\", \"memory\": \"scribe's private plan\","
                  + " \"agent_id\": \"scribe\", \"score\": 0.99},"
                  + " {\"id\": 5, \"memory\": [\"not text\"]}]}";
        }
      }
    }
    byte[] bytes = out.getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().add("Content-Type", "application/json");
    x.sendResponseHeaders(status, bytes.length);
    x.getResponseBody().write(bytes);
    x.close();
  }

  private static String mine() {
    return "{\"id\": \"mem-1\", \"memory\": \"objective: kiwi facts from before <!channel> "
        + MemoryTest.SECRET
        + "\", \"agent_id\": \"seeker\", \"score\": 0.8, \"created_at\":"
        + " \"2026-12-01T10:00:00Z\", \"metadata\": {\"worka_run_id\":"
        + " \"00000000-0000-0000-0000-000000000001\"}}";
  }

  @Test
  void memoriesGoToMem0AsItsApiExpectsAndWhatItAnswersIsValidatedAndCleaned() {
    JsonNode run = gw.finish(gw.submit("seeker | kiwi facts"));
    List<String> seen = seen(run);
    assertEquals(1, seen.size(), seen.toString());
    assertTrue(seen.get(0).startsWith("objective: kiwi facts from before"), seen.toString());
    assertFalse(seen.get(0).contains(MemoryTest.SECRET), seen.toString());
    assertFalse(seen.get(0).contains("<!channel>"), seen.toString());

    Received search = only("POST", "/v2/memories/search/");
    assertEquals("Token " + KEY, search.authorization());
    assertEquals("kiwi facts", search.body().path("query").asText());
    assertEquals(
        "seeker", search.body().path("filters").path("AND").get(0).path("agent_id").asText());
    assertEquals(10, search.body().path("top_k").asInt());

    await().atMost(Duration.ofSeconds(30)).until(() -> !all("POST", "/v1/memories/").isEmpty());
    List<Received> adds = all("POST", "/v1/memories/");
    Received add =
        adds.stream()
            .filter(a -> a.body().path("agent_id").asText().equals("seeker"))
            .findFirst()
            .orElseThrow(() -> new AssertionError(adds.toString()));
    assertEquals("Token " + KEY, add.authorization());
    assertFalse(add.body().path("infer").asBoolean(true));
    assertEquals("user", add.body().path("messages").get(0).path("role").asText());
    assertTrue(
        add.body()
            .path("messages")
            .get(0)
            .path("content")
            .asText()
            .startsWith("objective: kiwi facts\n"),
        add.body().toString());
    assertEquals(
        run.path("run_id").asText(), add.body().path("metadata").path("worka_run_id").asText());

    // The operator's listing asks mem0 for the agent's memories and keeps only that agent's.
    TestGateway.Answer list = gw.operator("GET", "/v1/memories?agent=seeker", null);
    assertEquals(200, list.status(), list.raw().body());
    assertEquals("mem0", list.body().path("store").asText());
    assertEquals(1, list.body().path("memories").size(), list.raw().body());
    assertEquals("mem-1", list.body().path("memories").get(0).path("memory_id").asText());
    assertEquals("Token " + KEY, only("GET", "/v1/memories/?agent_id=seeker").authorization());

    // Forgotten: deleted in mem0; and though this mem0 still answers with it, no step gets it.
    TestGateway.Answer forgot = gw.operator("DELETE", "/v1/memories/mem-1", null);
    assertEquals(200, forgot.status(), forgot.raw().body());
    assertTrue(forgot.body().path("deleted").asBoolean());
    assertEquals("Token " + KEY, only("DELETE", "/v1/memories/mem-1/").authorization());
    assertEquals(List.of(), seen(gw.finish(gw.submit("seeker | kiwi facts"))));
    assertEquals(
        0, gw.operator("GET", "/v1/memories?agent=seeker", null).body().path("memories").size());
  }

  @Test
  void mem0FailingAnsweringGarbageOrNotInTimeNeverFailsARun() {
    for (String failure : List.of("500", "garbage", "shape", "hang")) {
      mode = failure;
      JsonNode run = gw.finish(gw.submit("seeker | kiwi " + failure));
      assertEquals(List.of(), seen(run), failure);
    }
    mode = "500";
    assertEquals(503, gw.operator("GET", "/v1/memories?agent=seeker", null).status());
    assertEquals(503, gw.operator("DELETE", "/v1/memories/mem-1", null).status());
  }

  private static List<String> seen(JsonNode run) {
    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    List<String> out = new ArrayList<>();
    for (JsonNode s : run.path("steps")) {
      if (s.path("agent").asText().equals("seeker")) {
        s.path("output").path("memory_seen").forEach(n -> out.add(n.asText()));
      }
    }
    return out;
  }

  private List<Received> all(String method, String path) {
    return received.stream()
        .filter(r -> r.method().equals(method) && r.path().equals(path))
        .toList();
  }

  private Received only(String method, String path) {
    List<Received> found = all(method, path);
    assertFalse(found.isEmpty(), method + " " + path + " was never received: " + received);
    return found.get(0);
  }
}
