package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.store.StoppablePostgres;
import dev.worka.protocol.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL stopped for ten seconds under a light load — runs in flight with live side effects,
 * operators creating and reading runs — and started again: meanwhile every API answer is a 503 with
 * Retry-After and the stable error JSON, /readyz says not ready, the Gateway process stays up;
 * afterwards the runs in flight finish, the requests refused during the outage succeed when sent
 * again (same Idempotency-Key), new runs work, and no run, event or effect is lost or doubled. (A
 * PostgreSQL of its own, stopped and started on the same data and port.)
 */
@Tag("slow")
class DatabaseOutageRecoveryTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path home;
  @TempDir Path data;

  @Test
  void runsInFlightAndRequestsRefusedDuringAnOutageAllCompleteOnceTheDatabaseIsBack()
      throws Exception {
    try (StoppablePostgres postgres = StoppablePostgres.start(data.resolve("pg"));
        CountingGithubMcpServer server =
            CountingGithubMcpServer.http(0, RunLedger.GITHUB_TOKEN, Set.of())) {
      Map<String, String> env =
          RunLedger.environment(
              home,
              postgres.url("postgres"),
              server,
              RunLedger.quickRetryPolicy(TestGateway.builtinPolicyForTests()));
      env.put("WORKA_LEASE_SECONDS", "5");
      try (GatewayProcess gateway = GatewayProcess.start(home, env)) {
        List<String> runs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          runs.add(
              RunLedger.submit(
                  gateway, "open an issue in acme/widgets titled 'Before the outage " + i + "'"));
        }
        awaitAnyRunIn(gateway, runs, Set.of("running"), Duration.ofSeconds(90));

        postgres.stop();
        long stoppedAt = System.nanoTime();
        Map<String, String> refused =
            new LinkedHashMap<>(); // Idempotency-Key → body, to send again
        int readyChecks = 0;
        for (int i = 0;
            System.nanoTime() - stoppedAt < Duration.ofSeconds(10).toNanos() || i < 2;
            i++) {
          String key = "outage-" + i;
          String body =
              Json.LENIENT
                  .createObjectNode()
                  .put("text", "open an issue in acme/widgets titled 'During the outage " + i + "'")
                  .toString();
          HttpResponse<String> create = send(gateway, "POST", "/v1/runs", body, key);
          assertUnavailable(create, gateway);
          refused.put(key, body);
          assertUnavailable(send(gateway, "GET", "/v1/runs/" + runs.get(0), null, null), gateway);
          HttpResponse<String> ready = send(gateway, "GET", "/readyz", null, null);
          assertEquals(503, ready.statusCode(), ready.body());
          assertEquals("not_ready", Json.LENIENT.readTree(ready.body()).path("status").asText());
          assertTrue(ready.headers().firstValue("Retry-After").isPresent());
          readyChecks++;
          assertEquals(
              200,
              send(gateway, "GET", "/healthz", null, null).statusCode(),
              "the process is alive");
          Thread.sleep(250); // not a poll: paces the requests made during the 10 s outage
        }
        assertTrue(gateway.alive(), "the Gateway survived the outage");
        assertTrue(readyChecks >= 2);

        postgres.restart();
        await("ready again within 60 s of the database's return (/readyz status)")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(200))
            .until(() -> send(gateway, "GET", "/readyz", null, null).statusCode(), s -> s == 200);
        for (Map.Entry<String, String> r : refused.entrySet()) {
          HttpResponse<String> again = send(gateway, "POST", "/v1/runs", r.getValue(), r.getKey());
          assertEquals(202, again.statusCode(), again.body());
          runs.add(Json.LENIENT.readTree(again.body()).path("run_id").asText());
        }
        runs.add(
            RunLedger.submit(gateway, "open an issue in acme/widgets titled 'After the outage'"));

        try (Database database = Database.connect(postgres.url("postgres"), 4, "outage-test")) {
          RunLedger ledger = new RunLedger(database.dataSource());
          assertEquals(
              List.of(), ledger.awaitTerminal(runs, Duration.ofMinutes(4)), "runs still open");
          assertEquals(List.of(), ledger.notSucceeded(runs));
          assertEquals(
              runs.size(), server.effects("create_issue"), "one issue per run, none twice");
          assertEquals(List.of(), ledger.issueProblems(server, runs));
          assertEquals(List.of(), ledger.overlappingAttempts(runs));
          assertEquals(List.of(), ledger.brokenEventChains(runs));
          assertEquals(List.of(), ledger.ungatedInvocations(runs));
          System.out.println(
              "outage: "
                  + refused.size()
                  + " create requests refused and sent again; burns of the runs: "
                  + ledger.burnsByKind(runs));
        }
        assertTrue(gateway.alive());
      }
    }
  }

  /**
   * 503, Retry-After, the stable error JSON, and no stack trace (else the Gateway's last log lines
   * say why).
   */
  private static void assertUnavailable(HttpResponse<String> r, GatewayProcess gateway)
      throws Exception {
    if (r.statusCode() != 503) {
      List<String> lines = java.nio.file.Files.readAllLines(gateway.log());
      System.out.println(
          "Gateway log before the unexpected answer:\n"
              + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size())));
    }
    assertEquals(503, r.statusCode(), r.body());
    assertEquals("5", r.headers().firstValue("Retry-After").orElse(""));
    assertEquals("unavailable", Json.LENIENT.readTree(r.body()).path("error").asText(), r.body());
    assertFalse(
        r.body().contains("Exception") || r.body().contains("\tat "),
        "no stack trace: " + r.body());
  }

  private static HttpResponse<String> send(
      GatewayProcess gateway, String method, String path, String body, String idempotencyKey)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gateway.baseUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + TestGateway.OPERATOR_TOKEN);
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    if (idempotencyKey != null) {
      b.header("Idempotency-Key", idempotencyKey);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void awaitAnyRunIn(
      GatewayProcess gateway, List<String> runs, Set<String> statuses, Duration max) {
    await("a run reaching " + statuses + " (the runs' statuses)")
        .atMost(max)
        .pollInterval(Duration.ofMillis(50))
        .until(
            () ->
                runs.stream()
                    .map(
                        id ->
                            gateway
                                .call("GET", "/v1/runs/" + id, null, TestGateway.OPERATOR_TOKEN)
                                .body()
                                .path("status")
                                .asText())
                    .toList(),
            seen -> seen.stream().anyMatch(statuses::contains));
  }
}
