package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.store.EmbeddedDatabase;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With its database gone, the Gateway answers requests with 503 and Retry-After — a clear error,
 * not a stack trace — and says it is not ready, while staying alive. (It runs on a PostgreSQL of
 * its own, which it stops.)
 */
class DatabaseOutageTest {
  @TempDir Path home;
  @TempDir Path data;

  @Test
  void withTheDatabaseDownTheApiAnswers503AndReadinessSaysSo() throws Exception {
    EmbeddedDatabase postgres = EmbeddedDatabase.start(data.resolve("pg"));
    try (TestGateway gw = TestGateway.start(home, postgres.url("postgres"), TestGateway.builtinPolicyForTests())) {
      assertEquals("ready", gw.call("GET", "/readyz", null, java.util.Map.of()).body().path("status").asText());
      postgres.close();

      TestGateway.Answer ready = gw.call("GET", "/readyz", null, java.util.Map.of());
      assertEquals(503, ready.status());
      assertEquals("not_ready", ready.body().path("status").asText());
      assertEquals("unreachable", ready.body().path("database").asText());
      assertTrue(ready.raw().headers().firstValue("Retry-After").isPresent());

      TestGateway.Answer create = gw.operator("POST", "/v1/runs", "{\"text\": \"summarize this thread\"}");
      assertEquals(503, create.status(), create.raw().body());
      assertEquals("unavailable", create.body().path("error").asText());
      assertEquals("5", create.raw().headers().firstValue("Retry-After").orElse(""));
      assertFalse(create.raw().body().contains("Exception"), "no stack trace: " + create.raw().body());

      assertEquals(200, gw.call("GET", "/healthz", null, java.util.Map.of()).status(), "the process stays alive");
    }
  }
}
