package dev.worka.gateway;

import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.runtime.UnconfiguredRuntime;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.gateway.runtime.kubernetes.KubernetesRuntime;
import dev.worka.gateway.runtime.kubernetes.KubernetesSettings;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime of {@code kubernetes} agents ({@link KubernetesRuntime}), when it is configured: a
 * namespace ({@code WORKA_KUBERNETES_NAMESPACE}, else the Gateway's own when it runs in a pod) and
 * the URL workers reach the Gateway at ({@code WORKA_KUBERNETES_GATEWAY_URL}); the client finds the
 * cluster as it usually does ({@code KUBECONFIG}, else in-cluster or {@code ~/.kube/config}).
 * Otherwise an {@link UnconfiguredRuntime} whose every step fails at once saying what to set. Once
 * created it deletes the worker Jobs a Gateway that stopped left behind.
 */
final class KubernetesRuntimeAtStart {
  private static final Logger log = LoggerFactory.getLogger(KubernetesRuntimeAtStart.class);

  /** Where a pod finds its own namespace (the service-account mount). */
  static final Path IN_CLUSTER_NAMESPACE =
      Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  /** How often the informer lists every worker Job again (and deletes those left behind). */
  static final Duration RESYNC = Duration.ofMinutes(1);

  private KubernetesRuntimeAtStart() {}

  /** The runtime (handed to {@code closeWithGateway} as soon as it exists), or the unconfigured. */
  static WorkerRuntime create(
      KubernetesSettings settings,
      DataSource dataSource,
      InstantSource clock,
      Consumer<AutoCloseable> closeWithGateway) {
    Optional<String> namespace = settings.namespace().or(KubernetesRuntimeAtStart::ownNamespace);
    List<String> missing = new ArrayList<>();
    if (namespace.isEmpty()) {
      missing.add(
          KubernetesSettings.NAMESPACE
              + " (the namespace of the workers' Jobs; the Gateway's own when it runs in a pod)");
    }
    if (settings.gatewayUrl().isEmpty()) {
      missing.add(
          KubernetesSettings.GATEWAY_URL
              + " (the URL workers use for the Gateway's agent API, e.g."
              + " http://worka-agents.NAMESPACE.svc:8080)");
    }
    if (!missing.isEmpty()) {
      log.debug("runtime kubernetes: not configured (set {})", missing);
      return new UnconfiguredRuntime("set " + String.join(" and ", missing));
    }
    KubernetesClient client;
    try {
      Config config =
          settings.kubeconfig().isPresent()
              ? Config.fromKubeconfig(settings.kubeconfig().get().toFile())
              : Config.autoConfigure(null);
      client = new KubernetesClientBuilder().withConfig(config).build();
    } catch (KubernetesClientException | IllegalArgumentException e) {
      throw new ConfigException(
          List.of(
              "runtime kubernetes: cannot configure the Kubernetes client"
                  + settings.kubeconfig().map(p -> " from KUBECONFIG=" + p).orElse("")
                  + ": "
                  + e.getMessage()));
    }
    StepStore steps = new StepStore(clock);
    KubernetesRuntime runtime =
        new KubernetesRuntime(
            client,
            namespace.get(),
            settings.gatewayUrl().get(),
            settings.pendingTimeout(),
            RESYNC,
            clock,
            (stepId, attempt) ->
                Transactions.withConnection(
                    dataSource,
                    c -> {
                      Optional<Step> step = steps.find(c, stepId, Lock.NONE);
                      return step.isPresent()
                          && step.get().status() == StepStatus.RUNNING
                          && step.get().attempt() == attempt;
                    }));
    closeWithGateway.accept(runtime);
    log.info(
        "runtime kubernetes: Jobs in namespace {} of {}, workers reach the Gateway at {}",
        runtime.namespace(),
        client.getMasterUrl(),
        settings.gatewayUrl().get());
    try {
      int leftovers = runtime.deleteJobsLeftBehind();
      if (leftovers > 0) {
        log.warn(
            "deleted {} worker Job(s) a Gateway that stopped had left in namespace {}",
            leftovers,
            runtime.namespace());
      }
    } catch (KubernetesClientException e) {
      // The informer deletes them when the API server answers.
      log.warn(
          "cannot list the worker Jobs in namespace {} yet: {}",
          runtime.namespace(),
          e.getMessage());
    }
    return runtime;
  }

  private static Optional<String> ownNamespace() {
    try {
      if (Files.isRegularFile(IN_CLUSTER_NAMESPACE)) {
        String text = Files.readString(IN_CLUSTER_NAMESPACE).strip();
        return text.isEmpty() ? Optional.empty() : Optional.of(text);
      }
    } catch (IOException e) {
      log.warn("cannot read {}: {}", IN_CLUSTER_NAMESPACE, e.toString());
    }
    return Optional.empty();
  }
}
