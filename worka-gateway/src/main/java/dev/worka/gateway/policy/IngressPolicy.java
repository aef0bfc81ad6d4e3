package dev.worka.gateway.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The manifest's {@code ingress:} — who may start a run. {@link #admit} is the pure part of the
 * decision (GitHub author association and repository, Slack workspace, channel and user); the
 * quotas are counted by the run service in the database, under a lock per requester.
 *
 * <p>Each list is optional: absent ({@link Optional#empty()}) means "no restriction of this kind"
 * except {@code github.author_associations}, which always has a value ({@link
 * Github#DEFAULT_ASSOCIATIONS} when absent), and {@code slack.teams}, whose absence means "only
 * this bot's own workspace". An empty list refuses everyone of that kind. A guest of a Slack
 * workspace (single- or multi-channel) may ask only when {@code slack.users} lists it: its
 * workspace is the team's own, so the team list does not keep it out.
 */
public record IngressPolicy(Github github, Slack slack, Quotas quotas) {

  /** GitHub's {@code author_association} values (its REST and webhook payloads). */
  public static final List<String> AUTHOR_ASSOCIATIONS =
      List.of(
          "OWNER",
          "MEMBER",
          "COLLABORATOR",
          "CONTRIBUTOR",
          "FIRST_TIME_CONTRIBUTOR",
          "FIRST_TIMER",
          "MANNEQUIN",
          "NONE");

  static final Pattern REPOSITORY =
      Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}");
  static final Pattern SLACK_TEAM = Pattern.compile("[TE][A-Z0-9]{2,30}");
  static final Pattern SLACK_CHANNEL = Pattern.compile("[CGD][A-Z0-9]{2,30}");
  static final Pattern SLACK_USER = Pattern.compile("[UW][A-Z0-9]{2,30}");

  /** The ingress of a manifest that does not state one. */
  public static final IngressPolicy DEFAULTS =
      new IngressPolicy(Github.DEFAULTS, Slack.DEFAULTS, Quotas.DEFAULTS);

  public IngressPolicy {
    Objects.requireNonNull(github, "github");
    Objects.requireNonNull(slack, "slack");
    Objects.requireNonNull(quotas, "quotas");
  }

  /** {@code ingress.github}. Repositories are compared without regard to case, as GitHub does. */
  public record Github(List<String> authorAssociations, Optional<List<String>> repositories) {
    public static final List<String> DEFAULT_ASSOCIATIONS =
        List.of("OWNER", "MEMBER", "COLLABORATOR");
    public static final Github DEFAULTS = new Github(DEFAULT_ASSOCIATIONS, Optional.empty());

    public Github {
      authorAssociations = List.copyOf(authorAssociations);
      for (String a : authorAssociations) {
        if (!AUTHOR_ASSOCIATIONS.contains(a)) {
          throw new IllegalArgumentException("unknown author association " + a);
        }
      }
      repositories = copy(repositories, REPOSITORY, "repository");
    }
  }

  /** {@code ingress.slack}: workspaces (team ids), conversations (channel ids) and users. */
  public record Slack(
      Optional<List<String>> teams, Optional<List<String>> channels, Optional<List<String>> users) {
    public static final Slack DEFAULTS =
        new Slack(Optional.empty(), Optional.empty(), Optional.empty());

    public Slack {
      teams = copy(teams, SLACK_TEAM, "Slack team id");
      channels = copy(channels, SLACK_CHANNEL, "Slack channel id");
      users = copy(users, SLACK_USER, "Slack user id");
    }
  }

  /**
   * {@code ingress.quotas}, per requester identity per source: runs created in the last hour, and
   * runs that have not ended yet.
   */
  public record Quotas(int runsPerRequesterPerHour, int concurrentRunsPerRequester) {
    public static final int DEFAULT_RUNS_PER_HOUR = 20;
    public static final int DEFAULT_CONCURRENT_RUNS = 3;
    static final int MAX_RUNS_PER_HOUR = 10_000;
    static final int MAX_CONCURRENT_RUNS = 1_000;
    public static final Quotas DEFAULTS =
        new Quotas(DEFAULT_RUNS_PER_HOUR, DEFAULT_CONCURRENT_RUNS);

    public Quotas {
      if (runsPerRequesterPerHour < 1 || runsPerRequesterPerHour > MAX_RUNS_PER_HOUR) {
        throw new IllegalArgumentException(
            "runs_per_requester_per_hour must be 1.."
                + MAX_RUNS_PER_HOUR
                + ", got "
                + runsPerRequesterPerHour);
      }
      if (concurrentRunsPerRequester < 1 || concurrentRunsPerRequester > MAX_CONCURRENT_RUNS) {
        throw new IllegalArgumentException(
            "concurrent_runs_per_requester must be 1.."
                + MAX_CONCURRENT_RUNS
                + ", got "
                + concurrentRunsPerRequester);
      }
    }
  }

  /**
   * Whether {@code who} may start a run at all (the quotas aside). The reason names the requester
   * and the manifest key that decided; it is recorded in the gate and shown to operators, never to
   * the requester.
   */
  public Decision admit(Requester who) {
    return switch (who) {
      case Requester.Operator o ->
          new Decision.Allow(o.subject() + " asked through the operator API (the operator token)");
      case Requester.GithubCommenter g -> admitGithub(g);
      case Requester.SlackUser s -> admitSlack(s);
    };
  }

  private Decision admitGithub(Requester.GithubCommenter g) {
    String repository = g.repository();
    if (github.repositories().isPresent()
        && github.repositories().get().stream().noneMatch(r -> r.equalsIgnoreCase(repository))) {
      return new Decision.Deny(
          g.subject()
              + " commented on "
              + repository
              + ", which is not in ingress.github.repositories "
              + github.repositories().get());
    }
    String association =
        g.authorAssociation() == null || g.authorAssociation().isBlank()
            ? "NONE"
            : g.authorAssociation().toUpperCase(Locale.ROOT);
    if (!github.authorAssociations().contains(association)) {
      return new Decision.Deny(
          g.subject()
              + " is "
              + association
              + " on "
              + repository
              + "; ingress.github.author_associations allows "
              + github.authorAssociations());
    }
    return new Decision.Allow(
        g.subject() + " is " + association + " on " + repository + ", allowed by ingress.github");
  }

  private Decision admitSlack(Requester.SlackUser s) {
    List<String> teams =
        slack.teams().orElse(s.botTeam() == null ? List.of() : List.of(s.botTeam()));
    String whichTeams =
        slack.teams().isPresent()
            ? "ingress.slack.teams " + slack.teams().get()
            : "ingress.slack.teams is not set, so only this bot's own workspace"
                + (s.botTeam() == null ? " (unknown: auth.test named none)" : " " + s.botTeam())
                + " may ask";
    if (s.team() == null) {
      return new Decision.Deny(
          s.subject()
              + " asked in "
              + s.channel()
              + " but the request does not say which workspace they"
              + " belong to; "
              + whichTeams);
    }
    if (!teams.contains(s.team())) {
      return new Decision.Deny(
          s.subject()
              + " belongs to workspace "
              + s.team()
              + ", not one that may ask: "
              + whichTeams);
    }
    boolean listed = slack.users().isPresent() && slack.users().get().contains(s.user());
    if (s.guest() == null && !listed) {
      return new Decision.Deny(
          "could not tell whether "
              + s.subject()
              + " is a guest of workspace "
              + s.team()
              + " (Slack's users.info could not be asked; the Gateway log says why)");
    }
    if (Boolean.TRUE.equals(s.guest()) && !listed) {
      return new Decision.Deny(
          s.subject()
              + " is a guest of workspace "
              + s.team()
              + "; a guest may ask only when listed in"
              + " ingress.slack.users");
    }
    if (slack.channels().isPresent() && !slack.channels().get().contains(s.channel())) {
      return new Decision.Deny(
          s.subject()
              + " asked in "
              + s.channel()
              + ", which is not in ingress.slack.channels "
              + slack.channels().get());
    }
    if (slack.users().isPresent() && !slack.users().get().contains(s.user())) {
      return new Decision.Deny(
          s.subject() + " is not in ingress.slack.users " + slack.users().get());
    }
    return new Decision.Allow(
        s.subject()
            + " of workspace "
            + s.team()
            + " asked in "
            + s.channel()
            + ", allowed by ingress.slack");
  }

  private static Optional<List<String>> copy(
      Optional<List<String>> values, Pattern valid, String what) {
    Objects.requireNonNull(values, what + "s");
    if (values.isEmpty()) {
      return values;
    }
    List<String> out = new ArrayList<>();
    for (String v : values.get()) {
      if (v == null || !valid.matcher(v).matches()) {
        throw new IllegalArgumentException(Names.quoted(String.valueOf(v)) + " is not a " + what);
      }
      out.add(v);
    }
    return Optional.of(List.copyOf(out));
  }
}
