package dev.worka.gateway.policy;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The policy's answers, pure and fast (no I/O, no memory, no clock): deny by default, allow only
 * what the policy grants. Each {@link Decision} carries a reason that stands on its own in a gate
 * row or a 403 body. Names that reach a reason are shown bounded and escaped, since a skill name
 * may come from a request path.
 *
 * <p>A skill call is allowed only if both {@link #skill(CompiledPolicy, String, List, String)} (the
 * grants) and {@link #condition} (the skill's {@code when}, over the call's input) allow it; {@link
 * #skill(CompiledPolicy, String, List, String, ConditionContext)} asks both in that order.
 */
public final class PolicyDecider {
  private PolicyDecider() {}

  /** May {@code agent} use {@code permission} (e.g. {@link Permissions#PLAN_SUBMIT})? */
  public static Decision permission(CompiledPolicy policy, String agent, String permission) {
    Objects.requireNonNull(policy, "policy");
    Optional<Decision.Deny> denied = usableAgent(policy, agent);
    if (denied.isPresent()) {
      return denied.get();
    }
    if (!Permissions.isKnown(permission)) {
      return new Decision.Deny(
          "permission " + Names.shown(permission) + " is not a known permission");
    }
    AgentPolicy a = policy.agents().get(agent);
    if (!a.hasPermission(permission)) {
      return new Decision.Deny("agent " + agent + " is not granted permission " + permission);
    }
    return new Decision.Allow("agent " + agent + " is granted permission " + permission);
  }

  /**
   * May {@code agent} invoke {@code skill} in a step that accepts {@code stepAcceptedSkills}? Yes
   * only if the agent is declared and enabled, holds {@code skill.invoke}, has the skill on its
   * allowlist, and the skill is among the step's accepted skills.
   */
  public static Decision skill(
      CompiledPolicy policy, String agent, List<String> stepAcceptedSkills, String skill) {
    Objects.requireNonNull(policy, "policy");
    Optional<Decision.Deny> denied = usableAgent(policy, agent);
    if (denied.isPresent()) {
      return denied.get();
    }
    AgentPolicy a = policy.agents().get(agent);
    if (!a.hasPermission(Permissions.SKILL_INVOKE)) {
      return new Decision.Deny(
          "agent " + agent + " is not granted permission " + Permissions.SKILL_INVOKE);
    }
    if (skill == null || skill.isEmpty()) {
      return new Decision.Deny("no skill was named");
    }
    if (!a.allowsSkill(skill)) {
      return new Decision.Deny("agent " + agent + " is not granted skill " + Names.shown(skill));
    }
    List<String> accepted = stepAcceptedSkills == null ? List.of() : stepAcceptedSkills;
    if (!accepted.contains(skill)) {
      return new Decision.Deny(
          "skill " + skill + " is not among the step's accepted skills " + shownList(accepted));
    }
    return new Decision.Allow(
        "agent "
            + agent
            + " is granted skill "
            + skill
            + " and it is among the step's accepted skills");
  }

  /**
   * Does the condition of {@code skill} hold for this call? A skill without one (or not named under
   * {@code skills:}) is allowed here, since the grants are decided by {@link #skill(CompiledPolicy,
   * String, List, String)}; a condition that holds allows, one that does not denies, and one that
   * cannot be evaluated (a field missing from the input, a type error, an input that is not an
   * object, the iteration budget spent) denies with the error as the reason.
   *
   * <p>Never throws for any skill or context (a null policy is a programming error, as in every
   * decision here). Evaluate it after the input was validated against the skill's input schema, so
   * a condition sees well-formed input.
   */
  public static Decision condition(CompiledPolicy policy, String skill, ConditionContext context) {
    Objects.requireNonNull(policy, "policy");
    if (skill == null || skill.isEmpty()) {
      return new Decision.Deny("no skill was named");
    }
    SkillPolicy settings = policy.skills().get(skill);
    if (settings == null || settings.when().isEmpty()) {
      return new Decision.Allow("skill " + Names.shown(skill) + " has no condition");
    }
    if (context == null) {
      return new Decision.Deny(
          "condition of " + skill + " could not be evaluated: no call context was given");
    }
    return settings.when().get().evaluate(context, policy.lists());
  }

  /**
   * Whether a call of {@code skill} with this context waits for a person's approval: the skill's
   * {@code approval}, when it has one and its {@code when} holds (or it has none). A {@code when}
   * that cannot be evaluated asks for approval (fail closed); the reason says why either way.
   * Evaluate it after {@link #condition} allowed the call.
   */
  public static Optional<ApprovalNeeded> approval(
      CompiledPolicy policy, String skill, ConditionContext context) {
    Objects.requireNonNull(policy, "policy");
    SkillPolicy settings = skill == null ? null : policy.skills().get(skill);
    if (settings == null || settings.approval().isEmpty()) {
      return Optional.empty();
    }
    ApprovalPolicy approval = settings.approval().get();
    if (approval.when().isEmpty()) {
      return Optional.of(new ApprovalNeeded(approval, "skill " + skill + " always needs approval"));
    }
    SkillCondition when = approval.when().get();
    Decision d =
        context == null
            ? new Decision.Deny("no call context was given")
            : when.evaluate(context, policy.lists());
    return switch (d) {
      case Decision.Allow a ->
          Optional.of(
              new ApprovalNeeded(
                  approval, "approval of " + skill + " is needed: " + when.shown() + " holds"));
      case Decision.Deny deny ->
          deny.reason().startsWith("condition of " + skill + " does not hold")
              ? Optional.empty()
              : Optional.of(
                  new ApprovalNeeded(
                      approval,
                      "approval of "
                          + skill
                          + " is needed: its condition could not be evaluated ("
                          + deny.reason()
                          + ")"));
    };
  }

  /** A call that waits for approval: the skill's approval settings, and why it is needed. */
  public record ApprovalNeeded(ApprovalPolicy approval, String reason) {}

  /**
   * The whole policy decision on a skill call: {@link #skill(CompiledPolicy, String, List, String)}
   * and, if that allows, {@link #condition}. The first deny is the answer; an allow says both
   * passed.
   */
  public static Decision skill(
      CompiledPolicy policy,
      String agent,
      List<String> stepAcceptedSkills,
      String skill,
      ConditionContext context) {
    Decision granted = skill(policy, agent, stepAcceptedSkills, skill);
    if (!granted.allowed()) {
      return granted;
    }
    Decision condition = condition(policy, skill, context);
    if (!condition.allowed()) {
      return condition;
    }
    return new Decision.Allow(granted.reason() + "; " + condition.reason());
  }

  private static Optional<Decision.Deny> usableAgent(CompiledPolicy policy, String agent) {
    if (agent == null || agent.isEmpty()) {
      return Optional.of(new Decision.Deny("no agent was named"));
    }
    AgentPolicy a = policy.agents().get(agent);
    if (a == null) {
      return Optional.of(
          new Decision.Deny("agent " + Names.quoted(agent) + " is not declared in the policy"));
    }
    if (!a.enabled()) {
      return Optional.of(new Decision.Deny("agent " + agent + " is disabled in the policy"));
    }
    return Optional.empty();
  }

  private static String shownList(List<String> names) {
    StringBuilder out = new StringBuilder("[");
    for (int i = 0; i < names.size(); i++) {
      if (i == 16) {
        out.append(", … ").append(names.size() - i).append(" more");
        break;
      }
      out.append(i == 0 ? "" : ", ").append(Names.shown(names.get(i)));
    }
    return out.append(']').toString();
  }
}
