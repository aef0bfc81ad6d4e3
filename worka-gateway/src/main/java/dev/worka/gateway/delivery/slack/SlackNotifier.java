package dev.worka.gateway.delivery.slack;

import com.fasterxml.jackson.databind.JsonNode;
import com.slack.api.methods.MethodsClient;
import com.slack.api.methods.response.chat.ChatPostMessageResponse;
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
import dev.worka.gateway.skill.slack.MarkedMessages;
import dev.worka.gateway.skill.slack.SlackErrors;
import dev.worka.gateway.skill.slack.SlackText;
import dev.worka.protocol.Json;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers runs that came from Slack in the conversation they came from, with {@code
 * chat.postMessage} and the Gateway's bot token: an acknowledgement with the run id, then the
 * result (its cleaned summary) — or what was refused or failed, and why. Replies go into the run's
 * thread ({@link Run#slackThreadTs()}); a run without one (a slash command) is answered in its
 * conversation.
 *
 * <p>Nothing it posts can notify anyone or disguise a link: text from the run goes through {@link
 * SlackText#inert} (broadcasts and user-group mentions become plain {@code @\u200bname}; {@code & <
 * >} are escaped as Slack asks, so no {@code <@U…>}, {@code <#C…>} or {@code <url|label>} survives
 * as markup); mentions by name are off ({@code link_names=false}, {@code parse=none}) and so are
 * unfurls. A run that did not succeed is answered with its {@linkplain PublicReason public reason}
 * only — never its whole error (upstream bodies, URLs with credentials, stack traces, ids). Answers
 * are posted in dry-run mode too (answering the requester is the Gateway's delivery, not an agent's
 * side effect); the acknowledgement then says that it is a dry run. It posts only to the place
 * {@link #place} names — the conversation and thread the run's row records — after the loop's
 * {@code delivery.post} gate allowed it.
 *
 * <p>Each answer is marked (message metadata {@value #METADATA_EVENT_TYPE}, {@code {"run": …,
 * "kind": "ack"|"result"}}). When an earlier attempt may have posted it — it failed, perhaps after
 * Slack took it, or its Gateway died while sending — the conversation is searched for the mark
 * first ({@code conversations.replies} / {@code conversations.history}) and a found answer is not
 * posted again; if Slack cannot be asked the attempt fails and is tried again later, except when
 * the app may not read the conversation (a missing scope), when it is posted again.
 *
 * <p>A call of the run held for approval is asked about in the same thread ({@link #askApproval}):
 * the agent, skill, approvers, expiry and the input (inert, redacted, cut, in a code block it
 * cannot close), with Approve/Deny buttons ({@value #APPROVE} / {@value #DENY}, value the approval
 * id) that the ingress's interactivity route decides on.
 *
 * <p>Failures carry whether to try again: rate limits, Slack's transient errors and 5xx are
 * retryable; {@code channel_not_found}, {@code not_in_channel}, {@code invalid_auth} and every
 * other error Slack names are not.
 */
public final class SlackNotifier implements RunNotifier {
  /** Slack truncates longer messages; answers are cut well before. */
  static final int MAX_TEXT = 3500;

  /**
   * The mark on Worka's answers (message metadata), with {@code {"run": id, "kind":
   * "ack"|"result"}}.
   */
  public static final String METADATA_EVENT_TYPE = "worka_run_answer";

  private static final Logger log = LoggerFactory.getLogger(SlackNotifier.class);

  private static final Pattern CHANNEL = Pattern.compile("[CDG][A-Z0-9]{2,20}");
  private static final Pattern TS = Pattern.compile("[0-9]{1,12}\\.[0-9]{1,9}");

  private final MethodsClient methods;
  private final boolean dryRun;
  private final Redactor redactor;
  private final Function<String, Optional<String>> traceLink;
  private volatile Function<UUID, Optional<ApprovalAsk>> approvals = id -> Optional.empty();

  /**
   * What an approval message shows of a held call (from {@code mediation.Approvals}): {@code
   * status} is one of pending, approved, denied, expired; {@code decidedBy} and {@code decidedAt}
   * are null until it is decided.
   */
  public record ApprovalAsk(
      String agent,
      String skill,
      String inputJson,
      java.time.Instant expiresAt,
      List<String> approvers,
      String status,
      String decidedBy,
      java.time.Instant decidedAt) {
    boolean pending() {
      return "pending".equals(status);
    }
  }

  /** Where {@link #askApproval} reads the held call it asks about. */
  public void askApprovalsFrom(Function<UUID, Optional<ApprovalAsk>> approvals) {
    this.approvals = Objects.requireNonNull(approvals, "approvals");
  }

  /**
   * @param methods the Web API client, bound to the bot token
   * @param dryRun whether {@code WORKA_SIDE_EFFECTS=dry-run} (said in the acknowledgement)
   * @param redactor the Gateway's secrets, redacted from a failure's public reason
   */
  public SlackNotifier(MethodsClient methods, boolean dryRun, Redactor redactor) {
    this(methods, dryRun, redactor, traceId -> Optional.empty());
  }

  /**
   * As the other constructor; {@code traceLink} gives, for a run's trace id, where a person sees
   * its trace (Langfuse's page), appended to the result.
   */
  public SlackNotifier(
      MethodsClient methods,
      boolean dryRun,
      Redactor redactor,
      Function<String, Optional<String>> traceLink) {
    this.traceLink = Objects.requireNonNull(traceLink, "traceLink");
    this.methods = Objects.requireNonNull(methods, "methods");
    this.dryRun = dryRun;
    this.redactor = Objects.requireNonNull(redactor, "redactor");
  }

  /** The conversation (and thread) of a Slack run. */
  private record Where(String channel, String threadTs) {}

  @Override
  public AnswerPlace place(Run run) {
    return where(run)
        .<AnswerPlace>map(
            w ->
                new AnswerPlace.At(
                    RunSource.SLACK,
                    "channel "
                        + w.channel()
                        + (w.threadTs() == null
                            ? " (no thread: a slash command's conversation)"
                            : ", thread " + w.threadTs())))
        .orElseGet(
            () ->
                new AnswerPlace.Nowhere(
                    "run "
                        + run.id()
                        + " records no Slack conversation, or one that"
                        + " is not a conversation id ("
                        + clipped(run.slackChannel())
                        + ", thread "
                        + clipped(run.slackThreadTs())
                        + ")"));
  }

  /** The run's conversation and thread, when both are well formed (the thread may be absent). */
  private static Optional<Where> where(Run run) {
    String channel = run.slackChannel();
    String thread = run.slackThreadTs();
    if (channel == null
        || !CHANNEL.matcher(channel).matches()
        || (thread != null && !TS.matcher(thread).matches())) {
      return Optional.empty();
    }
    return Optional.of(new Where(channel, thread));
  }

  private static String clipped(String s) {
    return s == null ? "none" : s.length() <= 40 ? s : s.substring(0, 40) + "…";
  }

  @Override
  public RunSource source() {
    return RunSource.SLACK;
  }

  @Override
  public Optional<String> acknowledge(Run run, boolean maybeSentBefore) {
    String where = run.slackThreadTs() == null ? "in this conversation" : "in this thread";
    return post(
        run,
        RunNotifications.Kind.ACK.sql(),
        maybeSentBefore,
        "Worka accepted this request as run `"
            + run.id()
            + "`; it will answer "
            + where
            + "."
            + (dryRun ? " (Dry run: Worka changes nothing outside itself.)" : ""));
  }

  @Override
  public Optional<String> deliver(Run run, boolean maybeSentBefore) {
    String text =
        resultText(run, redactor)
            + traceLink.apply(run.traceId()).map(link -> "\nTrace: " + link).orElse("");
    return post(run, RunNotifications.Kind.RESULT.sql(), maybeSentBefore, text);
  }

  @Override
  public Optional<String> askApproval(Run run, UUID approvalId, boolean maybeSentBefore) {
    Optional<ApprovalAsk> found = approvals.apply(approvalId);
    if (found.isEmpty()) {
      throw new NotificationFailedException(
          "approval " + approvalId + " is not known to this Gateway", false);
    }
    ApprovalAsk a = found.get();
    if (!a.pending()) {
      return Optional.empty(); // decided or expired before it could be asked: nothing to ask
    }
    String input = HeldInput.shown(a.inputJson(), redactor);
    // Inert (no mention, no link markup) and unable to close the code block early.
    String code = SlackText.inert(input).replace("```", "`\u200b``");
    String head =
        "Approval needed: " + asked(run, approvalId, a) + " Expires " + a.expiresAt() + ".";
    var blocks = Json.STRICT.createArrayNode();
    blocks
        .addObject()
        .put("type", "section")
        .putObject("text")
        .put("type", "mrkdwn")
        .put("text", head);
    blocks
        .addObject()
        .put("type", "section")
        .putObject("text")
        .put("type", "mrkdwn")
        .put("text", "```" + code + "```");
    var buttons =
        blocks
            .addObject()
            .put("type", "actions")
            .put("block_id", "worka_approval")
            .putArray("elements");
    for (String[] b :
        List.of(
            new String[] {APPROVE, "Approve", "primary"}, new String[] {DENY, "Deny", "danger"})) {
      var button =
          buttons.addObject().put("type", "button").put("action_id", b[0]).put("style", b[2]);
      button.put("value", approvalId.toString());
      button.putObject("text").put("type", "plain_text").put("text", b[1]);
    }
    return post(
        run,
        RunNotifications.stored(RunNotifications.Kind.APPROVAL, approvalId),
        maybeSentBefore,
        head,
        Json.write(blocks));
  }

  /** What was asked, of whom (from the run and the request; inert). */
  private static String asked(Run run, UUID approvalId, ApprovalAsk a) {
    return "agent `"
        + SlackText.inert(a.agent())
        + "` asks to call `"
        + SlackText.inert(a.skill())
        + "` in run `"
        + run.id()
        + "`. Approvers: "
        + SlackText.inert(String.join(", ", a.approvers()))
        + ". Approval `"
        + approvalId
        + "`.";
  }

  /**
   * Replaces the message that asked ({@code askedAt}: its {@code channel/ts}, as recorded when it
   * was posted) by what was asked and its outcome — who decided and where, or that it expired and
   * when — without buttons ({@code chat.update}; repeating it changes nothing more). The message
   * must be in the run's own conversation.
   */
  @Override
  public Optional<String> approvalOutcome(Run run, UUID approvalId, String askedAt) {
    Optional<ApprovalAsk> found = approvals.apply(approvalId);
    if (found.isEmpty()) {
      throw new NotificationFailedException(
          "approval " + approvalId + " is not known to this Gateway", false);
    }
    ApprovalAsk a = found.get();
    if (a.pending()) {
      throw new NotificationFailedException(
          "approval " + approvalId + " is still pending: it has no outcome to tell", false);
    }
    Where where =
        where(run)
            .orElseThrow(
                () ->
                    new NotificationFailedException(
                        "run " + run.id() + " does not say which Slack conversation it came from",
                        false));
    int slash = askedAt.indexOf('/');
    String channel = slash < 0 ? "" : askedAt.substring(0, slash);
    String ts = slash < 0 ? "" : askedAt.substring(slash + 1);
    if (!channel.equals(where.channel()) || !TS.matcher(ts).matches()) {
      throw new NotificationFailedException(
          "the approval message "
              + clipped(askedAt)
              + " is not a message of run "
              + run.id()
              + "'s conversation "
              + where.channel(),
          false);
    }
    String text = outcomeText(run, approvalId, a);
    var blocks = Json.STRICT.createArrayNode();
    blocks
        .addObject()
        .put("type", "section")
        .putObject("text")
        .put("type", "mrkdwn")
        .put("text", text);
    try {
      SlackErrors.ok(
          () ->
              methods.chatUpdate(
                  b ->
                      b.channel(channel)
                          .ts(ts)
                          .text(text)
                          .blocksAsString(Json.write(blocks))
                          .parse("none")
                          .linkNames(false)));
    } catch (SlackErrors.Failed e) {
      throw failed("chat.update of " + askedAt, e);
    }
    return Optional.of(askedAt);
  }

  /** The updated approval message: what was asked, then its outcome. */
  static String outcomeText(Run run, UUID approvalId, ApprovalAsk a) {
    String outcome =
        switch (a.status()) {
          case "approved" -> "Approved by " + decider(a.decidedBy()) + " at " + a.decidedAt() + ".";
          case "denied" -> "Denied by " + decider(a.decidedBy()) + " at " + a.decidedAt() + ".";
          case "expired" ->
              "Expired at "
                  + a.expiresAt()
                  + ": none of the approvers decided in time; the call was not performed.";
          default -> SlackText.inert(a.status()) + ".";
        };
    return outcome + " (Was: " + asked(run, approvalId, a) + ")";
  }

  /** Who decided, and where: a Slack user in Slack, the operator token (API, CLI or console). */
  private static String decider(String identity) {
    if (identity == null) {
      return "nobody recorded";
    }
    String who = "`" + SlackText.inert(identity) + "`";
    if (identity.startsWith("slack:")) {
      return who + " in Slack";
    }
    if (identity.equals("operator")) {
      return who + " with the operator token (API, CLI or console)";
    }
    if (identity.startsWith("github:")) {
      return who + " on GitHub";
    }
    return who;
  }

  /** The Approve/Deny buttons' {@code action_id}s (the ingress decides on them). */
  public static final String APPROVE = "worka_approval_approve";

  public static final String DENY = "worka_approval_deny";

  /**
   * A Slack call ({@code what}: method and target) that failed, as the notification loop takes it:
   * Slack's error code with what to do about it, or the transport's failure; retryable unless
   * Slack's answer is permanent.
   */
  private static NotificationFailedException failed(String what, SlackErrors.Failed e) {
    return new NotificationFailedException(
        what
            + (e.getCause() == null
                ? " answered " + e.error + hint(e.error)
                : " failed: " + e.getMessage()),
        e.kind != SlackErrors.Kind.PERMANENT,
        e.getCause());
  }

  /**
   * The answer for a run that ended: its summary, or what was refused or failed and its public
   * reason; everything from the run made inert.
   */
  static String resultText(Run run, Redactor redactor) {
    StringBuilder text = new StringBuilder("Worka run `").append(run.id()).append("` ");
    if (run.status() == RunStatus.SUCCEEDED) {
      text.append("succeeded.");
      JsonNode result = run.resultJson() == null ? null : Json.parse(run.resultJson());
      String summary = result == null ? "" : result.path("summary").asText("");
      if (!summary.isBlank()) {
        text.append("\n").append(SlackText.inert(summary.strip()));
      }
    } else {
      text.append(PublicReason.ending(run));
      String reason = PublicReason.of(run, redactor);
      if (reason != null) {
        text.append(": ").append(SlackText.inert(reason));
      } else {
        text.append('.');
      }
    }
    return clip(text.toString(), run);
  }

  /**
   * Posts {@code text} where the run came from, marked with the run and {@code kind}; when an
   * earlier attempt may have posted it, looks for that message first and posts nothing if found.
   */
  private Optional<String> post(Run run, String kind, boolean maybeSentBefore, String text) {
    return post(run, kind, maybeSentBefore, text, null);
  }

  private Optional<String> post(
      Run run, String kind, boolean maybeSentBefore, String text, String blocks) {
    Where where =
        where(run)
            .orElseThrow(
                () ->
                    new NotificationFailedException(
                        "run " + run.id() + " does not say which Slack conversation it came from",
                        false));
    String channel = where.channel();
    String runId = run.id().toString();
    if (maybeSentBefore) {
      Optional<String> earlier = earlier(channel, where.threadTs(), runId, kind);
      if (earlier.isPresent()) {
        return earlier;
      }
    }
    ChatPostMessageResponse response;
    try {
      response =
          SlackErrors.ok(
              () ->
                  methods.chatPostMessage(
                      b ->
                          b.channel(channel)
                              .threadTs(where.threadTs())
                              .text(text)
                              .blocksAsString(blocks)
                              .parse("none")
                              .linkNames(false)
                              .unfurlLinks(false)
                              .unfurlMedia(false)
                              .metadata(
                                  MarkedMessages.mark(
                                      METADATA_EVENT_TYPE, Map.of("run", runId, "kind", kind)))));
    } catch (SlackErrors.Failed e) {
      throw failed("chat.postMessage to " + channel, e);
    }
    return Optional.ofNullable(response.getTs()).map(ts -> channel + "/" + ts);
  }

  /**
   * The reference of the {@code kind} answer of the run already in the conversation, if an earlier
   * attempt posted it. When Slack cannot be asked the attempt fails (to be tried again) rather than
   * risk a second answer — unless the app may not read the conversation at all (a missing scope),
   * when looking can never work and the answer is posted again.
   */
  private Optional<String> earlier(String channel, String threadTs, String runId, String kind) {
    MarkedMessages.Search search;
    try {
      search =
          MarkedMessages.search(
              methods,
              channel,
              threadTs,
              m ->
                  MarkedMessages.marked(m, METADATA_EVENT_TYPE, "run", runId)
                      && MarkedMessages.marked(m, METADATA_EVENT_TYPE, "kind", kind));
    } catch (SlackErrors.Failed e) {
      if (e.kind == SlackErrors.Kind.PERMANENT) {
        log.warn(
            "run {}: cannot look for an earlier {} in {} ({}); posting it again",
            runId,
            kind,
            MarkedMessages.where(channel, threadTs),
            e.getMessage());
        return Optional.empty();
      }
      throw new NotificationFailedException(
          "cannot tell whether the "
              + kind
              + " was already posted in "
              + MarkedMessages.where(channel, threadTs)
              + ": "
              + e.getMessage(),
          true,
          e.getCause());
    }
    return switch (search) {
      case MarkedMessages.Found f -> Optional.of(channel + "/" + f.message().getTs());
      case MarkedMessages.Absent a -> Optional.empty();
      case MarkedMessages.NotAllRead n -> {
        log.warn(
            "run {}: an earlier {} is not among the {} newest messages of {} read; posting it again",
            runId,
            kind,
            n.seen(),
            MarkedMessages.where(channel, threadTs));
        yield Optional.empty();
      }
    };
  }

  private static String hint(String error) {
    return switch (error == null ? "" : error) {
      case "not_in_channel" -> " (invite the Worka app to the channel: /invite @worka)";
      case "channel_not_found" -> " (the channel is gone, or private and the app is not in it)";
      case "invalid_auth", "not_authed", "token_revoked", "account_inactive" ->
          " (check SLACK_BOT_TOKEN)";
      case "missing_scope" -> " (add the chat:write scope and reinstall the app)";
      default -> "";
    };
  }

  private static String clip(String text, Run run) {
    if (text.length() <= MAX_TEXT) {
      return text;
    }
    int end = MAX_TEXT;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end) + "… (cut; the whole result: worka runs show " + run.id() + ")";
  }
}
