package dev.worka.gateway.runtime.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The settings of {@code runtime: kubernetes}, read strictly: every mistake named at once. */
class KubernetesSettingsTest {

  @Test
  void unsetIsNotConfiguredWithTheDefaultPendingTimeout() {
    assertEquals(KubernetesSettings.none(), KubernetesSettings.fromEnvironment(Map.of()));
    assertEquals(Duration.ofMinutes(2), KubernetesSettings.none().pendingTimeout());
  }

  @Test
  void everySettingIsRead() {
    KubernetesSettings settings =
        KubernetesSettings.fromEnvironment(
            Map.of(
                "WORKA_KUBERNETES_NAMESPACE", "worka-agents",
                "WORKA_KUBERNETES_GATEWAY_URL", " http://worka-agents.worka.svc:8080 ",
                "WORKA_KUBERNETES_PENDING_TIMEOUT", "45s",
                "KUBECONFIG", "/etc/worka/kubeconfig"));
    assertEquals(
        new KubernetesSettings(
            Optional.of("worka-agents"),
            Optional.of("http://worka-agents.worka.svc:8080"),
            Duration.ofSeconds(45),
            Optional.of(Path.of("/etc/worka/kubeconfig"))),
        settings);
  }

  @Test
  void mistakesAreNamedTogether() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                KubernetesSettings.fromEnvironment(
                    Map.of(
                        "WORKA_KUBERNETES_NAMESPACE", "Worka_Agents",
                        "WORKA_KUBERNETES_GATEWAY_URL", "worka-agents:8080",
                        "WORKA_KUBERNETES_PENDING_TIMEOUT", "0s")));
    assertEquals(
        "WORKA_KUBERNETES_NAMESPACE=Worka_Agents is not a namespace name: lower-case letters,"
            + " digits and '-', at most 63\n"
            + "WORKA_KUBERNETES_GATEWAY_URL=worka-agents:8080 is not an http(s) URL: give the URL"
            + " workers use for the Gateway's agent API, e.g."
            + " http://worka-agents.NAMESPACE.svc:8080\n"
            + "WORKA_KUBERNETES_PENDING_TIMEOUT=0s is not a positive duration: write e.g. 120s, 5m"
            + " or 1m30s",
        e.getMessage());
  }
}
