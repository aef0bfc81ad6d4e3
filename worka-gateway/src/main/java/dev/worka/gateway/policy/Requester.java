package dev.worka.gateway.policy;

import dev.worka.gateway.run.RunSource;
import java.util.Objects;

/**
 * Who asks for a run, with the facts about them that the ingress verified (a signed Slack request,
 * a signed GitHub delivery, the operator token): what {@link IngressPolicy#admit} decides on. The
 * values come from the signed payload only, never from a header or the request text.
 */
public sealed interface Requester {

  /** The run's source. */
  RunSource source();

  /** The name stored as the run's requester; null for the operator acting as itself. */
  String name();

  /**
   * The requester as gates name them (a gate's subject): {@code slack:U0123ABCD}, {@code
   * github:octocat}, {@code api:alice}, {@code cli:alice}, or {@code api:operator} for a request
   * that names no requester.
   */
  default String subject() {
    return source().sql() + ":" + (name() == null ? "operator" : name());
  }

  /**
   * Whether {@code ingress.quotas} count this requester's runs. The operator acting as itself (an
   * API or CLI request that names no requester) is not counted: whoever holds the operator token
   * can change the quotas anyway.
   */
  default boolean counted() {
    return name() != null;
  }

  /**
   * A request through the operator API ({@code POST /v1/runs}, the CLI): {@code name} is the body's
   * {@code requester}, or null when it names none.
   */
  record Operator(RunSource source, String name) implements Requester {
    public Operator {
      if (source != RunSource.API && source != RunSource.CLI) {
        throw new IllegalArgumentException(
            "an operator request's source is api or cli, not " + source);
      }
    }
  }

  /**
   * The author of a GitHub comment, from the signed delivery: {@code comment.user.login}, {@code
   * comment.author_association} (null when the delivery has none) and the repository ({@code
   * owner/name}) the comment is on.
   */
  record GithubCommenter(String login, String authorAssociation, String repository)
      implements Requester {
    public GithubCommenter {
      Objects.requireNonNull(login, "login");
      Objects.requireNonNull(repository, "repository");
    }

    @Override
    public RunSource source() {
      return RunSource.GITHUB;
    }

    @Override
    public String name() {
      return login;
    }
  }

  /**
   * A Slack user, from the signed request: their user id, the workspace they belong to ({@code
   * team}; null when the request does not say), the workspace this bot is installed in ({@code
   * botTeam}, from {@code auth.test}), the conversation they asked in, and whether they are a guest
   * of their workspace ({@code users.info}; null when Slack could not be asked).
   */
  record SlackUser(String user, String team, String botTeam, String channel, Boolean guest)
      implements Requester {
    public SlackUser {
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(channel, "channel");
    }

    @Override
    public RunSource source() {
      return RunSource.SLACK;
    }

    @Override
    public String name() {
      return user;
    }
  }
}
