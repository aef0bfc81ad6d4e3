package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.worka.gateway.policy.BuiltinPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A manifest's {@code resources} are validated and recorded but not enforced yet (issue 13): the
 * operator must not believe a limit holds. The Gateway says so, once, at start and on each {@code
 * PUT /v1/policy} whose policy declares resources — and not for a policy with only the defaults.
 * Through the real entry points: {@code worka serve} with {@code WORKA_POLICY_FILE}, and the
 * operator API.
 */
class UnenforcedResourcesWarningTest {
  private static final String WARNING = "that are NOT ENFORCED yet";

  @TempDir Path home;

  private static String withLimitsResources(String source, String resources) {
    return source.replace(
        "max_model_tokens_per_run: 200000",
        "max_model_tokens_per_run: 200000\n  resources: " + resources);
  }

  private long warnings(GatewayProcess gateway) throws IOException {
    return Files.readAllLines(gateway.log()).stream().filter(l -> l.contains(WARNING)).count();
  }

  @Test
  void theGatewayWarnsAtStartAndOnPutWhenThePolicyDeclaresResources() throws Exception {
    Path policyFile = home.resolve("policy.yaml");
    Files.createDirectories(home);
    Files.writeString(
        policyFile, withLimitsResources(BuiltinPolicy.source(), "{memory: 1Gi, pids: 64}"));
    Map<String, String> env =
        Map.of(
            "WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN,
            "WORKA_POLICY_FILE", policyFile.toString(),
            "WORKA_INSTALL_DIR", Path.of("..").toAbsolutePath().normalize().toString());
    try (GatewayProcess gateway = GatewayProcess.start(home, env)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> warnings(gateway) == 1);
      String log = Files.readString(gateway.log());
      assertFalse(log.isEmpty());
      assertEquals(
          1,
          log.lines()
              .filter(l -> l.contains("WARN") && l.contains("policy v1: the policy declares"))
              .count(),
          log);

      // Only the defaults: no warning for v2.
      TestGateway.Answer defaults =
          gateway.call("PUT", "/v1/policy", BuiltinPolicy.source(), TestGateway.OPERATOR_TOKEN);
      assertEquals(201, defaults.status(), defaults.raw().body());
      TestGateway.Answer declared =
          gateway.call(
              "PUT",
              "/v1/policy",
              withLimitsResources(BuiltinPolicy.source(), "{cpu: 500m}"),
              TestGateway.OPERATOR_TOKEN);
      assertEquals(201, declared.status(), declared.raw().body());
      await().atMost(Duration.ofSeconds(30)).until(() -> warnings(gateway) == 2);
      String after = Files.readString(gateway.log());
      assertFalse(after.contains("policy v2: the policy declares"), after);
      assertEquals(
          1,
          after.lines().filter(l -> l.contains("policy v3: the policy declares")).count(),
          after);
    }
  }
}
