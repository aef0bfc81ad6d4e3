package dev.worka.gateway.delivery.github;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.delivery.AnswerPlace;
import dev.worka.gateway.delivery.HeldInput;
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
import java.time.Instant;
import java.util.List;
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
 * <p>A call of the run held for approval is asked about on the same issue ({@link #askApproval}),
 * with how a named GitHub approver answers ({@code /worka approve ID}, {@code /worka deny ID
 * [reason]}); how the request ended is told there once ({@link #approvalOutcome}).
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

  /** What an approval comment shows of a held call and its outcome (from {@code mediation}). */
  public record HeldCall(
      String agent,
      String skill,
      String inputJson,
      Instant expiresAt,
      List<String> approvers,
      String status,
      String decidedBy) {}

  /** The command an approver comments to approve ({@code /worka approve ID}). */
  public static final String APPROVE_COMMAND = "/worka approve";

  /** The command an approver comments to deny ({@code /worka deny ID [reason]}). */
  public static final String DENY_COMMAND = "/worka deny";

  private volatile Function<UUID, Optional<HeldCall>> approvals = id -> Optional.empty();

  /** Where {@link #askApproval} and {@link #approvalOutcome} read the held call. */
  public void askApprovalsFrom(Function<UUID, Optional<HeldCall>> approvals) {
    this.approvals = Objects.requireNonNull(approvals, "approvals");
  }

  private HeldCall held(UUID approvalId) {
    return approvals
        .apply(approvalId)
        .orElseThrow(
            () ->
                new NotificationFailedException(
                    "approval " + approvalId + " is not known to this Gateway", false));
  }

  /**
   * A comment on the run's issue asking the named approvers: which agent asks to call which skill
   * in which run, the approvers, the expiry, the input (redacted, cut, in a code block it cannot
   * close; made inert by the provider) and how to answer: {@code /worka approve ID} or {@code
   * /worka deny ID [reason]}, a comment of its own on this issue (the ingress decides on it).
   */
  @Override
  public Optional<String> askApproval(Run run, UUID approvalId, boolean maybeSentBefore) {
    HeldCall a = held(approvalId);
    if (!"pending".equals(a.status())) {
      return Optional.empty(); // decided or expired before it could be asked: nothing to ask
    }
    String input = HeldInput.shown(a.inputJson(), redactor);
    String fence = "`".repeat(Math.max(3, longestBacktickRun(input) + 1));
    String text =
        "**Approval needed.** Agent `"
            + a.agent()
            + "` asks to call `"
            + a.skill()
            + "` in run `"
            + run.id()
            + "`; nothing is performed until a named approver decides.\n\n"
            + "Approvers: "
            + String.join(", ", a.approvers().stream().map(x -> "`" + x + "`").toList())
            + ". Expires "
            + a.expiresAt()
            + ". Approval `"
            + approvalId
            + "`.\n\n"
            + fence
            + "json\n"
            + input
            + "\n"
            + fence
            + "\n\nTo decide, a named GitHub approver comments on this issue with only:\n\n"
            + "    "
            + APPROVE_COMMAND
            + " "
            + approvalId
            + "\n\nor\n\n    "
            + DENY_COMMAND
            + " "
            + approvalId
            + " REASON\n\n(Others may decide with `worka approvals` or the console.)";
    return comment(run, RunNotifications.stored(RunNotifications.Kind.APPROVAL, approvalId), text);
  }

  /** A comment on the run's issue saying how approval {@code approvalId} ended. */
  @Override
  public Optional<String> approvalOutcome(Run run, UUID approvalId, String askedAt) {
    HeldCall a = held(approvalId);
    String head = "Approval `" + approvalId + "` (`" + a.skill() + "` in run `" + run.id() + "`)";
    String text =
        switch (a.status()) {
          case "approved" ->
              head
                  + ": approved by `"
                  + a.decidedBy()
                  + "`. Worka performs exactly the held call, once.";
          case "denied" ->
              head + ": denied by `" + a.decidedBy() + "`. The call was not performed.";
          case "expired" ->
              head
                  + ": expired at "
                  + a.expiresAt()
                  + " before a named approver decided. The call was not performed.";
          default -> null;
        };
    if (text == null) {
      return Optional.empty(); // still pending: nothing to tell (never owed before it closes)
    }
    return comment(
        run, RunNotifications.stored(RunNotifications.Kind.APPROVAL_OUTCOME, approvalId), text);
  }

  private static int longestBacktickRun(String s) {
    int longest = 0;
    int run = 0;
    for (int i = 0; i < s.length(); i++) {
      run = s.charAt(i) == '`' ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    return longest;
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
