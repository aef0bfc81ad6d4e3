package dev.worka.gateway.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.redaction.Redactor;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** What a public answer says of a failure: the start of the run's error, cleaned. */
class PublicReasonTest {
  private static final UUID RUN = UUID.fromString("0b6c2a1e-4f3d-4c55-9a7e-2f1d0c9b8a77");
  private static final String CONFIGURED = "configured-Secret-0042";
  private static final Redactor REDACTOR = new Redactor(List.of(CONFIGURED));

  private static String reason(String error) {
    return PublicReason.of(error, RUN, REDACTOR);
  }

  @Test
  void anOrdinaryReasonIsKeptAsItIs() {
    assertEquals(
        "plan rejected: step 'x': skill github.delete_repository is not on ernest's allowlist",
        reason(
            "plan rejected: step 'x': skill github.delete_repository is not on ernest's allowlist"));
    assertEquals("cancelled by operator: not needed", reason("cancelled by operator: not needed"));
    assertNull(reason(null));
    assertNull(reason("  "));
  }

  @Test
  void upstreamBodiesStackTracesSqlAndExceptionsAreCutOff() {
    String upstream =
        "step file (ernest) failed: github.create_issue failed: the Gateway answered HTTP 502"
            + " skill_failed: GitHub MCP tool create_issue answered with an error: POST"
            + " https://x-access-token:ghp_"
            + "A".repeat(36)
            + "@api.github.com/repos/acme/widgets/issues?token=abc:"
            + " 422 {\"message\": \"Validation Failed\", \"documentation_url\": \"https://docs.github.com/rest\"}"
            + "\n\tat org.kohsuke.github.GitHubClient.send(GitHubClient.java:123)"
            + " — see the burns of run "
            + RUN;
    String out = reason(upstream);
    assertEquals(
        "step file (ernest) failed: github.create_issue failed: the Gateway answered HTTP 502 skill_failed:"
            + " GitHub MCP tool create_issue answered with an error: POST https://api.github.com/…: 422 …",
        out);

    assertEquals(
        "could not store it …",
        reason(
            "could not store it: org.postgresql.util.PSQLException: ERROR:"
                + " duplicate key value violates unique constraint \"runs_pkey\""));
    assertEquals(
        "the database said …",
        reason("the database said ERROR: relation \"gates\" does not exist"));
    assertEquals("query …", reason("query select secret from users where id = 1 failed"));
    assertEquals("it broke …", reason("it broke: IllegalStateException: invariant"));
    assertEquals(
        "worker crashed …",
        reason("worker crashed\n\tat dev.worka.agents.AgentMain.main(AgentMain.java:10)"));
    assertEquals("one line …", reason("one line\nsecond line with more"));
    assertEquals("got …", reason("got <!DOCTYPE html><html><body>502 Bad Gateway</body></html>"));
  }

  @Test
  void credentialsIdsAndPathsAreRemoved() {
    String step = UUID.randomUUID().toString();
    String out =
        reason(
            "step "
                + step
                + " of run "
                + RUN
                + " failed: postgresql://worka:hunter2@db.internal:5432/worka"
                + " refused; password=hunter2 token: abc123 Authorization: Bearer abcdefghijklmnop; key "
                + CONFIGURED
                + " and xoxb-1234567890-abcdefghij; see /home/worka/.worka/postgres.password");
    assertFalse(out.contains(step), out);
    assertTrue(out.contains("run " + RUN), "the run's own id stays: " + out);
    assertFalse(out.contains("hunter2"), out);
    assertFalse(out.contains("abc123"), out);
    assertFalse(out.contains("abcdefghijklmnop"), out);
    assertFalse(out.contains(CONFIGURED), out);
    assertFalse(out.contains("xoxb-"), out);
    assertFalse(out.contains("/home/worka"), out);
    assertFalse(out.contains("db.internal:5432"), out);
    assertTrue(out.contains("postgresql://db.internal/…"), out);
    assertTrue(out.startsWith("step … of run "), out);
  }

  @Test
  void aLongReasonIsCutAtAWordAndMarked() {
    String out = reason("word ".repeat(200));
    assertTrue(out.length() <= PublicReason.MAX_LENGTH + 2, out.length() + ": " + out);
    assertTrue(out.endsWith("word …"), out);
    assertEquals(PublicReason.WITHHELD, reason("{\"message\": \"only a body\"}"));
  }
}
