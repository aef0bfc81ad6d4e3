package dev.worka.gateway.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.worka.gateway.policy.Compilation;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.PolicyCompiler;

/**
 * Fuzzes the policy manifest compiler (an operator's YAML, or one uploaded through the API).
 * Properties: it never throws, only reports errors; a compiled policy survives its JSON form (as
 * stored in {@code policy_manifests.compiled}) unchanged.
 */
class ManifestCompilerFuzzTest {
  @FuzzTest(maxDuration = "10s")
  void compilerNeverThrowsAndCompiledPoliciesRoundTrip(FuzzedDataProvider data) {
    String yaml = data.consumeRemainingAsString();
    if (PolicyCompiler.compile(yaml) instanceof Compilation.Compiled compiled) {
      CompiledPolicy policy = compiled.policy();
      assertEquals(policy.toJson(), CompiledPolicy.fromJson(policy.toJson()).toJson());
    }
  }
}
