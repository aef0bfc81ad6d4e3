package dev.worka.gateway.policy;

import static dev.worka.gateway.policy.PolicyCompilerTest.PLANNER;
import static dev.worka.gateway.policy.PolicyCompilerTest.assertError;
import static dev.worka.gateway.policy.PolicyCompilerTest.compiled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code resources:} per agent and under {@code limits.resources} (issue 13 item 1, the manifest
 * contract only): parsed strictly, bounded, stored with the policy only when not the defaults, and
 * a policy that declares them says they are not enforced yet.
 */
class ResourcesTest {
  private static final long MI = 1024L * 1024;
  private static final long GI = 1024 * MI;

  /** The planner with {@code body} as its {@code resources:} (a flow mapping or a scalar). */
  private static String plannerWith(String body) {
    return PLANNER + "    resources: " + body + "\n";
  }

  /** As on a host where nothing enforces a limit (a runtime without cgroups or rlimits). */
  static final List<String> NOTHING_ENFORCED =
      List.of("memory", "cpu", "pids", "disk", "open_files");

  private static Resources hari(String yaml) {
    return compiled(yaml).agents().get("hari").resources();
  }

  @Test
  void withNoResourcesEveryAgentHasTheDocumentedDefaults() {
    assertEquals(new Resources(512 * MI, 1000, 128, 256 * MI, 256), Resources.DEFAULTS);
    CompiledPolicy policy = compiled(PLANNER);
    assertEquals(Resources.DEFAULTS, policy.agents().get("hari").resources());
    assertEquals(Optional.empty(), policy.unenforcedResources(NOTHING_ENFORCED));
    for (AgentPolicy agent : BuiltinPolicy.compiled().agents().values()) {
      assertEquals(Resources.DEFAULTS, agent.resources(), agent.name());
    }
    assertEquals(Optional.empty(), BuiltinPolicy.compiled().unenforcedResources(NOTHING_ENFORCED));
  }

  @Test
  void theBuiltInManifestsCommentedResourcesAreTheDefaults() {
    String source = BuiltinPolicy.source();
    assertTrue(source.contains("\n  # resources:\n"), "the built-in manifest shows resources");
    String uncommented =
        source.replace("\n  # resources:\n", "\n  resources:\n").replace("\n  #   ", "\n    ");
    CompiledPolicy policy = compiled(uncommented);
    assertEquals(BuiltinPolicy.compiled(), policy);
    assertEquals(Optional.empty(), policy.unenforcedResources(NOTHING_ENFORCED));
  }

  @Test
  void theIssuesExampleIsAccepted() {
    assertEquals(
        Resources.DEFAULTS,
        hari(plannerWith("{memory: 512Mi, cpu: \"1\", pids: 128, disk: 256Mi, open_files: 256}")));
  }

  private static final String NOT_BYTES =
      " is not a quantity (use e.g. 512Mi: a whole number with Ki, Mi or Gi, or plain bytes)";
  private static final String NOT_CPU =
      " is not a cpu quantity (use e.g. \"1\", \"0.5\" or 500m: cores with at most three"
          + " decimals, or millicores)";
  private static final String KEYS = "(expected memory, cpu, pids, disk, open_files)";
  private static final String MAPPING =
      "expected a mapping (memory, cpu, pids, disk, open_files), found ";

  /** Good quantities: (memory, cpu, disk) as written → bytes, millicores, bytes. */
  static Stream<Arguments> good() {
    return Stream.of(
        Arguments.of("512Mi", "\"1\"", "256Mi", 512 * MI, 1000, 256 * MI),
        Arguments.of("1Gi", "\"0.5\"", "1Gi", GI, 500, GI),
        Arguments.of("16Mi", "500m", "16Mi", 16 * MI, 500, 16 * MI),
        Arguments.of("64Gi", "\"64\"", "1024Gi", 64 * GI, 64_000, 1024 * GI),
        Arguments.of("16384Ki", "10m", "20971520", 16 * MI, 10, 20 * MI),
        Arguments.of("\"100000000\"", "1", "100Mi", 100_000_000L, 1000, 100 * MI),
        Arguments.of("100000000", "0.25", "100Mi", 100_000_000L, 250, 100 * MI),
        Arguments.of("1Gi", "\"2.125\"", "1Gi", GI, 2125, GI));
  }

  @ParameterizedTest
  @MethodSource("good")
  void goodQuantitiesAreRead(
      String memory, String cpu, String disk, long memoryBytes, int millis, long diskBytes) {
    Resources r =
        hari(plannerWith("{memory: " + memory + ", cpu: " + cpu + ", disk: " + disk + "}"));
    assertEquals(memoryBytes, r.memoryBytes());
    assertEquals(millis, r.cpuMillis());
    assertEquals(diskBytes, r.diskBytes());
  }

  /** Bad manifests: the planner's {@code resources:} → the error naming its path. */
  static Stream<Arguments> bad() {
    String at = "agents.hari.resources";
    return Stream.of(
        Arguments.of("{memory: 12Q}", at + ".memory: '12Q'" + NOT_BYTES),
        Arguments.of("{memory: 512M}", at + ".memory: '512M'" + NOT_BYTES),
        Arguments.of("{memory: 1.5Gi}", at + ".memory: '1.5Gi'" + NOT_BYTES),
        Arguments.of("{memory: 512mi}", at + ".memory: '512mi'" + NOT_BYTES),
        Arguments.of("{memory: 1Ti}", at + ".memory: '1Ti'" + NOT_BYTES),
        Arguments.of("{memory: 1.5}", at + ".memory: the number 1.5" + NOT_BYTES),
        Arguments.of(
            "{memory: 99999999999999999999Gi}",
            at + ".memory: '99999999999999999999Gi'" + NOT_BYTES),
        Arguments.of("{memory: 9999999999Gi}", at + ".memory: '9999999999Gi'" + NOT_BYTES),
        Arguments.of("{memory: -1}", at + ".memory: -1 is out of bounds (16Mi to 64Gi)"),
        Arguments.of("{memory: 8Mi}", at + ".memory: 8Mi is out of bounds (16Mi to 64Gi)"),
        Arguments.of("{memory: 65Gi}", at + ".memory: 65Gi is out of bounds (16Mi to 64Gi)"),
        Arguments.of("{memory: 1000}", at + ".memory: 1000 is out of bounds (16Mi to 64Gi)"),
        Arguments.of("{disk: 2048Gi}", at + ".disk: 2048Gi is out of bounds (16Mi to 1024Gi)"),
        Arguments.of("{disk: 1Ki}", at + ".disk: 1Ki is out of bounds (16Mi to 1024Gi)"),
        Arguments.of("{cpu: 2 cores}", at + ".cpu: '2 cores'" + NOT_CPU),
        Arguments.of("{cpu: \"0.0001\"}", at + ".cpu: '0.0001'" + NOT_CPU),
        Arguments.of("{cpu: \"-1\"}", at + ".cpu: '-1'" + NOT_CPU),
        Arguments.of("{cpu: 1.5m}", at + ".cpu: '1.5m'" + NOT_CPU),
        Arguments.of("{cpu: true}", at + ".cpu: the boolean true" + NOT_CPU),
        Arguments.of("{cpu: [1]}", at + ".cpu: a list" + NOT_CPU),
        Arguments.of("{cpu: 5m}", at + ".cpu: 5m is out of bounds (10m to 64)"),
        Arguments.of("{cpu: \"65\"}", at + ".cpu: 65 is out of bounds (10m to 64)"),
        Arguments.of("{cpu: \"0\"}", at + ".cpu: 0 is out of bounds (10m to 64)"),
        Arguments.of("{pids: 4}", at + ".pids: 4 is out of bounds (8 to 32768)"),
        Arguments.of("{pids: 100000}", at + ".pids: 100000 is out of bounds (8 to 32768)"),
        Arguments.of(
            "{pids: \"128\"}",
            at + ".pids: expected a whole number from 8 to 32768, found the string '128'"),
        Arguments.of(
            "{pids: 1.5}",
            at + ".pids: expected a whole number from 8 to 32768, found the number 1.5"),
        Arguments.of("{open_files: 8}", at + ".open_files: 8 is out of bounds (16 to 1048576)"),
        Arguments.of(
            "{open_files: 2000000}", at + ".open_files: 2000000 is out of bounds (16 to 1048576)"),
        Arguments.of("{gpu: 1}", at + ".gpu: unknown key " + KEYS),
        Arguments.of("{Memory: 1Gi}", at + ".Memory: unknown key " + KEYS),
        Arguments.of("512Mi", at + ": " + MAPPING + "the string '512Mi'"),
        Arguments.of("[512Mi]", at + ": " + MAPPING + "a list"),
        Arguments.of("", at + ": " + MAPPING + "nothing (remove the key for the defaults)"));
  }

  @ParameterizedTest
  @MethodSource("bad")
  void badResourcesAreErrorsNamingTheirPath(String body, String expected) {
    assertError(plannerWith(body), expected);
  }

  @Test
  void limitsResourcesAreCheckedTheSameWay() {
    assertError(
        PLANNER + "limits:\n  resources: {memory: 12Q}\n",
        "limits.resources.memory: '12Q' is not a quantity (use e.g. 512Mi: a whole number with Ki,"
            + " Mi or Gi, or plain bytes)");
    assertError(
        PLANNER + "limits:\n  resources: {swap: 1Gi}\n",
        "limits.resources.swap: unknown key (expected memory, cpu, pids, disk, open_files)");
    assertError(
        PLANNER + "limits:\n  resources:\n",
        "limits.resources: expected a mapping (memory, cpu, pids, disk, open_files), found nothing"
            + " (remove the key for the defaults)");
  }

  @Test
  void limitsResourcesAreTheDefaultsAndAnAgentOverridesThemKeyByKey() {
    String yaml =
        PLANNER
            + """
              ernest:
                runtime: process
                command: [bin/worka-agent, ernest]
                permissions: []
                resources: {memory: 2Gi, open_files: 1024}
              daneel:
                runtime: process
                command: [bin/worka-agent, daneel]
                permissions: []
            limits:
              resources: {memory: 1Gi, cpu: 500m, pids: 64}
            """;
    CompiledPolicy policy = compiled(yaml);
    Resources fromLimits = new Resources(GI, 500, 64, 256 * MI, 256);
    assertEquals(fromLimits, policy.agents().get("hari").resources());
    assertEquals(fromLimits, policy.agents().get("daneel").resources());
    assertEquals(
        new Resources(2 * GI, 500, 64, 256 * MI, 1024), policy.agents().get("ernest").resources());
    assertEquals(policy, CompiledPolicy.fromJson(policy.toJson()));
    assertEquals(policy.toJson(), CompiledPolicy.fromJson(policy.toJson()).toJson());
  }

  @Test
  void resourcesAreStoredOnlyWhenNotTheDefaultsAndReadBack() {
    CompiledPolicy defaults = compiled(plannerWith("{memory: 512Mi}"));
    assertFalse(defaults.toJson().contains("resources"), defaults.toJson());
    assertEquals(defaults.toJson(), compiled(PLANNER).toJson(), "the same row as before resources");

    CompiledPolicy stated =
        compiled(
            plannerWith("{memory: 64Gi, cpu: 250m, pids: 32768, disk: 1024Gi, open_files: 16}"));
    String json = stated.toJson();
    assertTrue(
        json.contains(
            "\"resources\":{\"cpu_millis\":250,\"disk_bytes\":1099511627776,"
                + "\"memory_bytes\":68719476736,\"open_files\":16,\"pids\":32768}"),
        json);
    assertEquals(stated, CompiledPolicy.fromJson(json));
    assertEquals(json, CompiledPolicy.fromJson(json).toJson());
  }

  @Test
  void storedResourcesAreCheckedWhenRead() {
    String json =
        compiled(plannerWith("{memory: 1Gi}"))
            .toJson()
            .replace("\"memory_bytes\":1073741824", "\"memory_bytes\":1");
    assertThrows(IllegalArgumentException.class, () -> CompiledPolicy.fromJson(json));
    String unknown =
        compiled(plannerWith("{memory: 1Gi}"))
            .toJson()
            .replace("\"memory_bytes\"", "\"swap_bytes\"");
    assertThrows(IllegalArgumentException.class, () -> CompiledPolicy.fromJson(unknown));
  }

  @Test
  void aPolicyThatDeclaresResourcesSaysTheyAreNotEnforced() {
    Optional<String> warning =
        compiled(plannerWith("{memory: 1Gi, cpu: 500m}")).unenforcedResources(NOTHING_ENFORCED);
    assertTrue(warning.isPresent());
    assertTrue(
        warning
            .get()
            .contains(
                "hari {memory: 1Gi, cpu: \"500m\", pids: 128, disk: 256Mi,"
                    + " open_files: 256}: memory, cpu"),
        warning.get());
    assertTrue(warning.get().contains("NOT ENFORCED"), warning.get());
    Optional<String> fromLimits =
        compiled(PLANNER + "limits:\n  resources: {pids: 64}\n")
            .unenforcedResources(NOTHING_ENFORCED);
    assertTrue(fromLimits.isPresent(), "limits.resources alone is a declaration too");
  }

  @Test
  void theWarningNamesOnlyTheDeclaredLimitsThisHostCannotEnforce() {
    CompiledPolicy policy = compiled(plannerWith("{memory: 1Gi, pids: 64, disk: 1Gi}"));
    Optional<String> onlyDisk = policy.unenforcedResources(List.of("disk"));
    assertTrue(onlyDisk.isPresent());
    assertTrue(onlyDisk.get().contains("open_files: 256}: disk)"), onlyDisk.get());
    assertFalse(onlyDisk.get().contains(": memory"), onlyDisk.get());
    // Declared limits that are all enforced here, and an unenforced one nobody declared: silence.
    assertEquals(Optional.empty(), policy.unenforcedResources(List.of()));
    assertEquals(
        Optional.empty(),
        compiled(plannerWith("{memory: 1Gi, cpu: 500m}")).unenforcedResources(List.of("disk")));
  }

  @Test
  void theRecordRefusesWhatTheCompilerRefuses() {
    assertThrows(IllegalArgumentException.class, () -> new Resources(MI, 1000, 128, 256 * MI, 256));
    assertThrows(
        IllegalArgumentException.class, () -> new Resources(512 * MI, 0, 128, 256 * MI, 256));
    assertThrows(
        IllegalArgumentException.class, () -> new Resources(512 * MI, 1000, 0, 256 * MI, 256));
    assertThrows(IllegalArgumentException.class, () -> new Resources(512 * MI, 1000, 128, -1, 256));
    assertThrows(
        IllegalArgumentException.class,
        () -> new Resources(512 * MI, 1000, 128, 256 * MI, Integer.MAX_VALUE));
  }
}
