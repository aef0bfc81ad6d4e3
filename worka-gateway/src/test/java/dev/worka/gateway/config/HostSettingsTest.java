package dev.worka.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class HostSettingsTest {
  @Test
  void unsetMeansOnePortAndNothingAllowedBeyondTheHostsManifests() {
    HostSettings s = HostSettings.fromEnvironment(Map.of(), 8080);
    assertEquals(OptionalInt.empty(), s.ingressPort());
    assertEquals("127.0.0.1", s.ingressBindAddress());
    assertEquals(List.of(), s.allowedLaunch());
  }

  @Test
  void theIngressPortListensWhereItIsToldAndDefaultsToTheMainBindAddress() {
    HostSettings s =
        HostSettings.fromEnvironment(
            Map.of("WORKA_INGRESS_PORT", "8443", "WORKA_BIND_ADDRESS", "10.0.0.5"), 8080);
    assertEquals(OptionalInt.of(8443), s.ingressPort());
    assertEquals("10.0.0.5", s.ingressBindAddress());
    assertEquals(
        "0.0.0.0",
        HostSettings.fromEnvironment(
                Map.of("WORKA_INGRESS_PORT", "8443", "WORKA_INGRESS_BIND_ADDRESS", "0.0.0.0"), 8080)
            .ingressBindAddress());
  }

  @Test
  void wrongValuesAreNamed() {
    ConfigException same =
        assertThrows(
            ConfigException.class,
            () -> HostSettings.fromEnvironment(Map.of("WORKA_INGRESS_PORT", "8080"), 8080));
    assertTrue(
        same.getMessage().contains("WORKA_INGRESS_PORT=8080 is WORKA_HTTP_PORT too"),
        same.getMessage());
    ConfigException bad =
        assertThrows(
            ConfigException.class,
            () ->
                HostSettings.fromEnvironment(
                    Map.of(
                        "WORKA_INGRESS_PORT", "http", "WORKA_ALLOWED_LAUNCH", "/opt/agents, ../up"),
                    8080));
    assertEquals(2, bad.problems().size(), bad.getMessage());
    assertThrows(
        ConfigException.class,
        () -> HostSettings.fromEnvironment(Map.of("WORKA_INGRESS_BIND_ADDRESS", "0.0.0.0"), 8080));
    assertEquals(
        List.of("/opt/agents", "ghcr.io/acme/agents/"),
        HostSettings.fromEnvironment(
                Map.of("WORKA_ALLOWED_LAUNCH", " /opt/agents ,, ghcr.io/acme/agents/ "), 8080)
            .allowedLaunch());
  }
}
