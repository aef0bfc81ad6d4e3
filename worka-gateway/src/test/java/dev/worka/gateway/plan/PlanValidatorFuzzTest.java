package dev.worka.gateway.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.CompiledPolicy;
import java.util.Optional;

/**
 * Fuzzes the plan validator with whatever a hostile planner might send. Properties: it never
 * throws; an accepted plan stays within the policy (step count, agents, allowlists); and it is
 * stable — the accepted canonical JSON validates again to the same hash. Regression mode runs the
 * seeds in {@code PlanValidatorFuzzTestInputs}; {@code JAZZER_FUZZ=1} fuzzes.
 */
class PlanValidatorFuzzTest {
  private static final CompiledPolicy POLICY = BuiltinPolicy.compiled();
  private static final PlanValidator VALIDATOR =
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

  @FuzzTest(maxDuration = "10s")
  void validatorNeverThrowsAndAcceptsOnlyWhatThePolicyAllows(FuzzedDataProvider data) {
    String raw = data.consumeRemainingAsString();
    PlanValidation result = VALIDATOR.validate(raw, POLICY);
    if (result instanceof PlanValidation.Accepted accepted) {
      assertTrue(accepted.plan().steps().size() <= POLICY.limits().maxSteps());
      for (NormalizedStep step : accepted.plan().steps()) {
        var agent = POLICY.agent(step.agent()).orElseThrow();
        assertTrue(agent.enabled());
        step.skills().forEach(skill -> assertTrue(agent.allowsSkill(skill), skill));
      }
      PlanValidation again = VALIDATOR.validate(accepted.canonicalJson(), POLICY);
      assertEquals(
          accepted.planHash(), assertInstanceOf(PlanValidation.Accepted.class, again).planHash());
    }
  }
}
