package dev.worka.gateway.plan;

import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.Compilation;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.PolicyCompiler;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The policy and skill directory the plan tests validate against. */
final class PlanFixtures {

  /** The built-in policy plus a disabled worker, sleepy. */
  static final CompiledPolicy POLICY =
      switch (PolicyCompiler.compile(
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
                    daneel:
                  """))) {
        case Compilation.Compiled c -> c.policy();
        case Compilation.Invalid i -> throw new IllegalStateException(i.errors().toString());
      };

  /**
   * Every skill of the built-in policy plus github.delete_repository; slack.post_message is
   * unavailable.
   */
  static final SkillDirectory SKILLS =
      new SkillDirectory() {
        private final Set<String> known =
            Set.of(
                "github.search_issues",
                "github.get_issue",
                "github.create_issue",
                "github.add_issue_comment",
                "github.delete_repository",
                "slack.read_thread",
                "slack.post_message");
        private final Map<String, String> unavailable =
            Map.of("slack.post_message", "provider slack is not configured (live mode)");

        @Override
        public boolean exists(String skill) {
          return known.contains(skill);
        }

        @Override
        public Optional<String> unavailableReason(String skill) {
          return Optional.ofNullable(unavailable.get(skill));
        }
      };

  /** The example plan of DESIGN §6. */
  static final String DESIGN_EXAMPLE =
      """
      {
        "summary": "Summarize the thread and file an issue",
        "steps": [
          {"step_ref": "read", "agent": "daneel", "objective": "Summarize this thread",
           "skills": ["slack.read_thread"], "depends_on": []},
          {"step_ref": "file", "agent": "ernest", "objective": "Open an issue with the summary",
           "skills": ["github.create_issue"], "depends_on": ["read"]}
        ]
      }
      """;

  private PlanFixtures() {}
}
