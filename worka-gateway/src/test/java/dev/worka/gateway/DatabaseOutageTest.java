package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.store.EmbeddedDatabase;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With its database gone, the Gateway answers requests with 503 and Retry-After — a clear error,
 * not a stack trace — and says it is not ready, while staying alive; once its watch has noticed,
 * without waiting for the connection pool. (It runs on a PostgreSQL of its own, which it stops.)
 */
class DatabaseOutageTest {
  @TempDir Path home;
  @TempDir Path data;

  @Test
  void withTheDatabaseDownTheApiAnswers503AndReadinessSaysSo() throws Exception {
    EmbeddedDatabase postgres = EmbeddedDatabase.start(data.resolve("pg"));
    try (TestGateway gw =
        TestGateway.start(home, postgres.url("postgres"), TestGateway.builtinPolicyForTests())) {
      assertEquals(
          "ready",
          gw.call("GET", "/readyz", null, java.util.Map.of()).body().path("status").asText());
      postgres.close();

      // The Gateway's watch checks every second; readiness says what it found.
      TestGateway.Answer ready =
          await("readiness noticing the outage (/readyz)")
              .atMost(java.time.Duration.ofSeconds(30))
              .pollInterval(java.time.Duration.ofMillis(100))
              .until(
                  () -> gw.call("GET", "/readyz", null, java.util.Map.of()),
                  a -> a.status() != 200);
      assertEquals(503, ready.status());
      assertEquals("not_ready", ready.body().path("status").asText());
      assertEquals("unreachable", ready.body().path("database").asText());
      assertTrue(ready.raw().headers().firstValue("Retry-After").isPresent());

      TestGateway.Answer create =
          gw.operator("POST", "/v1/runs", "{\"text\": \"summarize this thread\"}");
      assertEquals(503, create.status(), create.raw().body());
      assertEquals("unavailable", create.body().path("error").asText());
      assertEquals("5", create.raw().headers().firstValue("Retry-After").orElse(""));
      assertFalse(
          create.raw().body().contains("Exception"), "no stack trace: " + create.raw().body());

      // The watch has seen the outage (readiness said so above): a request is refused
      // without waiting for a pooled connection (that wait is 10 s; this client gives up after 5).
      java.net.http.HttpResponse<String> quick =
          java.net.http.HttpClient.newHttpClient()
              .send(
                  java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.baseUrl + "/v1/runs"))
                      .timeout(java.time.Duration.ofSeconds(5))
                      .header("Authorization", "Bearer " + TestGateway.OPERATOR_TOKEN)
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(503, quick.statusCode(), quick.body());
      assertEquals("5", quick.headers().firstValue("Retry-After").orElse(""));

      assertEquals(
          200,
          gw.call("GET", "/healthz", null, java.util.Map.of()).status(),
          "the process stays alive");
    }
  }
}
