package dev.worka.bench;

import dev.worka.gateway.plan.PlanValidation;
import dev.worka.gateway.plan.PlanValidator;
import dev.worka.gateway.plan.SkillDirectory;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.PolicyDecider;
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
 * allowlist, step's accepted skills) and a whole plan validation (size, strict JSON parse, JSON
 * Schema, normalization, semantic checks, RFC 8785 canonical hash).
 *
 * <p>Run: {@code bin/bench PolicyPathBenchmark} (builds worka-bench, then runs JMH).
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

  @Setup
  public void setUp() {
    policy = BuiltinPolicy.compiled();
    validator = new PlanValidator(new SkillDirectory() {
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
    if (!(validator.validate(TWO_STEP_PLAN, policy) instanceof PlanValidation.Accepted)) {
      throw new IllegalStateException("the benchmark plan must be valid");
    }
  }

  @Benchmark
  public boolean skillDecision() {
    return PolicyDecider.skill(policy, "ernest", stepSkills, "github.create_issue") instanceof Decision.Allow;
  }

  @Benchmark
  public boolean skillDenial() {
    return PolicyDecider.skill(policy, "ernest", stepSkills, "github.delete_repository") instanceof Decision.Deny;
  }

  @Benchmark
  public PlanValidation validateTwoStepPlan() {
    return validator.validate(TWO_STEP_PLAN, policy);
  }
}
