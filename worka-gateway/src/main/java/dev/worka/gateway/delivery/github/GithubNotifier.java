package dev.worka.gateway.delivery.github;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.delivery.AnswerPlace;
import dev.worka.gateway.delivery.NotificationFailedException;
import dev.worka.gateway.delivery.PublicReason;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.delivery.RunNotifier;
import dev.worka.gateway.redaction.Redactor;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.gateway.skill.github.McpGithubProvider;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Answers runs started by a GitHub comment with comments on the same issue or pull request: an
 * acknowledgement with the run id, then the result, or what was refused or failed and why — through
 * the Gateway's GitHub MCP session ({@code add_issue_comment}), with the Gateway's token.
 *
 * <p>It posts only to the issue {@link #place} names — the one the run's row records from the
 * signed delivery — after the loop's {@code delivery.post} gate allowed it. A run that did not
 * succeed is answered with its {@linkplain PublicReason public reason} only, never its whole error.
 * What it posts goes through the provider's {@code add_issue_comment}, which makes it inert ({@link
 * GithubText}: no mention — not even of {@code @worka}, so an answer starts no run —, no link whose
 * text hides its target).
 *
 * <p>Each answer carries a marker derived from the run and its kind, and is looked up before every
 * post (whether or not an earlier attempt may have posted it), so an answer whose sending was
 * interrupted (the Gateway died) is not posted twice. In dry-run mode nothing is posted; the
 * notification records that it was not.
 */
public final class GithubNotifier implements RunNotifier {
  private static final int MAX_BODY = 60_000;

  private static final Pattern OWNER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9-]{0,38}");
  private static final Pattern REPO = Pattern.compile("(?!\\.{1,2}$)[A-Za-z0-9._-]{1,100}");

  private final McpGithubProvider github;
  private final SkillDefinition addComment;
  private final boolean dryRun;
  private final Redactor redactor;
  private final Function<String, Optional<String>> traceLink;

  /**
   * @param github the live GitHub provider; null when there is none
   * @param dryRun whether side effects are dry-run: then nothing is posted
   * @param redactor the Gateway's secrets, redacted from a failure's public reason
   */
  public GithubNotifier(McpGithubProvider github, boolean dryRun, Redactor redactor) {
    this(github, dryRun, redactor, traceId -> Optional.empty());
  }

  /**
   * As the other constructor; {@code traceLink} gives, for a run's trace id, where a person sees
   * its trace (Langfuse's page), appended to the result.
   */
  public GithubNotifier(
      McpGithubProvider github,
      boolean dryRun,
      Redactor redactor,
      Function<String, Optional<String>> traceLink) {
    this.traceLink = Objects.requireNonNull(traceLink, "traceLink");
    this.github = github;
    this.dryRun = dryRun;
    this.redactor = Objects.requireNonNull(redactor, "redactor");
    this.addComment =
        github == null
            ? null
            : github.skills().stream()
                .filter(s -> s.name().equals("github.add_issue_comment"))
                .findFirst()
                .orElseThrow();
  }

  @Override
  public RunSource source() {
    return RunSource.GITHUB;
  }

  /** The issue (or pull request) a GitHub run came from. */
  private record Where(String owner, String repo, long issueNumber) {}

  @Override
  public AnswerPlace place(Run run) {
    return where(run)
        .<AnswerPlace>map(
            w ->
                new AnswerPlace.At(
                    RunSource.GITHUB, w.owner() + "/" + w.repo() + "#" + w.issueNumber()))
        .orElseGet(
            () ->
                new AnswerPlace.Nowhere(
                    "run "
                        + run.id()
                        + " records no GitHub issue, or one that is not"
                        + " an owner/repo#number"));
  }

  /** The run's issue, when its delivery context names a well-formed one. */
  private static Optional<Where> where(Run run) {
    JsonNode target;
    try {
      target = run.deliveryJson() == null ? null : Json.parse(run.deliveryJson());
    } catch (RuntimeException e) {
      return Optional.empty();
    }
    if (target == null
        || !target.path("owner").isTextual()
        || !target.path("repo").isTextual()
        || !target.path("issue_number").canConvertToLong()
        || target.path("issue_number").asLong() < 1
        || !OWNER.matcher(target.get("owner").asText()).matches()
        || !REPO.matcher(target.get("repo").asText()).matches()) {
      return Optional.empty();
    }
    return Optional.of(
        new Where(
            target.get("owner").asText(),
            target.get("repo").asText(),
            target.get("issue_number").asLong()));
  }

  @Override
  public Optional<String> acknowledge(Run run, boolean maybeSentBefore) {
    return comment(
        run,
        RunNotifications.Kind.ACK.sql(),
        "Worka accepted this request as run `" + run.id() + "`; it will answer here.");
  }

  @Override
  public Optional<String> deliver(Run run, boolean maybeSentBefore) {
    StringBuilder text = new StringBuilder("Worka run `").append(run.id()).append("` ");
    if (run.status() == RunStatus.SUCCEEDED) {
      text.append("succeeded.");
      String summary =
          run.resultJson() == null ? "" : Json.parse(run.resultJson()).path("summary").asText("");
      if (!summary.isBlank()) {
        text.append("\n\n").append(summary);
      }
    } else {
      text.append(PublicReason.ending(run));
      String reason = PublicReason.of(run, redactor);
      text.append(reason == null ? "." : ": " + reason);
    }
    traceLink.apply(run.traceId()).ifPresent(link -> text.append("\n\nTrace: ").append(link));
    return comment(run, RunNotifications.Kind.RESULT.sql(), text.toString());
  }

  private Optional<String> comment(Run run, String kind, String text) {
    Where target =
        where(run)
            .orElseThrow(
                () ->
                    new NotificationFailedException(
                        "run " + run.id() + " does not say which GitHub issue it came from",
                        false));
    if (dryRun) {
      return Optional.of("not posted: WORKA_SIDE_EFFECTS=dry-run");
    }
    if (github == null) {
      throw new NotificationFailedException(
          "GitHub is not configured: set GITHUB_MCP_URL (or GITHUB_MCP_COMMAND)"
              + " and GITHUB_TOKEN so Worka can answer on GitHub",
          false);
    }
    ObjectNode input =
        Json.STRICT
            .createObjectNode()
            .put("owner", target.owner())
            .put("repo", target.repo())
            .put("issue_number", target.issueNumber())
            .put("body", clip(text)); // made inert by the provider's add_issue_comment (GithubText)
    UUID answer =
        UUID.nameUUIDFromBytes(
            ("worka-answer:" + run.id() + ":" + kind).getBytes(StandardCharsets.UTF_8));
    InvocationContext ctx = new InvocationContext(run.id(), null, "gateway", answer, null);
    switch (github.reconcile(addComment, input, ctx)) {
      case SkillProvider.Reconciliation.Performed p -> {
        return Optional.ofNullable(p.upstreamRef());
      }
      case SkillProvider.Reconciliation.Unknown u ->
          throw new NotificationFailedException(
              "cannot tell whether the " + kind + " was already posted: " + u.why(), true);
      case SkillProvider.Reconciliation.NotPerformed n -> {}
    }
    try {
      JsonNode output = github.invoke(addComment, input, ctx);
      return github.upstreamRef(addComment, output);
    } catch (SkillUnavailableException e) {
      throw new NotificationFailedException(e.getMessage(), true, e);
    } catch (SkillFailedException e) {
      throw new NotificationFailedException(
          e.getMessage(),
          e.retryable() || e instanceof dev.worka.gateway.skill.SkillOutcomeUnknownException,
          e);
    }
  }

  private static String clip(String text) {
    return text.length() <= MAX_BODY
        ? text
        : text.substring(0, MAX_BODY) + "\n\n… (cut: see the run in Worka)";
  }
}
