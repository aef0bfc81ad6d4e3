package dev.worka.gateway.skill.slack;

import com.fasterxml.jackson.databind.JsonNode;
import com.slack.api.methods.MethodsClient;
import com.slack.api.methods.SlackApiException;
import com.slack.api.methods.response.chat.ChatPostMessageResponse;
import dev.worka.gateway.delivery.NotificationFailedException;
import dev.worka.gateway.delivery.RunNotifier;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.util.Objects;
import java.util.Optional;

/**
 * Answers runs that came from Slack in the conversation they came from, with {@code
 * chat.postMessage} and the Gateway's bot token: an acknowledgement with the run id, then the
 * result (its cleaned summary) — or what was refused or failed, and why. Replies go into the run's
 * thread ({@link Run#slackThreadTs()}); a run without one (a slash command) is answered in its
 * conversation.
 *
 * <p>Nothing it posts can notify anyone: text from the run (already cleaned of broadcasts when it
 * was stored) is escaped as Slack asks ({@code & < >}), so no {@code <!channel>}, {@code <@U…>} or
 * link markup survives as markup; mentions by name are off ({@code link_names=false}, {@code
 * parse=none}) and so are unfurls. Answers are posted in dry-run mode too (answering the requester
 * is the Gateway's delivery, not an agent's side effect); the acknowledgement then says that it is
 * a dry run.
 *
 * <p>Failures carry whether to try again: rate limits, Slack's transient errors and 5xx are
 * retryable; {@code channel_not_found}, {@code not_in_channel}, {@code invalid_auth} and every
 * other error Slack names are not.
 */
public final class SlackNotifier implements RunNotifier {
  /** Slack truncates longer messages; answers are cut well before. */
  static final int MAX_TEXT = 3500;

  private final MethodsClient methods;
  private final boolean dryRun;

  /**
   * @param methods the Web API client, bound to the bot token
   * @param dryRun whether {@code WORKA_SIDE_EFFECTS=dry-run} (said in the acknowledgement)
   */
  public SlackNotifier(MethodsClient methods, boolean dryRun) {
    this.methods = Objects.requireNonNull(methods, "methods");
    this.dryRun = dryRun;
  }

  @Override
  public String source() {
    return "slack";
  }

  @Override
  public Optional<String> acknowledge(Run run) {
    String where = run.slackThreadTs() == null ? "in this conversation" : "in this thread";
    return post(run, "Worka accepted this request as run `" + run.id() + "`; it will answer " + where + "."
        + (dryRun ? " (Dry run: Worka changes nothing outside itself.)" : ""));
  }

  @Override
  public Optional<String> deliver(Run run) {
    return post(run, resultText(run));
  }

  /** The answer for a run that ended: its summary, or what was refused or failed and why. */
  static String resultText(Run run) {
    StringBuilder text = new StringBuilder("Worka run `").append(run.id()).append("` ");
    if (run.status() == RunStatus.SUCCEEDED) {
      text.append("succeeded.");
      JsonNode result = run.resultJson() == null ? null : Json.parse(run.resultJson());
      String summary = result == null ? "" : result.path("summary").asText("");
      if (!summary.isBlank()) {
        text.append("\n").append(escape(summary.strip()));
      }
    } else {
      text.append(switch (run.status()) {
        case REJECTED -> "was refused";
        case CANCELLED -> "was cancelled";
        case FAILED -> "failed";
        default -> "ended " + run.status().sql();
      });
      if (run.error() != null && !run.error().isBlank()) {
        text.append(": ").append(escape(run.error().strip()));
      } else {
        text.append('.');
      }
    }
    return clip(text.toString(), run);
  }

  private Optional<String> post(Run run, String text) {
    if (run.slackChannel() == null || run.slackChannel().isBlank()) {
      throw new NotificationFailedException("run " + run.id() + " does not say which Slack conversation it came from",
          false);
    }
    ChatPostMessageResponse response;
    try {
      response = methods.chatPostMessage(b -> b
          .channel(run.slackChannel())
          .threadTs(run.slackThreadTs())
          .text(text)
          .parse("none")
          .linkNames(false)
          .unfurlLinks(false)
          .unfurlMedia(false));
    } catch (SlackApiException e) {
      SlackErrors.Kind kind = SlackErrors.ofStatus(e.getResponse().code());
      throw new NotificationFailedException("chat.postMessage to " + run.slackChannel() + " failed: "
          + SlackErrors.describe(e), kind != SlackErrors.Kind.PERMANENT, e);
    } catch (IOException e) {
      throw new NotificationFailedException("chat.postMessage to " + run.slackChannel() + " failed: "
          + SlackErrors.describe(e), true, e);
    }
    if (!response.isOk()) {
      throw new NotificationFailedException("chat.postMessage to " + run.slackChannel() + " answered "
          + response.getError() + hint(response.getError()),
          SlackErrors.ofError(response.getError()) != SlackErrors.Kind.PERMANENT);
    }
    return Optional.ofNullable(response.getTs()).map(ts -> run.slackChannel() + "/" + ts);
  }

  private static String hint(String error) {
    return switch (error == null ? "" : error) {
      case "not_in_channel" -> " (invite the Worka app to the channel: /invite @worka)";
      case "channel_not_found" -> " (the channel is gone, or private and the app is not in it)";
      case "invalid_auth", "not_authed", "token_revoked", "account_inactive" -> " (check SLACK_BOT_TOKEN)";
      case "missing_scope" -> " (add the chat:write scope and reinstall the app)";
      default -> "";
    };
  }

  /** Slack's escaping of the three characters that make markup: {@code & < >}. */
  static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
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
