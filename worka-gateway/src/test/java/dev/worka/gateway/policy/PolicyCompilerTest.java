package dev.worka.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyCompilerTest {

  /** A minimal valid manifest; tests append to or replace parts of it. */
  static final String PLANNER =
      """
      agents:
        hari:
          role: planner
          runtime: process
          command: [bin/worka-agent, hari]
          permissions: [plan.submit]
      """;

  static CompiledPolicy compiled(String yaml) {
    return switch (PolicyCompiler.compile(yaml)) {
      case Compilation.Compiled c -> c.policy();
      case Compilation.Invalid i -> fail("expected the manifest to compile, got " + i.errors());
    };
  }

  static List<String> errors(String yaml) {
    return switch (PolicyCompiler.compile(yaml)) {
      case Compilation.Compiled c -> fail("expected the manifest to be invalid, got " + c.policy());
      case Compilation.Invalid i -> i.errors();
    };
  }

  static void assertError(String yaml, String expected) {
    List<String> errors = errors(yaml);
    assertTrue(
        errors.contains(expected), () -> "expected error\n  " + expected + "\nin\n  " + errors);
  }

  static void assertErrorContaining(String yaml, String expected) {
    List<String> errors = errors(yaml);
    assertTrue(
        errors.stream().anyMatch(e -> e.contains(expected)),
        () -> "expected an error containing\n  " + expected + "\nin\n  " + errors);
  }

  private static String withWorker(String workerBody) {
    return PLANNER + "  ernest:\n" + workerBody.indent(4);
  }

  @Test
  void theModelTokenBudgetIsReadAndStoredOnlyWhenStated() {
    CompiledPolicy stated = compiled(PLANNER + "limits:\n  max_model_tokens_per_run: 1234\n");
    assertEquals(1234, stated.limits().maxModelTokensPerRun());
    assertTrue(stated.toJson().contains("\"max_model_tokens_per_run\":1234"), stated.toJson());
    assertEquals(stated, CompiledPolicy.fromJson(stated.toJson()));
    CompiledPolicy unstated = compiled(PLANNER);
    assertEquals(Limits.DEFAULT_MAX_MODEL_TOKENS_PER_RUN, unstated.limits().maxModelTokensPerRun());
    assertFalse(unstated.toJson().contains("max_model_tokens_per_run"), "a default is not stored");
    assertEquals(unstated, CompiledPolicy.fromJson(unstated.toJson()));
  }

  // --- the built-in manifest ------------------------------------------------------------------

  @Test
  void builtInManifestCompilesToTheDocumentedPolicy() {
    CompiledPolicy policy = compiled(BuiltinPolicy.source());
    assertEquals(List.of("hari", "ernest", "daneel"), List.copyOf(policy.agents().keySet()));
    AgentPolicy hari = policy.planner();
    assertEquals("hari", hari.name());
    assertEquals(AgentRole.PLANNER, hari.role());
    assertEquals(RuntimeSpec.process(List.of("bin/worka-agent", "hari")), hari.runtime());
    assertEquals(Set.of(Permissions.PLAN_SUBMIT, Permissions.MODEL_INVOKE), hari.permissions());
    assertTrue(hari.skills().isEmpty());

    AgentPolicy ernest = policy.agent("ernest").orElseThrow();
    assertEquals(AgentRole.WORKER, ernest.role());
    assertTrue(ernest.enabled());
    assertEquals(List.of("bin/worka-agent", "ernest"), ernest.runtime().command());
    assertEquals(Set.of(Permissions.SKILL_INVOKE, Permissions.MODEL_INVOKE), ernest.permissions());
    assertEquals(
        List.of(
            "github.search_issues",
            "github.get_issue",
            "github.create_issue",
            "github.add_issue_comment"),
        ernest.skills());

    AgentPolicy daneel = policy.agent("daneel").orElseThrow();
    assertEquals(List.of("slack.read_thread", "slack.post_message"), daneel.skills());
    assertEquals(List.of("bin/worka-agent", "daneel"), daneel.runtime().command());

    assertEquals(List.of("acme/widgets", "acme/docs"), policy.lists().get("github_repos"));
    assertTrue(policy.skills().get("github.create_issue").sideEffect());
    assertTrue(policy.skills().get("github.add_issue_comment").sideEffect());
    assertTrue(policy.skills().get("slack.post_message").sideEffect());
    assertEquals(
        "input.owner + \"/\" + input.repo in lists.github_repos && size(input.title) <= 200",
        policy.skills().get("github.create_issue").when().orElseThrow().expression());
    assertEquals(
        "input.channel == run.slack_channel && input.ts == run.slack_thread_ts",
        policy.skills().get("slack.read_thread").when().orElseThrow().expression());
    assertEquals(
        "input.channel == run.slack_channel && run.slack_thread_ts != \"\" && has(input.thread_ts) && input.thread_ts == run.slack_thread_ts",
        policy.skills().get("slack.post_message").when().orElseThrow().expression());
    assertTrue(
        policy.skills().values().stream()
            .filter(s -> !s.name().equals("github.search_issues"))
            .allMatch(s -> s.when().isPresent()),
        "every built-in skill but the search has a condition");
    assertFalse(policy.skills().containsKey("github.search_issues"));
    assertEquals(Limits.DEFAULTS, policy.limits());
    assertEquals(
        Set.of(
            "github.search_issues",
            "github.get_issue",
            "github.create_issue",
            "github.add_issue_comment",
            "slack.read_thread",
            "slack.post_message"),
        policy.referencedSkills());
    assertFalse(policy.referencedSkills().contains("github.delete_repository"));
    assertEquals(policy, BuiltinPolicy.compiled());
  }

  @Test
  void defaultLimitsAreTheDocumentedOnes() {
    Limits d = Limits.DEFAULTS;
    assertEquals(8, d.maxSteps());
    assertEquals(50, d.maxSkillCallsPerStep());
    assertEquals(200, d.maxSkillCallsPerRun());
    assertEquals(Duration.ofMinutes(2), d.stepTimeout());
    assertEquals(3, d.maxAttempts());
    assertEquals(Duration.ofMinutes(15), d.runDeadline());
    assertEquals(4, d.maxConcurrentSteps());
    assertEquals(d, compiled(PLANNER).limits());
  }

  @Test
  void aFullManifestWithEveryRuntimeCompiles() {
    CompiledPolicy policy =
        compiled(
            PLANNER
                + """
                  old_planner:
                    role: planner
                    enabled: false
                    runtime: process
                    command: [bin/old]
                    permissions: [plan.submit, memory.search, model.invoke]
                  kube:
                    description: runs in a cluster
                    runtime: kubernetes
                    image: ghcr.io/acme/agent:1.2
                    permissions: [skill.invoke, model.invoke]
                    skills: [github.get_issue]
                  tiny:
                    runtime: wasm
                    module: agents/tiny.wasm
                    module_sha256: abababababababababababababababababababababababababababababababab
                lists:
                  empty: []
                  channels: [C123, "0042"]
                skills:
                  github.get_issue:
                  github.create_issue: {side_effect: true}
                  slack.read_thread: {}
                limits:
                  max_steps: 12
                  max_skill_calls_per_step: 10
                  max_skill_calls_per_run: 100
                  step_timeout: 1h30m
                  max_attempts: 1
                  run_deadline: 2h
                  max_concurrent_steps: 2
                """);
    assertEquals("hari", policy.planner().name());
    assertFalse(policy.agent("old_planner").orElseThrow().enabled());
    assertEquals(
        RuntimeSpec.kubernetes("ghcr.io/acme/agent:1.2"),
        policy.agent("kube").orElseThrow().runtime());
    assertEquals("runs in a cluster", policy.agent("kube").orElseThrow().description());
    assertEquals(
        RuntimeSpec.wasm(
            "agents/tiny.wasm", "abababababababababababababababababababababababababababababababab"),
        policy.agent("tiny").orElseThrow().runtime());
    assertEquals(List.of(), policy.agent("tiny").orElseThrow().skills());
    assertEquals(List.of("C123", "0042"), policy.lists().get("channels"));
    assertFalse(policy.skills().get("github.get_issue").sideEffect());
    assertFalse(policy.skills().get("slack.read_thread").sideEffect());
    assertEquals(
        new Limits(12, 10, 100, Duration.ofMinutes(90), 1, Duration.ofHours(2), 2),
        policy.limits());
    assertEquals(
        Set.of("github.get_issue", "github.create_issue", "slack.read_thread"),
        policy.referencedSkills());
    assertEquals(2, policy.agentsWithRole(AgentRole.PLANNER).size());
  }

  // --- agents ---------------------------------------------------------------------------------

  @Test
  void unknownRuntimeIsNamedWithItsPath() {
    assertEquals(
        List.of(
            "agents.ernest.runtime: unknown runtime 'docker' (expected process, kubernetes or"
                + " wasm)"),
        errors(withWorker("runtime: docker\nimage: x")));
  }

  @Test
  void runtimeIsRequired() {
    assertError(
        withWorker("permissions: []"),
        "agents.ernest.runtime: required (process, kubernetes or wasm)");
  }

  @Test
  void runtimeFieldsMustMatchTheKind() {
    assertError(
        withWorker("runtime: process"),
        "agents.ernest.command: required for runtime process (an argv list, e.g. [bin/worka-agent,"
            + " ernest])");
    assertErrorContaining(
        withWorker("runtime: process\ncommand: bin/worka-agent ernest"),
        "agents.ernest.command: expected an argv list");
    assertError(
        withWorker("runtime: process\ncommand: []"),
        "agents.ernest.command: is empty; it needs at least the program to run");
    assertError(
        withWorker("runtime: process\ncommand: [bin/a, '']"), "agents.ernest.command[1]: is empty");
    assertError(
        withWorker("runtime: process\ncommand: [bin/a, 7]"),
        "agents.ernest.command[1]: expected a string, found the number 7 (quote it)");
    assertError(
        withWorker("runtime: process\ncommand: [bin/a]\nimage: x"),
        "agents.ernest.image: only used with runtime kubernetes (this agent's runtime is process)");
    assertError(
        withWorker("runtime: kubernetes"),
        "agents.ernest.image: required for this runtime (a container image reference)");
    assertError(
        withWorker("runtime: kubernetes\nimage: 'a b'"),
        "agents.ernest.image: 'a b' is not a container image reference");
    assertError(
        withWorker("runtime: kubernetes\nimage: x\ncommand: [a]"),
        "agents.ernest.command: only used with runtime process (this agent's runtime is"
            + " kubernetes)");
    assertError(
        withWorker("runtime: wasm"),
        "agents.ernest.module: required for this runtime (the path of a WASI module)");
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\nimage: x"),
        "agents.ernest.image: only used with runtime kubernetes (this agent's runtime is wasm)");
  }

  @Test
  void aWasmModuleIsPinnedByItsSha256() {
    String sha = "0123456789abcdef".repeat(4);
    assertEquals(
        RuntimeSpec.wasm("m.wasm", sha),
        compiled(withWorker("runtime: wasm\nmodule: m.wasm\nmodule_sha256: " + sha))
            .agent("ernest")
            .orElseThrow()
            .runtime());
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm"),
        "agents.ernest.module_sha256: required for runtime wasm (the module's sha256, 64 lowercase"
            + " hex digits: run sha256sum on the module)");
    for (String bad :
        List.of(
            sha.toUpperCase(java.util.Locale.ROOT),
            sha.substring(1),
            sha + "0",
            "sha256:" + sha,
            " " + sha)) {
      assertError(
          withWorker("runtime: wasm\nmodule: m.wasm\nmodule_sha256: '" + bad + "'"),
          "agents.ernest.module_sha256: '"
              + bad
              + "' is not a sha256 (64 lowercase hex digits, as sha256sum prints it)");
    }
    assertErrorContaining(
        withWorker("runtime: wasm\nmodule: m.wasm\nmodule_sha256: [" + sha + "]"),
        "agents.ernest.module_sha256: '[\""
            + sha
            + "\"]' is not a sha256: write it as a quoted"
            + " string");
    assertErrorContaining(
        withWorker("runtime: wasm\nmodule: m.wasm\nmodule_sha256: " + "1".repeat(30)),
        "agents.ernest.module_sha256: '"
            + "1".repeat(30)
            + "' is not a sha256: write it as a"
            + " quoted string");
    assertError(
        withWorker("runtime: kubernetes\nimage: x\nmodule_sha256: " + sha),
        "agents.ernest.module_sha256: only used with runtime wasm (this agent's runtime is"
            + " kubernetes)");
  }

  @Test
  void aKubernetesAgentMayNameItsRuntimeClassAndNoOtherAgentMay() {
    CompiledPolicy policy =
        compiled(
            PLANNER
                + """
                  kube:
                    runtime: kubernetes
                    image: ghcr.io/acme/agent:1.2
                    runtime_class: gvisor
                """);
    assertEquals(
        RuntimeSpec.kubernetes("ghcr.io/acme/agent:1.2", "gvisor"),
        policy.agent("kube").orElseThrow().runtime());
    assertError(
        withWorker("runtime: kubernetes\nimage: x\nruntime_class: 'Not A Class'"),
        "agents.ernest.runtime_class: 'Not A Class' is not a RuntimeClass name (e.g. gvisor, kata)");
    assertError(
        withWorker("runtime: kubernetes\nimage: x\nruntime_class: Kata_1"),
        "agents.ernest.runtime_class: 'Kata_1' is not a RuntimeClass name (lower-case letters,"
            + " digits, '-' and '.')");
    assertError(
        withWorker("runtime: kubernetes\nimage: x\nruntime_class: [gvisor]"),
        "agents.ernest.runtime_class: expected a string, found a list");
    assertError(
        withWorker("runtime: process\ncommand: [bin/a]\nruntime_class: gvisor"),
        "agents.ernest.runtime_class: only used with runtime kubernetes (this agent's runtime is"
            + " process)");
    assertError(
        withWorker(
            "runtime: wasm\nmodule: m.wasm\nmodule_sha256: '"
                + "ab".repeat(32)
                + "'\nruntime_class: gvisor"),
        "agents.ernest.runtime_class: only used with runtime kubernetes (this agent's runtime is"
            + " wasm)");
  }

  @Test
  void unknownAndDuplicatePermissionsAreErrors() {
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\npermissions: [skill.invoke, skills.invoke]"),
        "agents.ernest.permissions[1]: unknown permission 'skills.invoke' (expected one of"
            + " memory.search, model.invoke, plan.submit, skill.invoke)");
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\npermissions: [memory.search, memory.search]"),
        "agents.ernest.permissions[1]: memory.search is listed twice");
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\npermissions: skill.invoke"),
        "agents.ernest.permissions: expected a list, found the string 'skill.invoke'");
  }

  @Test
  void rolesAreChecked() {
    assertError(
        withWorker("role: boss\nruntime: wasm\nmodule: m.wasm"),
        "agents.ernest.role: unknown role 'boss' (expected planner or worker)");
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\npermissions: [plan.submit]"),
        "agents.ernest.permissions: plan.submit is only for the planner (role: planner)");
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\nskills: [github.get_issue]"),
        "agents.ernest.permissions: skill.invoke is required for an agent with skills");
    String planner =
        """
        agents:
          hari:
            role: planner
            runtime: process
            command: [bin/worka-agent, hari]
            permissions: [skill.invoke]
            skills: [github.get_issue]
        """;
    List<String> errors = errors(planner);
    assertTrue(
        errors.contains("agents.hari.permissions: a planner needs plan.submit"), errors::toString);
    assertTrue(
        errors.contains(
            "agents.hari.permissions: a planner may not hold skill.invoke (planners propose plans;"
                + " workers invoke skills)"),
        errors::toString);
    assertTrue(
        errors.contains(
            "agents.hari.skills: a planner has no skills (it proposes plans; workers invoke"
                + " skills)"),
        errors::toString);
  }

  @Test
  void exactlyOneEnabledPlannerIsRequired() {
    assertError(
        "agents:\n  ernest:\n    runtime: wasm\n    module: m.wasm\n    module_sha256: abababababababababababababababababababababababababababababababab\n",
        "agents: no enabled planner; exactly one agent must have role: planner");
    assertError(
        PLANNER.replace("role: planner", "role: planner\n    enabled: false"),
        "agents: no enabled planner; exactly one agent must have role: planner");
    assertError(
        PLANNER
            + "  hari2:\n"
            + "    role: planner\n"
            + "    runtime: wasm\n"
            + "    module: m.wasm\n"
            + "    module_sha256: abababababababababababababababababababababababababababababababab\n"
            + "    permissions: [plan.submit]\n",
        "agents: 2 enabled planners (hari, hari2); exactly one is allowed (disable the others with"
            + " enabled: false)");
    assertError(
        "agents: {}\n", "agents: no enabled planner; exactly one agent must have role: planner");
    assertError(
        "lists: {}\n",
        "agents: required; a manifest declares every agent it allows, one of them the planner");
  }

  @Test
  void agentNamesAndFieldsAreChecked() {
    assertError(
        PLANNER + "  Ernest:\n    runtime: wasm\n    module: m.wasm\n",
        "agents.Ernest: invalid agent name (expected ^[a-z][a-z0-9_-]{0,63}$)");
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\nenabled: maybe"),
        "agents.ernest.enabled: expected true or false, found the string 'maybe'");
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\ndescription: [a]"),
        "agents.ernest.description: expected a string, found a list");
    assertError(
        PLANNER + "  ernest: wasm\n",
        "agents.ernest: expected a mapping (role, runtime, permissions, ...), found the string"
            + " 'wasm'");
    assertError(
        withWorker(
            """
            runtime: wasm
            module: m.wasm
            module_sha256: abababababababababababababababababababababababababababababababab
            skills: [github.get_issue, GitHub.x, github.get_issue]
            permissions: [skill.invoke]"""),
        "agents.ernest.skills[1]: invalid skill name 'GitHub.x' (expected provider.action,"
            + " ^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$)");
    assertError(
        withWorker(
            """
            runtime: wasm
            module: m.wasm
            module_sha256: abababababababababababababababababababababababababababababababab
            skills: [github.get_issue, github.get_issue]
            permissions: [skill.invoke]"""),
        "agents.ernest.skills[1]: github.get_issue is listed twice");
  }

  @Test
  void unknownKeysAtEveryLevelAreErrors() {
    assertError(
        PLANNER + "agent: {}\n",
        "agent: unknown key (expected agents, lists, skills, limits, ingress)");
    assertError(
        withWorker("runtime: wasm\nmodule: m.wasm\npermisions: [skill.invoke]"),
        "agents.ernest.permisions: unknown key (expected role, description, enabled, runtime,"
            + " command, image, runtime_class, module, module_sha256, permissions, skills, resources)");
    assertError(
        PLANNER + "skills:\n  github.get_issue: {side_effects: true}\n",
        "skills.github.get_issue.side_effects: unknown key (expected side_effect, when, approval)");
    assertError(
        PLANNER + "limits:\n  max_step: 3\n",
        "limits.max_step: unknown key (expected max_steps, max_skill_calls_per_step,"
            + " max_skill_calls_per_run, step_timeout, max_attempts, run_deadline,"
            + " max_concurrent_steps, retry_backoff, retry_backoff_max, max_model_tokens_per_run,"
            + " resources)");
  }

  // --- lists and skills -----------------------------------------------------------------------

  @Test
  void listsAreNamedListsOfStrings() {
    assertError(
        PLANNER + "lists:\n  Repos: [a]\n",
        "lists.Repos: invalid list name (expected ^[a-z][a-z0-9_-]{0,63}$)");
    assertError(
        PLANNER + "lists:\n  repos: a\n", "lists.repos: expected a list, found the string 'a'");
    assertError(
        PLANNER + "lists:\n  repos:\n",
        "lists.repos: expected a list of strings, found nothing (write [] for an empty list)");
    assertError(
        PLANNER + "lists:\n  ports: [80, true]\n",
        "lists.ports[0]: expected a string, found the number 80 (quote it)");
    assertError(
        PLANNER + "lists:\n  ports: [80, true]\n",
        "lists.ports[1]: expected a string, found the boolean true (quote it)");
    assertError(
        PLANNER + "lists: [a]\n",
        "lists: expected a mapping of list name to a list of strings, found a list");
  }

  @Test
  void skillsSectionIsChecked() {
    assertError(
        PLANNER + "skills:\n  delete_everything: {}\n",
        "skills.delete_everything: invalid skill name (expected provider.action,"
            + " ^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$)");
    assertError(
        PLANNER + "skills:\n  github.create_issue: {side_effect: sure}\n",
        "skills.github.create_issue.side_effect: expected true or false, found the string 'sure'");
    assertError(
        PLANNER + "skills:\n  github.create_issue: true\n",
        "skills.github.create_issue: expected a mapping (side_effect, when, approval), found the boolean"
            + " true");
  }

  // --- limits ---------------------------------------------------------------------------------

  @ParameterizedTest
  @CsvSource({
    "120s, PT2M",
    "2m, PT2M",
    "1h30m, PT1H30M",
    "1500ms, PT1.5S",
    "1d, PT24H",
    "90s, PT1M30S",
  })
  void durationsTakeUnits(String text, String iso) {
    assertEquals(
        Duration.parse(iso),
        compiled(PLANNER + "limits:\n  step_timeout: " + text + "\n  run_deadline: 2d\n")
            .limits()
            .stepTimeout());
  }

  @Test
  void badDurationsAreErrors() {
    assertError(
        PLANNER + "limits:\n  step_timeout: 120\n",
        "limits.step_timeout: expected a duration with a unit, such as 120s, 2m or 1h30m, found the"
            + " number 120 (a bare number is ambiguous)");
    assertError(
        PLANNER + "limits:\n  step_timeout: 2 minutes\n",
        "limits.step_timeout: '2 minutes' is not a duration (expected e.g. 120s, 2m, 1h30m; units"
            + " ms, s, m, h, d)");
    assertError(
        PLANNER + "limits:\n  step_timeout: 500ms\n",
        "limits.step_timeout: 500ms is out of bounds (1s to 1d)");
    assertError(
        PLANNER + "limits:\n  run_deadline: 8d\n",
        "limits.run_deadline: 8d is out of bounds (1s to 7d)");
    assertError(
        PLANNER + "limits:\n  step_timeout: 20m\n",
        "limits.step_timeout: 20m is longer than limits.run_deadline 15m");
  }

  @Test
  void retryBackoffIsOptionalBoundedAndNotAboveItsCap() {
    assertEquals(Duration.ofSeconds(1), compiled(PLANNER).limits().retryBackoff());
    assertEquals(Duration.ofSeconds(60), compiled(PLANNER).limits().retryBackoffMax());
    Limits stated =
        compiled(PLANNER + "limits:\n  retry_backoff: 250ms\n  retry_backoff_max: 10s\n").limits();
    assertEquals(Duration.ofMillis(250), stated.retryBackoff());
    assertEquals(Duration.ofSeconds(10), stated.retryBackoffMax());
    assertError(
        PLANNER + "limits:\n  retry_backoff: 2h\n",
        "limits.retry_backoff: 2h is out of bounds (1ms to 1h)");
    assertError(
        PLANNER + "limits:\n  retry_backoff: 5\n",
        "limits.retry_backoff: expected a duration with a unit, such as 120s, 2m or 1h30m, found the"
            + " number 5 (a bare number is ambiguous)");
    assertError(
        PLANNER + "limits:\n  retry_backoff: 30s\n  retry_backoff_max: 10s\n",
        "limits.retry_backoff: 30s is longer than limits.retry_backoff_max 10s");
  }

  @Test
  void countsAreBounded() {
    assertError(
        PLANNER + "limits:\n  max_steps: 0\n", "limits.max_steps: 0 is out of bounds (1 to 64)");
    assertError(
        PLANNER + "limits:\n  max_steps: 65\n", "limits.max_steps: 65 is out of bounds (1 to 64)");
    assertError(
        PLANNER + "limits:\n  max_attempts: -1\n",
        "limits.max_attempts: -1 is out of bounds (1 to 10)");
    assertError(
        PLANNER + "limits:\n  max_steps: '8'\n",
        "limits.max_steps: expected a whole number from 1 to 64, found the string '8'");
    assertError(
        PLANNER + "limits:\n  max_steps: 2.5\n",
        "limits.max_steps: expected a whole number from 1 to 64, found the number 2.5");
    assertError(
        PLANNER + "limits:\n  max_concurrent_steps: 99999999999\n",
        "limits.max_concurrent_steps: expected a whole number from 1 to 64, found the number"
            + " 99999999999");
    assertError(
        PLANNER + "limits:\n  max_model_tokens_per_run: 0\n",
        "limits.max_model_tokens_per_run: 0 is out of bounds (1 to 1000000000)");
    assertError(
        PLANNER + "limits:\n  max_skill_calls_per_step: 300\n",
        "limits.max_skill_calls_per_step: 300 exceeds limits.max_skill_calls_per_run 200");
    assertError(
        PLANNER + "limits: 5\n",
        "limits: expected a mapping (max_steps, max_skill_calls_per_step, max_skill_calls_per_run,"
            + " step_timeout, max_attempts, run_deadline, max_concurrent_steps, retry_backoff,"
            + " retry_backoff_max, max_model_tokens_per_run, resources), found the number 5");
  }

  // --- reading YAML safely --------------------------------------------------------------------

  @Test
  void unreadableOrUnsafeYamlIsAnErrorNotACrash() {
    assertEquals(List.of("manifest: no source given"), errors(null));
    assertEquals(
        List.of("manifest: is empty (a manifest declares at least its agents)"), errors(""));
    assertEquals(
        List.of("manifest: is empty (a manifest declares at least its agents)"),
        errors("# nothing\n"));
    assertEquals(
        List.of(
            "manifest: expected a mapping with the keys agents, lists, skills, limits, ingress, found a"
                + " list"),
        errors("- a\n- b\n"));
    assertErrorContaining(PLANNER + "agents: {}\n", "duplicate key 'agents'");
    assertErrorContaining(PLANNER + "---\nagents: {}\n", "holds a second YAML document");
    assertErrorContaining(
        PLANNER + "lists:\n  a: &repos [x, y]\n  b: *repos\n",
        "YAML aliases (*repos) are not supported");
    assertErrorContaining(PLANNER + "lists:\n  a: !!binary aGVsbG8=\n", "explicit YAML tags");
    assertErrorContaining(PLANNER + "lists: !!python/object:os.system {}\n", "explicit YAML tags");
    assertErrorContaining("agents: [\n", "not readable YAML");
    assertErrorContaining("agents:\n  hari: {\n", "not readable YAML");
    assertEquals(List.of("manifest: contains a NUL character"), errors(PLANNER + "# \0\n"));
    assertErrorContaining(
        "a: " + "x".repeat(ManifestYaml.MAX_CHARS),
        "characters long; at most 1048576 are accepted");
    assertErrorContaining("a: " + "[".repeat(100) + "]".repeat(100), "not readable YAML");
  }

  @Test
  void billionLaughsIsRefusedWithoutExpansion() {
    StringBuilder yaml = new StringBuilder("lol0: &a0 [lol]\n");
    for (int i = 1; i < 30; i++) {
      String ref = "*a" + (i - 1);
      yaml.append("lol")
          .append(i)
          .append(": &a")
          .append(i)
          .append(" [")
          .append(String.join(", ", List.of(ref, ref, ref, ref, ref, ref, ref, ref, ref, ref)))
          .append("]\n");
    }
    assertErrorContaining(yaml.toString(), "YAML aliases");
  }

  @Test
  void everyErrorIsReportedNotOnlyTheFirst() {
    List<String> errors =
        errors(
            """
            agents:
              hari: {role: planner, runtime: process, command: [x], permissions: [plan.submit]}
              ernest: {runtime: docker, permissions: [root]}
            skills:
              github.create_issue: {when: 'input.title +'}
            limits: {max_steps: 100, step_timeout: forever}
            extra: 1
            """);
    assertEquals(6, errors.size(), errors::toString);
  }

  @Test
  void randomInputNeverThrows() {
    Random random = new Random(7);
    String base = BuiltinPolicy.source();
    String alphabet = "abc:-[]{}&*!|>#'\"\n \t0123456789.,?%@`\\\u00e9\u0000";
    for (int round = 0; round < 3000; round++) {
      StringBuilder s = new StringBuilder(base);
      int edits = 1 + random.nextInt(5);
      for (int e = 0; e < edits; e++) {
        int at = random.nextInt(s.length() + 1);
        switch (random.nextInt(3)) {
          case 0 -> s.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
          case 1 -> {
            if (at < s.length()) {
              s.deleteCharAt(at);
            }
          }
          default -> {
            int end = Math.min(s.length(), at + random.nextInt(40));
            s.insert(random.nextInt(s.length() + 1), s.substring(at, end));
          }
        }
      }
      Compilation result = PolicyCompiler.compile(s.toString());
      switch (result) {
        case Compilation.Compiled c ->
            assertEquals(c.policy(), CompiledPolicy.fromJson(c.policy().toJson()));
        case Compilation.Invalid i -> assertFalse(i.errors().isEmpty());
      }
    }
  }

  @Test
  void compilationOutcomesAreSealed() {
    assertInstanceOf(Compilation.Compiled.class, PolicyCompiler.compile(PLANNER));
    assertInstanceOf(Compilation.Invalid.class, PolicyCompiler.compile("agents: 1"));
  }
}
