package dev.worka.gateway.run;

import java.util.Objects;

/**
 * Where a run's answers go, as its ingress verified it: stored in the run's {@code slack_*} columns
 * and its {@code delivery} context by {@link RunStore#insert}.
 */
public sealed interface ReplyTo {

  /**
   * A Slack conversation: the channel, the user who asked, the thread asked in ({@code threadTs};
   * null for a slash command, answered in the channel), and the request's facts kept in the
   * delivery context: what it was ({@code requestKind}: {@code app_mention}, {@code
   * direct_message}, {@code slash_command}), the payload's {@code team_id} and the requester's
   * workspace ({@code user_team}, each null when the request does not say) and the conversation's
   * {@code channel_type}.
   */
  record SlackThread(
      String channel,
      String user,
      String threadTs,
      String requestKind,
      String teamId,
      String userTeam,
      String channelType)
      implements ReplyTo {
    public SlackThread {
      Objects.requireNonNull(channel, "channel");
      Objects.requireNonNull(user, "user");
    }
  }

  /**
   * A GitHub issue or pull request ({@code owner/repo#issueNumber}), with the comment that asked
   * ({@code commentUrl}) and the webhook delivery that carried it ({@code githubDelivery}).
   */
  record GithubIssue(
      String owner, String repo, long issueNumber, String commentUrl, String githubDelivery)
      implements ReplyTo {
    public GithubIssue {
      Objects.requireNonNull(owner, "owner");
      Objects.requireNonNull(repo, "repo");
    }
  }

  /** No place to answer: the operator API and the CLI read the run's story themselves. */
  record Nowhere() implements ReplyTo {}
}
