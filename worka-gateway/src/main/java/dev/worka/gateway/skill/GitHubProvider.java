package dev.worka.gateway.skill;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * GitHub skills, whose inputs are the GitHub MCP server's tool parameters: {@code
 * github.search_issues}, {@code github.get_issue}, {@code github.create_issue}, {@code
 * github.add_issue_comment}, and {@code github.delete_repository} (dangerous: known so that a
 * policy can refuse it by name).
 *
 * <p>The live client (an MCP client of a GitHub MCP server, at {@code GITHUB_MCP_URL} or started
 * from {@code GITHUB_MCP_COMMAND}) is not built yet: live calls are unavailable and say so.
 */
public final class GitHubProvider implements SkillProvider {
  public static final String NAME = "github";
  static final String MCP_URL = "GITHUB_MCP_URL";
  static final String MCP_COMMAND = "GITHUB_MCP_COMMAND";

  private final SkillCatalog catalog = SkillCatalog.load("github.skills.json");
  private final Availability.Unavailable unavailable;

  /**
   * @param mcpConfigured whether {@code GITHUB_MCP_URL} or {@code GITHUB_MCP_COMMAND} is set
   */
  public GitHubProvider(boolean mcpConfigured) {
    this.unavailable =
        new Availability.Unavailable(
            mcpConfigured
                ? "GitHub live calls need the GitHub MCP client, which is not built yet;"
                    + " use WORKA_SIDE_EFFECTS=dry-run"
                : "GitHub is not configured: set GITHUB_MCP_URL (a GitHub MCP server's URL) or"
                    + " GITHUB_MCP_COMMAND (a command that starts one on stdio), and GITHUB_TOKEN;"
                    + " or use WORKA_SIDE_EFFECTS=dry-run");
  }

  /** Configured from the Gateway's environment variables (only their presence is read). */
  public static GitHubProvider fromEnvironment(Map<String, String> environment) {
    return new GitHubProvider(isSet(environment, MCP_URL) || isSet(environment, MCP_COMMAND));
  }

  static boolean isSet(Map<String, String> environment, String name) {
    String value = environment.get(name);
    return value != null && !value.isBlank();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String upstream() {
    return "GitHub";
  }

  @Override
  public List<SkillDefinition> skills() {
    return catalog.skills();
  }

  @Override
  public Availability availability() {
    return unavailable;
  }

  @Override
  public JsonNode invoke(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    throw new SkillUnavailableException(skill.name(), unavailable.reason());
  }

  @Override
  public JsonNode dryRunShape(SkillDefinition skill) {
    return catalog.dryRunShape(skill);
  }

  @Override
  public String toString() {
    return "GitHubProvider[" + unavailable + "]";
  }
}
