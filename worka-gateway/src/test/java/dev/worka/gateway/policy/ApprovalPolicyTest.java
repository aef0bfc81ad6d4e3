package dev.worka.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A skill's {@code approval} (DESIGN §11): parsed strictly, stored in the compiled JSON, and
 * decided per call by {@link PolicyDecider#approval}.
 */
class ApprovalPolicyTest {
  private static final String WORKER =
      PolicyCompilerTest.PLANNER
          + """
            ernest:
              runtime: process
              command: [bin/worka-agent, ernest]
              permissions: [skill.invoke]
              skills: [github.create_issue]
          skills:
            github.create_issue:
              side_effect: true
          """;

  private static String withApproval(String approval) {
    return WORKER + "    approval: " + approval + "\n";
  }

  @Test
  void anApprovalIsReadWithItsConditionApproversAndExpiry() {
    CompiledPolicy policy =
        PolicyCompilerTest.compiled(
            withApproval(
                "{when: 'input.owner != \"acme\"', approvers: [slack:U0123, github:octocat,"
                    + " operator], expires: 1h}"));
    ApprovalPolicy approval = policy.skills().get("github.create_issue").approval().orElseThrow();
    assertEquals("input.owner != \"acme\"", approval.when().orElseThrow().expression());
    assertEquals(List.of("slack:U0123", "github:octocat", "operator"), approval.approvers());
    assertEquals(Duration.ofHours(1), approval.expires());
    assertTrue(approval.names("github:OctoCat"), "GitHub logins are case-insensitive");
    assertTrue(approval.names("operator"));
    assertFalse(approval.names("slack:U9999"), "only the named approvers count");
    assertFalse(approval.names("slack:u0123"), "Slack ids are exact");

    CompiledPolicy back = CompiledPolicy.fromJson(policy.toJson());
    assertEquals(policy, back);
    assertEquals(policy.toJson(), back.toJson());
  }

  @Test
  void withoutWhenEveryCallNeedsApproval() {
    CompiledPolicy policy =
        PolicyCompilerTest.compiled(withApproval("{approvers: [operator], expires: 5s}"));
    Optional<PolicyDecider.ApprovalNeeded> needed =
        PolicyDecider.approval(
            policy, "github.create_issue", ConditionTest.issueIn("acme", "widgets"));
    assertTrue(needed.isPresent());
    assertEquals(Duration.ofSeconds(5), needed.get().approval().expires());
  }

  @Test
  void theConditionDecidesPerCallAndAnErrorAsksForApproval() {
    CompiledPolicy policy =
        PolicyCompilerTest.compiled(
            withApproval("{when: 'input.owner != \"acme\"', approvers: [operator], expires: 7d}"));
    assertTrue(
        PolicyDecider.approval(
                policy, "github.create_issue", ConditionTest.issueIn("acme", "widgets"))
            .isEmpty());
    assertTrue(
        PolicyDecider.approval(
                policy, "github.create_issue", ConditionTest.issueIn("evil", "widgets"))
            .isPresent());
    // An input the condition cannot read: approval is asked (fail closed), never skipped.
    PolicyDecider.ApprovalNeeded needed =
        PolicyDecider.approval(policy, "github.create_issue", ConditionTest.context("{}"))
            .orElseThrow();
    assertTrue(needed.reason().contains("could not be evaluated"), needed.reason());
    assertTrue(
        PolicyDecider.approval(policy, "github.get_issue", ConditionTest.context("{}")).isEmpty(),
        "a skill without approval needs none");
  }

  @Test
  void badValuesAreClearErrors() {
    PolicyCompilerTest.assertError(
        withApproval("{approvers: [operator], expires: 4s}"),
        "skills.github.create_issue.approval.expires: 4s is out of bounds (5s to 7d)");
    PolicyCompilerTest.assertError(
        withApproval("{approvers: [operator], expires: 8d}"),
        "skills.github.create_issue.approval.expires: 8d is out of bounds (5s to 7d)");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("{approvers: [operator], expires: soon}"),
        "skills.github.create_issue.approval.expires: 'soon' is not a duration");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("{approvers: [operator]}"),
        "skills.github.create_issue.approval.expires: expected a duration from 5s to 7d");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("{approvers: [], expires: 1h}"),
        "skills.github.create_issue.approval.approvers: expected a non-empty list");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("{approvers: [root], expires: 1h}"),
        "skills.github.create_issue.approval.approvers: approver root is not one of operator,");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("{approvers: ['slack:alice'], expires: 1h}"),
        "approver slack:alice is not one of");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("{approvers: [operator, operator], expires: 1h}"),
        "skills.github.create_issue.approval.approvers: operator is named twice");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("{approvers: [operator], expires: 1h, who: me}"),
        "skills.github.create_issue.approval.who");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("{when: 'input.nope(', approvers: [operator], expires: 1h}"),
        "skills.github.create_issue.approval.when:");
    PolicyCompilerTest.assertErrorContaining(
        withApproval("yes"), "skills.github.create_issue.approval: expected a mapping");
  }
}
