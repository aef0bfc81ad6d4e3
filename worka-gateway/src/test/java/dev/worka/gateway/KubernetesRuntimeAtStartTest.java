package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.worka.gateway.runtime.UnconfiguredRuntime;
import dev.worka.gateway.runtime.kubernetes.KubernetesSettings;
import java.time.InstantSource;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Without a namespace (and outside a pod) or without the URL workers reach the Gateway at, {@code
 * runtime: kubernetes} is not configured: its steps fail at once saying what to set.
 */
class KubernetesRuntimeAtStartTest {

  @Test
  void nothingSetSaysWhatToSet() {
    UnconfiguredRuntime runtime =
        assertInstanceOf(
            UnconfiguredRuntime.class,
            KubernetesRuntimeAtStart.create(
                KubernetesSettings.none(), null, InstantSource.system(), c -> {}));
    assertEquals(
        "set WORKA_KUBERNETES_NAMESPACE (the namespace of the workers' Jobs; the Gateway's own when"
            + " it runs in a pod) and WORKA_KUBERNETES_GATEWAY_URL (the URL workers use for the"
            + " Gateway's agent API, e.g. http://worka-agents.NAMESPACE.svc:8080)",
        runtime.reason());
  }

  @Test
  void aNamespaceWithoutTheGatewayUrlIsNotEnough() {
    UnconfiguredRuntime runtime =
        assertInstanceOf(
            UnconfiguredRuntime.class,
            KubernetesRuntimeAtStart.create(
                KubernetesSettings.fromEnvironment(Map.of("WORKA_KUBERNETES_NAMESPACE", "agents")),
                null,
                InstantSource.system(),
                c -> {}));
    assertEquals(
        "set WORKA_KUBERNETES_GATEWAY_URL (the URL workers use for the Gateway's agent API, e.g."
            + " http://worka-agents.NAMESPACE.svc:8080)",
        runtime.reason());
  }
}
