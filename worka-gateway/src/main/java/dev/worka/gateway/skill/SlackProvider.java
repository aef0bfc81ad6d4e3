package dev.worka.gateway.skill;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * Slack skills, whose inputs are the Slack Web API's parameters: {@code slack.read_thread} ({@code
 * conversations.replies}) and {@code slack.post_message} ({@code chat.postMessage}).
 *
 * <p>The live client (Slack's Web API with {@code SLACK_BOT_TOKEN}) is not built yet: live calls
 * are unavailable and say so.
 */
public final class SlackProvider implements SkillProvider {
  public static final String NAME = "slack";
  static final String BOT_TOKEN = "SLACK_BOT_TOKEN";

  private final SkillCatalog catalog = SkillCatalog.load("slack.skills.json");
  private final Availability.Unavailable unavailable;

  /**
   * @param botTokenConfigured whether {@code SLACK_BOT_TOKEN} is set
   */
  public SlackProvider(boolean botTokenConfigured) {
    this.unavailable =
        new Availability.Unavailable(
            botTokenConfigured
                ? "Slack live calls need the Slack Web API client, which is not built yet;"
                    + " use WORKA_SIDE_EFFECTS=dry-run"
                : "Slack is not configured: set SLACK_BOT_TOKEN (and SLACK_API_URL for a"
                    + " non-default endpoint); or use WORKA_SIDE_EFFECTS=dry-run");
  }

  /** Configured from the Gateway's environment variables (only their presence is read). */
  public static SlackProvider fromEnvironment(Map<String, String> environment) {
    return new SlackProvider(GitHubProvider.isSet(environment, BOT_TOKEN));
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String upstream() {
    return "Slack";
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
    return "SlackProvider[" + unavailable + "]";
  }
}
