package dev.worka.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.worka.protocol.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** While the store is known to be down, requests are answered 503 without reaching their route. */
class HttpServerStoreDownTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void whileTheStoreIsDownOnlyLivenessAndReadinessReachTheirRoutes() throws Exception {
    AtomicBoolean down = new AtomicBoolean(true);
    AtomicInteger reached = new AtomicInteger();
    Router router =
        new Router()
            .add(
                "GET",
                "/v1/runs",
                r -> {
                  reached.incrementAndGet();
                  return ApiResponse.ok(Map.of("runs", 0));
                })
            .add("GET", "/readyz", r -> ApiResponse.ok(Map.of("status", "asked")))
            .add("GET", "/healthz", r -> ApiResponse.ok(Map.of("status", "alive")));
    try (HttpServer server =
        new HttpServer("127.0.0.1", 0, router, Json.STRICT, down::get, () -> {})) {
      server.start();
      HttpResponse<String> refused = get(server, "/v1/runs");
      assertEquals(503, refused.statusCode());
      assertEquals("5", refused.headers().firstValue("Retry-After").orElse(""));
      assertEquals("unavailable", Json.LENIENT.readTree(refused.body()).path("error").asText());
      assertEquals(0, reached.get(), "the route was not run");
      assertEquals(
          404, get(server, "/v1/nothing-here").statusCode(), "an unknown path is still a 404");
      assertEquals(200, get(server, "/readyz").statusCode());
      assertEquals(200, get(server, "/healthz").statusCode());

      down.set(false);
      assertEquals(200, get(server, "/v1/runs").statusCode());
      assertEquals(1, reached.get());
    }
  }

  private static HttpResponse<String> get(HttpServer server, String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aStoreFailureThatDoesNotSayOutageIsA503OnlyIfTheCheckItTriggersFindsTheDatabaseDown()
      throws Exception {
    AtomicBoolean down = new AtomicBoolean(false);
    AtomicBoolean databaseAnswers = new AtomicBoolean(true);
    AtomicInteger checks = new AtomicInteger();
    Router router =
        new Router()
            .add(
                "GET",
                "/v1/runs",
                r -> {
                  throw new IllegalStateException(
                      "database transaction failed",
                      new java.sql.SQLException("Connection is closed"));
                })
            .add(
                "GET",
                "/v1/bug",
                r -> {
                  throw new IllegalStateException("a bug");
                });
    Runnable check =
        () -> {
          checks.incrementAndGet();
          down.set(!databaseAnswers.get());
        };
    try (HttpServer server =
        new HttpServer("127.0.0.1", 0, router, Json.STRICT, down::get, check)) {
      server.start();
      assertEquals(500, get(server, "/v1/runs").statusCode(), "the database answers: a bug");
      assertEquals(1, checks.get(), "the failure made it check");
      assertEquals(500, get(server, "/v1/bug").statusCode());
      assertEquals(1, checks.get(), "a failure that is not the store's checks nothing");

      databaseAnswers.set(false);
      HttpResponse<String> outage = get(server, "/v1/runs");
      assertEquals(503, outage.statusCode(), "the check found it down: the outage's");
      assertEquals("5", outage.headers().firstValue("Retry-After").orElse(""));
      assertEquals(2, checks.get());
    }
  }
}
