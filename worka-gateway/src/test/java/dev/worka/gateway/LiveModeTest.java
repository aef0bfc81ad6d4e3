package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** In live mode a skill whose provider is not configured is refused as unavailable, never faked. */
class LiveModeTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  @Test
  void aPlanNeedingAnUnconfiguredProviderIsRejectedWithTheReason() throws Exception {
    try (TestGateway gw =
        TestGateway.start(home, db.url(), TestGateway.builtinPolicyForTests(), "live")) {
      JsonNode skills = gw.operator("GET", "/v1/skills", null).body().path("skills");
      for (JsonNode s : skills) {
        assertFalse(s.path("available").asBoolean(), s.toString());
        assertFalse(s.path("unavailable_reason").asText().isEmpty());
      }
      JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Live one'"));
      assertEquals("rejected", run.path("status").asText(), run.toPrettyString());
      assertTrue(
          run.path("error").asText().contains("unavailable")
              || run.path("error").asText().contains("GITHUB"),
          run.path("error").asText());
      assertTrue(run.path("skill_invocations").isEmpty());
    }
  }
}
