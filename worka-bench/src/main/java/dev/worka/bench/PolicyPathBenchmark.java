package dev.worka.bench;

import dev.worka.gateway.plan.PlanValidation;
import dev.worka.gateway.plan.PlanValidator;
import dev.worka.gateway.plan.SkillDirectory;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.ConditionContext;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.run.RunSource;
import dev.worka.protocol.Json;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The policy work on the agent-call path, without I/O: a skill decision (permission, agent
 * allowlist, step's accepted skills), the same decision with the skill's CEL condition (the
 * built-in {@code github.create_issue} condition: repository in {@code lists.github_repos} and a
 * title of at most 200 characters, over an already parsed input), and a whole plan validation
 * (size, strict JSON parse, JSON Schema, normalization, semantic checks, RFC 8785 canonical hash).
 *
 * <p>Run: {@code bin/bench PolicyPathBenchmark} (builds worka-bench, then runs JMH); a quick run:
 * {@code bin/bench PolicyPathBenchmark -f 1 -wi 2 -i 3 -w 2 -r 2}.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PolicyPathBenchmark {
  static final String TWO_STEP_PLAN =
      """
      {"summary": "Summarize the thread and file an issue",
       "steps": [
         {"step_ref": "read", "agent": "daneel", "objective": "Summarize this thread",
          "skills": ["slack.read_thread"], "depends_on": []},
         {"step_ref": "file", "agent": "ernest", "objective": "Open an issue in acme/widgets titled 'Thread summary' with the summary of step read",
          "skills": ["github.create_issue"], "depends_on": ["read"]}]}
      """;

  CompiledPolicy policy;
  PlanValidator validator;
  List<String> stepSkills;
  ConditionContext listedRepository;
  ConditionContext unlistedRepository;

  @Setup
  public void setUp() {
    policy = BuiltinPolicy.compiled();
    validator =
        new PlanValidator(
            new SkillDirectory() {
              @Override
              public boolean exists(String skill) {
                return skill.startsWith("github.") || skill.startsWith("slack.");
              }

              @Override
              public Optional<String> unavailableReason(String skill) {
                return Optional.empty();
              }
            });
    stepSkills = List.of("github.create_issue");
    listedRepository = createIssueIn("widgets");
    unlistedRepository = createIssueIn("secret");
    if (!conditionDecision() || !conditionDenial()) {
      throw new IllegalStateException("the benchmark conditions must allow and deny as expected");
    }
    if (!(validator.validate(TWO_STEP_PLAN, policy) instanceof PlanValidation.Accepted)) {
      throw new IllegalStateException("the benchmark plan must be valid");
    }
  }

  @Benchmark
  public boolean skillDecision() {
    return PolicyDecider.skill(policy, "ernest", stepSkills, "github.create_issue")
        instanceof Decision.Allow;
  }

  @Benchmark
  public boolean skillDenial() {
    return PolicyDecider.skill(policy, "ernest", stepSkills, "github.delete_repository")
        instanceof Decision.Deny;
  }

  /** Allowlist and CEL condition, allowed: the whole decision on a create_issue call. */
  @Benchmark
  public boolean conditionDecision() {
    return PolicyDecider.skill(
            policy, "ernest", stepSkills, "github.create_issue", listedRepository)
        instanceof Decision.Allow;
  }

  /** Allowlist and CEL condition, denied by the condition (a repository not on the list). */
  @Benchmark
  public boolean conditionDenial() {
    return PolicyDecider.skill(
            policy, "ernest", stepSkills, "github.create_issue", unlistedRepository)
        instanceof Decision.Deny;
  }

  private ConditionContext createIssueIn(String repo) {
    var input = Json.STRICT.createObjectNode();
    input.put("owner", "acme").put("repo", repo).put("title", "Login test is flaky");
    input.put("body", "It fails about one run in ten on CI; see the last three builds.");
    input.putArray("labels").add("bug").add("flaky");
    return new ConditionContext(
        input,
        new ConditionContext.Run(
            "0b8f5a8e-6d3c-4c43-9a57-3f2d3c1e9a10",
            RunSource.API.sql(),
            "open an issue in acme/" + repo,
            "alice",
            "",
            ""),
        new ConditionContext.Step(
            "5d1c0c4e-2b7a-4f0e-8d51-0a3e4c2b1f77", "file", "ernest", stepSkills));
  }

  @Benchmark
  public PlanValidation validateTwoStepPlan() {
    return validator.validate(TWO_STEP_PLAN, policy);
  }
}
