package dev.worka.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.runtime.process.WorkerNetwork;
import dev.worka.gateway.skill.github.GithubMcpEndpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every setting read at start, every problem listed at once with its variable. */
class GatewaySettingsTest {
  @TempDir Path home;

  @Test
  void everyMistakeIsListedOnceAndTogether() {
    Map<String, String> env =
        Map.ofEntries(
            Map.entry("WORKA_HOME", home.toString()),
            Map.entry("WORKA_SIDE_EFFECTS", "dry-run"),
            Map.entry("WORKA_LEASE_SECONDS", "1"),
            Map.entry("WORKA_MODEL", "anthropic"),
            Map.entry("WORKA_MODEL_CALLS_PER_STEP", "99"),
            Map.entry("WORKA_INGRESS_PORT", "70000"),
            Map.entry("SLACK_BOT_TOKEN", "xoxb-1"),
            Map.entry("SLACK_APP_TOKEN", "not-an-app-token"),
            Map.entry("GITHUB_MCP_URL", "ftp://mcp.example/"),
            Map.entry("GITHUB_TOKEN", "ghp-secret-token-0123456789"),
            Map.entry("WORKA_SKILL_TIMEOUT", "1h"),
            Map.entry("GITHUB_WEBHOOK_SECRET", "s"),
            Map.entry("WORKA_GITHUB_HANDLE", "not a login"),
            Map.entry("WORKA_WORKER_NETWORK", "none"),
            Map.entry("WORKA_WORKER_POOL", "9"),
            Map.entry("WORKA_SANDBOX", "sometimes"));
    ConfigException e =
        assertThrows(ConfigException.class, () -> GatewaySettings.fromEnvironment(env));
    List<String> variables =
        List.of(
            "WORKA_LEASE_SECONDS=1",
            "ANTHROPIC_API_KEY",
            "WORKA_MODEL_CALLS_PER_STEP=99",
            "WORKA_INGRESS_PORT=70000",
            "SLACK_APP_TOKEN",
            "GITHUB_MCP_URL",
            "WORKA_SKILL_TIMEOUT=1h",
            "WORKA_GITHUB_HANDLE=not a login",
            "WORKA_WORKER_NETWORK=none",
            "WORKA_WORKER_POOL=9",
            "WORKA_SANDBOX=sometimes");
    for (String variable : variables) {
      assertEquals(
          1,
          e.problems().stream().filter(p -> p.contains(variable)).count(),
          variable + " in " + e.problems());
    }
    assertEquals(variables.size(), e.problems().size(), e.problems().toString());
    assertFalse(e.getMessage().contains("ghp-secret-token"), e.getMessage());
  }

  @Test
  void memoryIsPostgresUnlessMem0IsFullyConfiguredAndEachMistakeNamesItsVariable() {
    Map<String, String> base = Map.of("WORKA_HOME", home.toString());
    assertTrue(GatewaySettings.fromEnvironment(base).memory().mem0().isEmpty());
    ConfigException keyOnly =
        assertThrows(
            ConfigException.class,
            () ->
                GatewaySettings.fromEnvironment(
                    Map.of("WORKA_HOME", home.toString(), "MEM0_API_KEY", "m0-secret-0123456789")));
    assertEquals(1, keyOnly.problems().size(), keyOnly.problems().toString());
    assertTrue(keyOnly.problems().get(0).contains("MEM0_API_URL"), keyOnly.problems().toString());
    assertFalse(keyOnly.getMessage().contains("m0-secret"), keyOnly.getMessage());
    ConfigException bad =
        assertThrows(
            ConfigException.class,
            () ->
                GatewaySettings.fromEnvironment(
                    Map.of(
                        "WORKA_HOME",
                        home.toString(),
                        "MEM0_API_URL",
                        "https://user:pw@api.mem0.ai",
                        "MEM0_TIMEOUT",
                        "1h")));
    for (String variable : List.of("MEM0_API_URL=", "MEM0_API_KEY", "MEM0_TIMEOUT=1h")) {
      assertEquals(
          1,
          bad.problems().stream().filter(p -> p.contains(variable)).count(),
          variable + " in " + bad.problems());
    }
    GatewaySettings mem0 =
        GatewaySettings.fromEnvironment(
            Map.of(
                "WORKA_HOME",
                home.toString(),
                "MEM0_API_URL",
                "https://api.mem0.ai/",
                "MEM0_API_KEY",
                "m0-secret-0123456789"));
    assertEquals("https://api.mem0.ai", mem0.memory().mem0().orElseThrow().baseUrl());
    assertEquals(Duration.ofSeconds(3), mem0.memory().mem0().orElseThrow().timeout());
    assertFalse(mem0.memory().toString().contains("m0-secret"), mem0.memory().toString());
  }

  @Test
  void theDefaultsAreEverythingOff() {
    GatewaySettings settings =
        GatewaySettings.fromEnvironment(Map.of("WORKA_HOME", home.toString()));
    assertTrue(settings.github().mcp().isEmpty());
    assertTrue(settings.github().webhook().isEmpty());
    assertEquals(Duration.ofSeconds(30), settings.github().callTimeout());
    assertFalse(settings.slack().configured());
    assertTrue(settings.anthropic().isEmpty());
    assertEquals(WorkerNetwork.GATEWAY, settings.workerNetwork());
    assertEquals(HostSettings.defaults(), settings.host());
  }

  @Test
  void theIntegrationsAreReadBesideAGivenConfiguration() {
    WorkaConfig config = WorkaConfig.fromEnvironment(Map.of("WORKA_HOME", home.toString()));
    GatewaySettings settings =
        GatewaySettings.of(
            config,
            Map.of(
                "GITHUB_MCP_COMMAND",
                "github-mcp-server stdio",
                "GITHUB_WEBHOOK_SECRET",
                "webhook-secret-value",
                "WORKA_GITHUB_HANDLE",
                "@worka-bot",
                "WORKA_SKILL_TIMEOUT",
                "2s"));
    assertTrue(settings.github().mcp().orElseThrow() instanceof GithubMcpEndpoint.Stdio);
    assertEquals("worka-bot", settings.github().webhook().orElseThrow().handle());
    assertFalse(settings.toString().contains("webhook-secret-value"), settings.toString());
    assertEquals(Duration.ofSeconds(2), settings.github().callTimeout());

    WorkaConfig anthropic =
        new WorkaConfig(
            home,
            java.util.Optional.empty(),
            0,
            "127.0.0.1",
            java.util.Optional.empty(),
            java.util.Optional.empty(),
            "anthropic",
            "dry-run",
            home,
            java.util.Optional.empty(),
            4,
            Duration.ofSeconds(30),
            List.of());
    ConfigException noKey =
        assertThrows(ConfigException.class, () -> GatewaySettings.of(anthropic, Map.of()));
    assertTrue(noKey.getMessage().contains("ANTHROPIC_API_KEY"), noKey.getMessage());
  }
}
