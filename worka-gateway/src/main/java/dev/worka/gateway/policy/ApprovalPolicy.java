package dev.worka.gateway.policy;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What the manifest's {@code skills.SKILL.approval} says (DESIGN §11): a call of the skill waits
 * for a person's yes before it is performed, when {@code when} holds (absent: always), decided by
 * one of {@code approvers} ({@code slack:UID}, {@code github:LOGIN}, {@code operator}) within
 * {@code expires} (5s to 7d) of the request.
 *
 * @param when the CEL condition under which approval is needed, compiled like a skill's {@code
 *     when}; empty means every call needs it
 * @param approvers who may decide, each {@code operator}, {@code slack:UID} or {@code
 *     github:LOGIN}; nobody else's decision counts
 * @param expires how long a request waits for a decision before it expires (and fails its step)
 */
public record ApprovalPolicy(
    Optional<SkillCondition> when, List<String> approvers, Duration expires) {
  public static final Duration MIN_EXPIRES = Duration.ofSeconds(5);
  public static final Duration MAX_EXPIRES = Duration.ofDays(7);
  public static final String OPERATOR = "operator";
  static final int MAX_APPROVERS = 100;

  private static final Pattern SLACK = Pattern.compile("slack:[UW][A-Z0-9]{1,31}");
  private static final Pattern GITHUB =
      Pattern.compile("github:[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}");

  public ApprovalPolicy {
    Objects.requireNonNull(when, "when");
    approvers = List.copyOf(approvers);
    Objects.requireNonNull(expires, "expires");
    if (approvers.isEmpty()) {
      throw new IllegalArgumentException("an approval names at least one approver");
    }
    for (String a : approvers) {
      String problem = approverProblem(a);
      if (problem != null) {
        throw new IllegalArgumentException(problem);
      }
    }
    if (new HashSet<>(approvers).size() != approvers.size()) {
      throw new IllegalArgumentException("approvers " + approvers + " name someone twice");
    }
    if (expires.compareTo(MIN_EXPIRES) < 0 || expires.compareTo(MAX_EXPIRES) > 0) {
      throw new IllegalArgumentException(
          "expires " + DurationText.format(expires) + " is out of bounds (5s to 7d)");
    }
  }

  /**
   * Why {@code approver} is not a valid approver, or null when it is: {@code operator}, {@code
   * slack:} and a Slack user id ({@code U0123ABC}), or {@code github:} and a GitHub login.
   */
  static String approverProblem(String approver) {
    if (approver == null) {
      return "an approver is missing";
    }
    if (approver.equals(OPERATOR)
        || SLACK.matcher(approver).matches()
        || GITHUB.matcher(approver).matches()) {
      return null;
    }
    return "approver "
        + Names.shown(approver)
        + " is not one of operator, slack:USER_ID (e.g. slack:U0123ABC), github:LOGIN (e.g."
        + " github:octocat)";
  }

  /**
   * Whether {@code identity} (a verified {@code operator}, {@code slack:U…}, {@code github:…}) may
   * decide.
   */
  public boolean names(String identity) {
    if (identity == null) {
      return false;
    }
    for (String a : approvers) {
      // GitHub logins are case-insensitive; Slack ids and "operator" are exact.
      if (a.startsWith("github:") ? a.equalsIgnoreCase(identity) : a.equals(identity)) {
        return true;
      }
    }
    return false;
  }

  /** The expiry as an operator writes it ({@code 1h}, {@code 90s}). */
  public String expiresText() {
    return DurationText.format(expires);
  }
}
