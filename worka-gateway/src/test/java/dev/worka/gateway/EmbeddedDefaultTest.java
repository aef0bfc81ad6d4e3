package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.token.SigningKeys;
import dev.worka.gateway.token.TokenIssuer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Gateway on its embedded default, tried as a hostile worker and an outsider would: the database
 * passwords are secrets the output cleaner redacts like any configured credential, the role the
 * Gateway runs as cannot write the migration history, and readiness — which anyone may ask, as
 * often as they like — scans no migrations per request.
 */
class EmbeddedDefaultTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  @Test
  void
      aWorkerThatLearnedTheDatabasePasswordsCannotReturnThemAndTheGatewaysRoleCannotRewriteMigrations()
          throws Exception {
    String policy =
        TestGateway.withLimit(
            TestGateway.policyWith(Map.of("daneel", List.of("/bin/sh", "-c", "sleep 120")), "60s"),
            "max_attempts",
            "1");
    try (TestGateway gw = TestGateway.start(home, null, policy)) {
      assertEquals(
          "rwx------",
          java.nio.file.attribute.PosixFilePermissions.toString(
              Files.getPosixFilePermissions(home)),
          "WORKA_HOME is its owner's only");
      String superuserPassword = Files.readString(home.resolve("postgres.password")).strip();
      String appPassword = Files.readString(home.resolve("postgres.app-password")).strip();

      String runId = gw.submit("please do something unusual");
      gw.followUntil(
          runId,
          e ->
              "answer".equals(e.path("step_ref").asText())
                  && "running".equals(e.path("to").asText()));
      JsonNode step = GovernedRunTest.find(gw.story(runId).path("steps"), "answer");
      String token =
          new TokenIssuer(SigningKeys.loadOrCreate(home), Gateway.ISSUER, InstantSource.system())
              .mint(
                  "daneel",
                  UUID.fromString(runId),
                  UUID.fromString(step.path("step_id").asText()),
                  1,
                  Instant.now().plus(Duration.ofMinutes(1)))
              .token();
      String leaky =
          "{\"status\": \"succeeded\", \"summary\": \"the superuser's is "
              + superuserPassword
              + "\","
              + " \"output\": {\"note\": \"and the app's is "
              + appPassword
              + "\"}}";
      TestGateway.Answer result =
          gw.call(
              "POST",
              "/v1/agent/result",
              leaky,
              Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json"));
      assertEquals(200, result.status(), result.raw().body());
      assertEquals(2, result.body().path("cleaned").path("secrets").asInt(), result.raw().body());

      JsonNode story = gw.finish(runId);
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      JsonNode answer = GovernedRunTest.find(story.path("steps"), "answer");
      assertEquals("the superuser's is [redacted]", answer.path("summary").asText());
      assertEquals("and the app's is [redacted]", answer.path("output").path("note").asText());
      assertFalse(
          story.toString().contains(superuserPassword) || story.toString().contains(appPassword),
          "no database password in the story");

      String port =
          Files.readAllLines(home.resolve("postgres").resolve("postmaster.pid")).get(3).strip();
      try (Connection owner =
          java.sql.DriverManager.getConnection(
              "jdbc:postgresql://localhost:" + port + "/postgres", "postgres", superuserPassword)) {
        assertReadyWhileTheHistoryIsLocked(gw, owner);
      }

      // The Gateway's own pool logs in as worka_app: it reads the history, never writes it.
      assertEquals(List.of(), gw.gateway.database().auditProtectionGaps());
      try (Connection c = gw.gateway.database().dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.executeQuery("select count(*) from flyway_schema_history").close();
        for (String sql : HISTORY_WRITES) {
          SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
          assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
        }
      }
    }
  }

  /** What a role that could write the migration history might do to it. */
  static final List<String> HISTORY_WRITES =
      List.of(
          "insert into flyway_schema_history (installed_rank, version, description, type, script, installed_by,"
              + " execution_time, success) values (999, '999', 'forged', 'SQL', 'V999__forged.sql', 'x', 0, true)",
          "update flyway_schema_history set checksum = 0",
          "delete from flyway_schema_history where version = '4'",
          "truncate flyway_schema_history");

  /**
   * With the migration history locked (so any scan of it waits), readiness still answers at once,
   * again and again: whether the migrations are applied was settled when the Gateway started.
   */
  @Test
  void readinessAnswersWithoutScanningTheMigrationsEachTime() throws Exception {
    try (TestGateway gw = TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests());
        Connection owner = db.dataSource().getConnection()) {
      assertReadyWhileTheHistoryIsLocked(gw, owner);
    }
  }

  /**
   * Locks the migration history on {@code owner}'s connection (a scan of it would wait), then asks
   * readiness many times: each answer must come at once, and say ready.
   */
  static void assertReadyWhileTheHistoryIsLocked(TestGateway gw, Connection owner)
      throws Exception {
    owner.setAutoCommit(false);
    try (Statement s = owner.createStatement()) {
      s.execute("lock table flyway_schema_history in access exclusive mode");
      try (Connection other = gw.gateway.database().dataSource().getConnection();
          Statement o = other.createStatement()) {
        o.execute("set lock_timeout = '200ms'");
        SQLException blocked =
            assertThrows(
                SQLException.class,
                () -> o.executeQuery("select count(*) from flyway_schema_history").close());
        assertEquals(
            "55P03",
            blocked.getSQLState(),
            "a scan of the history would wait: " + blocked.getMessage());
      }
      HttpClient http = HttpClient.newHttpClient();
      for (int i = 0; i < 50; i++) {
        HttpResponse<String> ready =
            http.send(
                HttpRequest.newBuilder(URI.create(gw.baseUrl + "/readyz"))
                    .timeout(Duration.ofSeconds(5))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ready.statusCode(), ready.body());
        assertEquals(
            "{\"status\":\"ready\",\"database\":\"reachable\",\"migrations\":\"applied\"}",
            ready.body());
      }
    } finally {
      owner.rollback();
      owner.setAutoCommit(true);
    }
  }
}
