package dev.worka.gateway.skill;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * A provider that knows its skills (names, input schemas, side effects) but makes no live call, so
 * every live call is unavailable and says why. Dry-run calls never reach a provider, so these serve
 * dry-run mode fully; in live mode with the upstream configured the Gateway uses the live providers
 * instead ({@code skill.github.McpGithubProvider}, {@code skill.slack.SlackProvider}), which take
 * their skills from these catalogs.
 *
 * <ul>
 *   <li>{@link #github}: inputs are the GitHub MCP server's tool parameters — {@code
 *       github.search_issues}, {@code get_issue}, {@code create_issue}, {@code add_issue_comment},
 *       and {@code delete_repository} (dangerous: known so that a policy can refuse it by name).
 *       Live, through an MCP server at {@code GITHUB_MCP_URL} or started from {@code
 *       GITHUB_MCP_COMMAND}.
 *   <li>{@link #slack}: inputs are the Slack Web API's parameters — {@code slack.read_thread}
 *       ({@code conversations.replies}) and {@code slack.post_message} ({@code chat.postMessage}).
 *       Live, through the Web API with {@code SLACK_BOT_TOKEN}.
 * </ul>
 */
public final class CatalogOnlyProvider implements SkillProvider {
  public static final String GITHUB = "github";
  public static final String SLACK = "slack";

  private final String name;
  private final String upstream;
  private final SkillCatalog catalog;
  private final Availability.Unavailable unavailable;

  CatalogOnlyProvider(
      String name, String upstream, String catalogResource, String unavailableReason) {
    this.name = name;
    this.upstream = upstream;
    this.catalog = SkillCatalog.load(catalogResource);
    this.unavailable = new Availability.Unavailable(unavailableReason);
  }

  /**
   * The providers Worka ships, configured from the Gateway's environment (only presence is read).
   */
  public static List<SkillProvider> builtIn(Map<String, String> environment) {
    return List.of(
        github(isSet(environment, "GITHUB_MCP_URL") || isSet(environment, "GITHUB_MCP_COMMAND")),
        slack(isSet(environment, "SLACK_BOT_TOKEN")));
  }

  /**
   * The GitHub catalog; a call says what to set to call GitHub live.
   *
   * @param mcpConfigured whether {@code GITHUB_MCP_URL} or {@code GITHUB_MCP_COMMAND} is set
   */
  public static CatalogOnlyProvider github(boolean mcpConfigured) {
    return new CatalogOnlyProvider(
        GITHUB,
        "GitHub",
        "github.skills.json",
        mcpConfigured
            ? "GitHub is configured, but live GitHub calls are made only with WORKA_SIDE_EFFECTS=live"
            : "GitHub is not configured: set GITHUB_MCP_URL (a GitHub MCP server's URL) or"
                + " GITHUB_MCP_COMMAND (a command that starts one on stdio), and GITHUB_TOKEN;"
                + " or use WORKA_SIDE_EFFECTS=dry-run");
  }

  /**
   * The Slack catalog; a call says what to set to call Slack live.
   *
   * @param botTokenConfigured whether {@code SLACK_BOT_TOKEN} is set
   */
  public static CatalogOnlyProvider slack(boolean botTokenConfigured) {
    return new CatalogOnlyProvider(
        SLACK,
        "Slack",
        "slack.skills.json",
        botTokenConfigured
            ? "Slack is configured, but live Slack calls are made only with WORKA_SIDE_EFFECTS=live"
            : "Slack is not configured: set SLACK_BOT_TOKEN (and SLACK_API_URL for a"
                + " non-default endpoint); or use WORKA_SIDE_EFFECTS=dry-run");
  }

  static boolean isSet(Map<String, String> environment, String variable) {
    String value = environment.get(variable);
    return value != null && !value.isBlank();
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String upstream() {
    return upstream;
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
    return "CatalogOnlyProvider[" + name + ", " + unavailable + "]";
  }
}
