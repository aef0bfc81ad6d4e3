package dev.worka.gateway.ingress.slack;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzes how the Slack ingress reads the requester's workspace from a signed Events API callback
 * (whatever Slack, or a holder of the signing secret, sends). Property: it never throws, and names
 * a workspace only with a non-blank value.
 */
class SlackPayloadFuzzTest {
  @FuzzTest(maxDuration = "10s")
  void requesterTeamNeverThrows(FuzzedDataProvider data) {
    String json = data.consumeRemainingAsString();
    String team = SlackIngress.requesterTeam(json);
    assertTrue(team == null || !team.isBlank(), () -> "'" + team + "' from " + json);
  }
}
