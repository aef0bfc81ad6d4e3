package dev.worka.gateway.skill.github;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end in live mode: a real Gateway (configured from its environment, with GITHUB_MCP_URL and
 * GITHUB_TOKEN), real planner and worker processes, and the counting GitHub MCP server.
 */
class GithubLiveGatewayTest {
  static final String TOKEN = "ghp-gateway-Secret-Token-424242";

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  @Test
  void aLiveRunOpensExactlyOneIssueThroughTheMcpServer() throws Exception {
    try (CountingGithubMcpServer server = CountingGithubMcpServer.http(0, TOKEN, Set.of());
        TestGateway gw =
            TestGateway.startWithEnvironment(
                home,
                db.url(),
                TestGateway.builtinPolicyForTests(),
                "live",
                Map.of("GITHUB_MCP_URL", server.url(), "GITHUB_TOKEN", TOKEN))) {
      JsonNode skills = gw.operator("GET", "/v1/skills", null).body().path("skills");
      for (JsonNode s : skills) {
        String name = s.path("name").asText();
        if (Set.of(
                "github.search_issues",
                "github.get_issue",
                "github.create_issue",
                "github.add_issue_comment")
            .contains(name)) {
          assertTrue(s.path("available").asBoolean(), s.toString());
        } else if (name.equals("github.delete_repository")) {
          assertTrue(
              s.path("unavailable_reason").asText().contains("delete_repository"), s.toString());
        }
      }

      JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'Live one'"));

      assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
      assertEquals(1, server.effects("create_issue"), "issues created");
      assertEquals(1, server.calls("create_issue"), "create_issue calls");
      CountingGithubMcpServer.Issue issue = server.issues("acme", "widgets").get(0);
      assertEquals("Live one", issue.title());
      JsonNode invocation = run.path("skill_invocations").get(0);
      assertEquals("github.create_issue", invocation.path("skill").asText(), run.toPrettyString());
      String invocationId = invocation.path("invocation_id").asText();
      assertTrue(
          issue.body().endsWith("<!-- worka-invocation:" + invocationId + " -->"), issue.body());
      assertFalse(invocation.path("dry_run").asBoolean(), invocation.toString());
      String url = "https://github.test/acme/widgets/issues/1";
      assertEquals(url, invocation.path("output").path("url").asText(), invocation.toString());
      assertTrue(server.authorizationHeaders().stream().allMatch(h -> h.equals("Bearer " + TOKEN)));
      assertFalse(run.toString().contains(TOKEN));

      assertEquals(
          url,
          upstreamRef(UUID.fromString(invocationId)),
          "the invocation records the issue's URL");
    }
  }

  static String upstreamRef(UUID invocation) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement("select upstream_ref from skill_invocations where id = ?")) {
      ps.setObject(1, invocation);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next(), "invocation " + invocation + " is recorded");
        return rs.getString(1);
      }
    }
  }
}
