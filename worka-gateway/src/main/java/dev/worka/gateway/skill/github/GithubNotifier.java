package dev.worka.gateway.skill.github;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.delivery.NotificationFailedException;
import dev.worka.gateway.delivery.RunNotifier;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;

/**
 * Answers runs started by a GitHub comment with comments on the same issue or pull request: an
 * acknowledgement with the run id, then the result, or what was refused or failed and why —
 * through the Gateway's GitHub MCP session ({@code add_issue_comment}), with the Gateway's token.
 *
 * <p>Each answer carries a marker derived from the run and its kind, and is looked up before every
 * post (whether or not an earlier attempt may have posted it), so an answer whose sending was
 * interrupted (the Gateway died) is not posted twice. In
 * dry-run mode nothing is posted; the notification records that it was not.
 */
public final class GithubNotifier implements RunNotifier {
  private static final int MAX_BODY = 60_000;

  private final McpGithubProvider github;
  private final SkillDefinition addComment;
  private final boolean dryRun;

  /**
   * @param github the live GitHub provider; null when there is none
   * @param dryRun whether side effects are dry-run: then nothing is posted
   */
  public GithubNotifier(McpGithubProvider github, boolean dryRun) {
    this.github = github;
    this.dryRun = dryRun;
    this.addComment = github == null ? null : github.skills().stream()
        .filter(s -> s.name().equals("github.add_issue_comment")).findFirst().orElseThrow();
  }

  @Override
  public String source() {
    return "github";
  }

  @Override
  public Optional<String> acknowledge(Run run, boolean maybeSentBefore) {
    return comment(run, "ack", "Worka accepted this request as run `" + run.id() + "`; it will answer here.");
  }

  @Override
  public Optional<String> deliver(Run run, boolean maybeSentBefore) {
    StringBuilder text = new StringBuilder("Worka run `").append(run.id()).append("` ");
    if (run.status() == RunStatus.SUCCEEDED) {
      text.append("succeeded.");
      String summary = run.resultJson() == null ? "" : Json.parse(run.resultJson()).path("summary").asText("");
      if (!summary.isBlank()) {
        text.append("\n\n").append(summary);
      }
    } else {
      text.append(run.status() == RunStatus.REJECTED ? "was refused" : "ended " + run.status().sql());
      if (run.error() != null && !run.error().isBlank()) {
        text.append(": ").append(run.error());
      }
    }
    return comment(run, "result", text.toString());
  }

  private Optional<String> comment(Run run, String kind, String text) {
    JsonNode target = run.deliveryJson() == null ? null : Json.parse(run.deliveryJson());
    if (target == null || !target.path("owner").isTextual() || !target.path("repo").isTextual()
        || !target.path("issue_number").canConvertToLong()) {
      throw new NotificationFailedException("run " + run.id() + " does not say which GitHub issue it came from", false);
    }
    if (dryRun) {
      return Optional.of("not posted: WORKA_SIDE_EFFECTS=dry-run");
    }
    if (github == null) {
      throw new NotificationFailedException("GitHub is not configured: set GITHUB_MCP_URL (or GITHUB_MCP_COMMAND)"
          + " and GITHUB_TOKEN so Worka can answer on GitHub", false);
    }
    ObjectNode input = Json.STRICT.createObjectNode()
        .put("owner", target.get("owner").asText())
        .put("repo", target.get("repo").asText())
        .put("issue_number", target.get("issue_number").asLong())
        .put("body", clip(noMentions(text)));
    UUID answer = UUID.nameUUIDFromBytes(("worka-answer:" + run.id() + ":" + kind).getBytes(StandardCharsets.UTF_8));
    InvocationContext ctx = new InvocationContext(run.id(), null, "gateway", answer, null);
    switch (github.reconcile(addComment, input, ctx)) {
      case SkillProvider.Reconciliation.Performed p -> {
        return Optional.ofNullable(p.upstreamRef());
      }
      case SkillProvider.Reconciliation.Unknown u -> throw new NotificationFailedException(
          "cannot tell whether the " + kind + " was already posted: " + u.why(), true);
      case SkillProvider.Reconciliation.NotPerformed n -> { }
    }
    try {
      JsonNode output = github.invoke(addComment, input, ctx);
      return github.upstreamRef(addComment, output);
    } catch (SkillUnavailableException e) {
      throw new NotificationFailedException(e.getMessage(), true, e);
    } catch (SkillFailedException e) {
      throw new NotificationFailedException(e.getMessage(), e.retryable()
          || e instanceof dev.worka.gateway.skill.SkillOutcomeUnknownException, e);
    }
  }

  /** {@code @name} would notify that user or team on GitHub: answers mention nobody. */
  static String noMentions(String text) {
    return text.replaceAll("@(?=[A-Za-z0-9])", "@\u200b");
  }

  private static String clip(String text) {
    return text.length() <= MAX_BODY ? text : text.substring(0, MAX_BODY) + "\n\n… (cut: see the run in Worka)";
  }
}
