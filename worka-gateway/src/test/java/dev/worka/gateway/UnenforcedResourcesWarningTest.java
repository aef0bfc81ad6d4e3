package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.policy.BuiltinPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A manifest's {@code resources} are enforced by the process runtime as far as this host allows
 * (issue 13 item 1); the operator must not believe a limit holds that does not. The Gateway says at
 * start what enforces each limit ({@code worker limits: …}), and warns, once, at start and on each
 * {@code PUT /v1/policy} whose policy declares a limit this host cannot enforce — naming exactly
 * those — and not for a policy with only the defaults or with only limits enforced here. Through
 * the real entry points: {@code worka serve} with {@code WORKA_POLICY_FILE}, and the operator API.
 */
class UnenforcedResourcesWarningTest {
  private static final String WARNING = "whose limits are NOT ENFORCED on this host";
  private static final Pattern LIMITS_LINE = Pattern.compile("worker limits: (.*)");
  private static final Pattern NOT_ENFORCED =
      Pattern.compile("(memory|cpu|pids|disk|open_files)=not enforced");

  @TempDir Path home;

  private static String withLimitsResources(String source, String resources) {
    return source.replace(
        "max_model_tokens_per_run: 200000",
        "max_model_tokens_per_run: 200000\n  resources: " + resources);
  }

  private long warnings(GatewayProcess gateway) throws IOException {
    return Files.readAllLines(gateway.log()).stream().filter(l -> l.contains(WARNING)).count();
  }

  /** The limits the Gateway said at start that nothing enforces on this host. */
  private static Set<String> unenforcedHere(String log) {
    Matcher line = LIMITS_LINE.matcher(log);
    assertTrue(line.find(), "no `worker limits:` line at start:\n" + log);
    Set<String> unenforced = new TreeSet<>();
    Matcher m = NOT_ENFORCED.matcher(line.group(1));
    while (m.find()) {
      unenforced.add(m.group(1));
    }
    return unenforced;
  }

  /** The {@code policy vN} warning line's list of unenforced limits of agent hari, or none. */
  private static Optional<String> warned(String log, int version) {
    List<String> lines =
        log.lines()
            .filter(
                l -> l.contains("WARN") && l.contains("policy v" + version + ": " + "the policy"))
            .toList();
    assertTrue(lines.size() <= 1, log);
    if (lines.isEmpty()) {
      return Optional.empty();
    }
    Matcher m = Pattern.compile("open_files: [0-9]+\\}: ([a-z_, ]+)[;)]").matcher(lines.get(0));
    assertTrue(m.find(), lines.get(0));
    return Optional.of(m.group(1));
  }

  private static Optional<String> expected(Set<String> unenforced, List<String> declared) {
    List<String> both = declared.stream().filter(unenforced::contains).toList();
    return both.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", both));
  }

  @Test
  void theGatewayWarnsAtStartAndOnPutWhenThePolicyDeclaresLimitsThisHostCannotEnforce()
      throws Exception {
    Path policyFile = home.resolve("policy.yaml");
    Files.createDirectories(home);
    Files.writeString(
        policyFile,
        withLimitsResources(BuiltinPolicy.source(), "{memory: 1Gi, pids: 64, disk: 1Gi}"));
    Map<String, String> env =
        Map.of(
            "WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN,
            "WORKA_POLICY_FILE", policyFile.toString(),
            "WORKA_INSTALL_DIR", Path.of("..").toAbsolutePath().normalize().toString());
    try (GatewayProcess gateway = GatewayProcess.start(home, env)) {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.readString(gateway.log()).contains("Worka Gateway listening on"));
      String log = Files.readString(gateway.log());
      Set<String> unenforced = unenforcedHere(log);
      Optional<String> atStart = expected(unenforced, List.of("memory", "pids", "disk"));
      assertEquals(atStart, warned(log, 1), log);
      assertEquals(atStart.isPresent() ? 1 : 0, warnings(gateway), log);

      // Only the defaults: no warning for v2, whatever this host enforces.
      TestGateway.Answer defaults =
          gateway.call("PUT", "/v1/policy", BuiltinPolicy.source(), TestGateway.OPERATOR_TOKEN);
      assertEquals(201, defaults.status(), defaults.raw().body());
      TestGateway.Answer declared =
          gateway.call(
              "PUT",
              "/v1/policy",
              withLimitsResources(BuiltinPolicy.source(), "{cpu: 500m, disk: 512Mi}"),
              TestGateway.OPERATOR_TOKEN);
      assertEquals(201, declared.status(), declared.raw().body());
      Optional<String> onPut = expected(unenforced, List.of("cpu", "disk"));
      long total = (atStart.isPresent() ? 1L : 0L) + (onPut.isPresent() ? 1L : 0L);
      // Logged before the PUT answers; awaited only for the log file's sake.
      await().atMost(Duration.ofSeconds(30)).until(() -> warnings(gateway) >= total);
      String after = Files.readString(gateway.log());
      assertEquals(Optional.empty(), warned(after, 2), after);
      assertEquals(onPut, warned(after, 3), after);
      assertEquals(total, warnings(gateway), after);
    }
  }
}
