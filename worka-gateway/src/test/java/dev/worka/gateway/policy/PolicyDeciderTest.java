package dev.worka.gateway.policy;

import static dev.worka.gateway.policy.PolicyCompilerTest.compiled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyDeciderTest {
  /** The built-in policy plus a disabled worker and a worker without skill.invoke. */
  private static final CompiledPolicy POLICY =
      compiled(
          BuiltinPolicy.source()
              .replace(
                  "  daneel:\n",
                  """
                    sleepy:
                      enabled: false
                      runtime: wasm
                      module: m.wasm
                      module_sha256: abababababababababababababababababababababababababababababababab
                      permissions: [skill.invoke]
                      skills: [github.get_issue]
                    thinker:
                      runtime: wasm
                      module: m.wasm
                      module_sha256: abababababababababababababababababababababababababababababababab
                      permissions: [model.invoke]
                    daneel:
                  """));

  private static final List<String> STEP = List.of("github.get_issue", "github.create_issue");

  private static void allow(Decision d, String reason) {
    assertInstanceOf(Decision.Allow.class, d, d::reason);
    assertTrue(d.allowed());
    assertEquals(reason, d.reason());
  }

  private static void deny(Decision d, String reason) {
    assertInstanceOf(Decision.Deny.class, d, d::reason);
    assertFalse(d.allowed());
    assertEquals(reason, d.reason());
  }

  @Test
  void permissionBranches() {
    allow(
        PolicyDecider.permission(POLICY, "hari", Permissions.PLAN_SUBMIT),
        "agent hari is granted permission plan.submit");
    deny(
        PolicyDecider.permission(POLICY, "ernest", Permissions.PLAN_SUBMIT),
        "agent ernest is not granted permission plan.submit");
    deny(
        PolicyDecider.permission(POLICY, "zed", Permissions.PLAN_SUBMIT),
        "agent 'zed' is not declared in the policy");
    deny(
        PolicyDecider.permission(POLICY, "sleepy", Permissions.SKILL_INVOKE),
        "agent sleepy is disabled in the policy");
    deny(
        PolicyDecider.permission(POLICY, "ernest", "root"),
        "permission root is not a known permission");
    deny(
        PolicyDecider.permission(POLICY, "ernest", null),
        "permission (none) is not a known permission");
    deny(PolicyDecider.permission(POLICY, null, Permissions.SKILL_INVOKE), "no agent was named");
    deny(PolicyDecider.permission(POLICY, "", Permissions.SKILL_INVOKE), "no agent was named");
  }

  @Test
  void skillAllowedOnlyWhenEveryCheckPasses() {
    allow(
        PolicyDecider.skill(POLICY, "ernest", STEP, "github.create_issue"),
        "agent ernest is granted skill github.create_issue and it is among the step's accepted"
            + " skills");
  }

  @Test
  void skillDenyBranches() {
    deny(
        PolicyDecider.skill(POLICY, "zed", STEP, "github.get_issue"),
        "agent 'zed' is not declared in the policy");
    deny(
        PolicyDecider.skill(POLICY, "sleepy", STEP, "github.get_issue"),
        "agent sleepy is disabled in the policy");
    deny(
        PolicyDecider.skill(POLICY, "thinker", STEP, "github.get_issue"),
        "agent thinker is not granted permission skill.invoke");
    deny(
        PolicyDecider.skill(POLICY, "hari", STEP, "github.get_issue"),
        "agent hari is not granted permission skill.invoke");
    deny(
        PolicyDecider.skill(POLICY, "ernest", STEP, "github.delete_repository"),
        "agent ernest is not granted skill github.delete_repository");
    deny(
        PolicyDecider.skill(POLICY, "daneel", STEP, "github.get_issue"),
        "agent daneel is not granted skill github.get_issue");
    deny(
        PolicyDecider.skill(POLICY, "ernest", STEP, "github.search_issues"),
        "skill github.search_issues is not among the step's accepted skills [github.get_issue,"
            + " github.create_issue]");
    deny(
        PolicyDecider.skill(POLICY, "ernest", null, "github.get_issue"),
        "skill github.get_issue is not among the step's accepted skills []");
    deny(PolicyDecider.skill(POLICY, "ernest", STEP, null), "no skill was named");
    deny(PolicyDecider.skill(POLICY, null, STEP, "github.get_issue"), "no agent was named");
  }

  @Test
  void untrustedNamesAreShownBoundedAndEscaped() {
    Decision d = PolicyDecider.skill(POLICY, "ernest", STEP, "x\n".repeat(500));
    assertFalse(d.allowed());
    assertFalse(d.reason().contains("\n"), d.reason());
    assertTrue(d.reason().length() < 700, d.reason());
    Decision agent = PolicyDecider.permission(POLICY, "evil'\u0000agent", Permissions.PLAN_SUBMIT);
    assertEquals("agent 'evil\\u0027\\u0000agent' is not declared in the policy", agent.reason());
  }

  @Test
  void decisionsAreSealedAndExhaustive() {
    Decision d = PolicyDecider.permission(POLICY, "hari", Permissions.PLAN_SUBMIT);
    String shown =
        switch (d) {
          case Decision.Allow a -> "allow: " + a.reason();
          case Decision.Deny n -> "deny: " + n.reason();
        };
    assertTrue(shown.startsWith("allow: "));
  }
}
