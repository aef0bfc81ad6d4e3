package dev.worka.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyDiffTest {
  private static CompiledPolicy compile(String yaml) {
    return switch (PolicyCompiler.compile(yaml)) {
      case Compilation.Compiled c -> c.policy();
      case Compilation.Invalid i -> throw new AssertionError(i.errors());
    };
  }

  @Test
  void theSamePolicyHasNoChanges() {
    assertEquals(
        List.of(), PolicyDiff.between(BuiltinPolicy.compiled(), compile(BuiltinPolicy.source())));
  }

  @Test
  void eachAgentsGainsAndLossesConditionsListsAndLimitsAreNamed() {
    String changed =
        BuiltinPolicy.source()
            .replace("      - github.create_issue\n", "")
            .replace("    - acme/docs\n", "    - acme/site\n")
            .replace("max_steps: 8", "max_steps: 5")
            .replace("input.channel == run.slack_channel", "input.channel == \"C0123\"");
    List<String> lines = PolicyDiff.between(BuiltinPolicy.compiled(), compile(changed));
    assertEquals(
        List.of(
            "agent ernest: loses skills [github.create_issue]",
            "skill slack.post_message: condition changed: input.channel == run.slack_channel && run.slack_thread_ts != \"\" && has(input.thread_ts) && input.thread_ts == run.slack_thread_ts → input.channel == \"C0123\" && run.slack_thread_ts != \"\" && has(input.thread_ts) && input.thread_ts == run.slack_thread_ts",
            "skill slack.read_thread: condition changed: input.channel == run.slack_channel && input.ts == run.slack_thread_ts → input.channel == \"C0123\" && input.ts == run.slack_thread_ts",
            "list github_repos: gains items [acme/site]; loses items [acme/docs]",
            "limit max_steps: 8 → 5"),
        lines);
  }

  @Test
  void anApprovalAddedChangedOrRemovedIsNamed() {
    String before = BuiltinPolicy.source();
    String with =
        before.replace(
            "  github.create_issue:\n    side_effect: true\n",
            "  github.create_issue:\n    side_effect: true\n    approval: {approvers: [operator,"
                + " slack:U0123], expires: 1h}\n");
    String changed = with.replace("expires: 1h}", "expires: 30m, when: 'input.owner != \"acme\"'}");
    assertEquals(
        List.of(
            "skill github.create_issue: approval added: always, approvers [operator, slack:U0123],"
                + " expires 1h"),
        PolicyDiff.between(compile(before), compile(with)));
    assertEquals(
        List.of(
            "skill github.create_issue: approval changed: always, approvers [operator,"
                + " slack:U0123], expires 1h → when input.owner != \"acme\", approvers [operator,"
                + " slack:U0123], expires 30m"),
        PolicyDiff.between(compile(with), compile(changed)));
    assertEquals(
        List.of(
            "skill github.create_issue: approval removed (was: always, approvers [operator,"
                + " slack:U0123], expires 1h)"),
        PolicyDiff.between(compile(with), compile(before)));
  }

  @Test
  void resourcesThatMoveAreNamedPerAgent() {
    String before = BuiltinPolicy.source();
    String after =
        before
            .replace(
                "max_model_tokens_per_run: 200000",
                "max_model_tokens_per_run: 200000\n  resources: {memory: 1Gi, cpu: 500m}")
            .replace(
                "  ernest:\n",
                "  ernest:\n    resources: {memory: 2Gi, pids: 64, open_files: 1024}\n");
    assertEquals(
        List.of(
            "agent daneel: resources memory 512Mi → 1Gi, cpu 1 → 500m",
            "agent ernest: resources memory 512Mi → 2Gi, cpu 1 → 500m, pids 128 → 64, open_files"
                + " 256 → 1024",
            "agent hari: resources memory 512Mi → 1Gi, cpu 1 → 500m"),
        PolicyDiff.between(compile(before), compile(after)));
    assertEquals(
        List.of(
            "agent daneel: resources memory 1Gi → 512Mi, cpu 500m → 1",
            "agent ernest: resources memory 2Gi → 512Mi, cpu 500m → 1, pids 64 → 128, open_files"
                + " 1024 → 256",
            "agent hari: resources memory 1Gi → 512Mi, cpu 500m → 1"),
        PolicyDiff.between(compile(after), compile(before)));
  }

  @Test
  void anAddedAgentShowsItsResourcesWhenNotTheDefaults() {
    String before = BuiltinPolicy.source();
    String after =
        before.replace(
            "agents:\n",
            """
            agents:
              r2:
                runtime: process
                command: [bin/worka-agent, r2]
                permissions: []
                resources: {disk: 1Gi}
            """);
    assertEquals(
        List.of(
            "agent r2: added (worker, process, permissions [], skills [], resources {memory: 512Mi,"
                + " cpu: \"1\", pids: 128, disk: 1Gi, open_files: 256})"),
        PolicyDiff.between(compile(before), compile(after)));
  }

  @Test
  void aRuntimeClassThatChangesIsNamed() {
    String before =
        BuiltinPolicy.source()
            .replace(
                "runtime: process\n    command: [bin/worka-agent, ernest]",
                "runtime: kubernetes\n    image: registry.test/worka/agents:1");
    String after = before.replace("agents:1", "agents:1\n    runtime_class: gvisor");
    assertEquals(
        List.of(
            "agent ernest: runtime kubernetes registry.test/worka/agents:1 → kubernetes"
                + " registry.test/worka/agents:1 (runtime_class gvisor)"),
        PolicyDiff.between(compile(before), compile(after)));
  }

  @Test
  void whoMayStartARunIsNamedToo() {
    String changed =
        BuiltinPolicy.source()
            .replace(
                "author_associations: [OWNER, MEMBER, COLLABORATOR]",
                "author_associations: [OWNER, MEMBER]")
            .replace("# repositories: [acme/widgets, acme/docs]", "repositories: [acme/widgets]")
            .replace("# teams: [T0123ABCD]", "teams: [T0123ABCD, T0PARTNER]")
            .replace("runs_per_requester_per_hour: 20", "runs_per_requester_per_hour: 5");
    String narrowed =
        changed
            .replace("teams: [T0123ABCD, T0PARTNER]", "teams: [T0123ABCD]")
            .replace("# users: [U0123ABCD]", "users: [U0123ABCD]");
    assertEquals(
        List.of(
            "ingress github.author_associations: loses [COLLABORATOR]",
            "ingress github.repositories: any repository → [acme/widgets]",
            "ingress slack.teams: this bot's own workspace → [T0123ABCD, T0PARTNER]",
            "ingress quotas.runs_per_requester_per_hour: 20 → 5"),
        PolicyDiff.between(BuiltinPolicy.compiled(), compile(changed)));
    assertEquals(
        List.of(
            "ingress slack.teams: loses [T0PARTNER]",
            "ingress slack.users: any user → [U0123ABCD]"),
        PolicyDiff.between(compile(changed), compile(narrowed)));
  }
}
