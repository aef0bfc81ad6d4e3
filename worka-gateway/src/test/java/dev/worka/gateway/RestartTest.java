package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded database lives under WORKA_HOME: a restarted Gateway keeps every run and its story.
 */
class RestartTest {
  @TempDir Path home;

  @Test
  void aRestartDoesNotUndoAnOperatorsPolicyChange() throws Exception {
    String stricter =
        dev.worka.gateway.policy.BuiltinPolicy.source()
            .replace("      - github.create_issue\n", "");
    try (TestGateway gw = TestGateway.start(home, null, null)) {
      assertEquals(1, gw.gateway.policy().version());
      TestGateway.Answer put =
          gw.call(
              "PUT",
              "/v1/policy",
              stricter,
              java.util.Map.of("Authorization", "Bearer " + TestGateway.OPERATOR_TOKEN));
      assertEquals(201, put.status(), put.raw().body());
    }
    try (TestGateway gw = TestGateway.start(home, null, null)) {
      assertEquals(2, gw.gateway.policy().version(), "the operator's v2 stays active");
      assertEquals(2, gw.operator("GET", "/v1/policy", null).body().path("version").asInt());
    }
  }

  @Test
  void aRestartWithTheSameHomeKeepsEveryRun() throws Exception {
    String policy = TestGateway.builtinPolicyForTests();
    String done;
    String rejected;
    JsonNode before;
    try (TestGateway gw = TestGateway.start(home, null, policy)) {
      done = gw.submit("open an issue in acme/docs titled 'Typo in README'");
      rejected = gw.submit("delete the repository acme/docs");
      gw.finish(done);
      gw.finish(rejected);
      before = gw.story(done);
    }
    assertEquals(true, Files.exists(home.resolve("postgres").resolve("PG_VERSION")));
    try (TestGateway gw = TestGateway.start(home, null, policy)) {
      JsonNode after = gw.story(done);
      assertEquals(before, after, "the story is the same after a restart");
      assertEquals("succeeded", after.path("status").asText());
      assertEquals("rejected", gw.story(rejected).path("status").asText());
      assertEquals(2, gw.operator("GET", "/v1/runs", null).body().path("runs").size());
      assertEquals(1, gw.gateway.policy().version(), "the same manifest is not stored twice");
    }
  }
}
