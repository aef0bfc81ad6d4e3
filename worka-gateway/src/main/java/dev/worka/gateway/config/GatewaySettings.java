package dev.worka.gateway.config;

import dev.worka.gateway.memory.MemorySettings;
import dev.worka.gateway.runtime.kubernetes.KubernetesSettings;
import dev.worka.gateway.runtime.process.WorkerNetwork;
import dev.worka.gateway.runtime.process.WorkerPool;
import dev.worka.gateway.runtime.process.WorkerSandbox;
import dev.worka.gateway.telemetry.TracingSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything a Gateway reads from its environment, read once at start and validated together: a
 * start with several mistakes is refused once, with one {@link ConfigException} that lists every
 * problem and names its variable — never one mistake per attempt, and never one that surfaces only
 * when its integration is first used.
 *
 * @param config the core settings ({@link WorkaConfig})
 * @param host what whoever runs the host decides ({@link HostSettings})
 * @param slack the Slack connection ({@link SlackSettings})
 * @param github the GitHub connection ({@link GithubSettings})
 * @param anthropic the model route's upstream, with {@code WORKA_MODEL=anthropic} ({@link
 *     AnthropicSettings})
 * @param workerNetwork {@code WORKA_WORKER_NETWORK}: what network a sandboxed worker gets
 * @param workerPool {@code WORKA_WORKER_POOL}: how many pre-started sandboxed processes per
 *     built-in agent (0, the default: off; {@code runtime.process.WorkerPool})
 * @param workerSandbox {@code WORKA_SANDBOX}: {@code required} or {@code off}; empty when unset
 *     (then {@code runtime.process.SandboxRequirement} decides by mode and agent)
 * @param kubernetes {@code runtime: kubernetes}: {@code WORKA_KUBERNETES_NAMESPACE}, {@code
 *     WORKA_KUBERNETES_GATEWAY_URL}, {@code WORKA_KUBERNETES_PENDING_TIMEOUT}, {@code KUBECONFIG}
 * @param tracing where traces go ({@link TracingSettings}: {@code OTEL_*}, {@code LANGFUSE_*},
 *     {@code WORKA_TRACE_CONTENT})
 * @param memory where memories are kept ({@link MemorySettings}: {@code MEM0_API_URL}, {@code
 *     MEM0_API_KEY}, {@code MEM0_TIMEOUT}; unset, PostgreSQL)
 */
public record GatewaySettings(
    WorkaConfig config,
    HostSettings host,
    SlackSettings slack,
    GithubSettings github,
    Optional<AnthropicSettings> anthropic,
    WorkerNetwork workerNetwork,
    int workerPool,
    Optional<WorkerSandbox> workerSandbox,
    KubernetesSettings kubernetes,
    TracingSettings tracing,
    MemorySettings memory) {

  public GatewaySettings {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(slack, "slack");
    Objects.requireNonNull(github, "github");
    Objects.requireNonNull(anthropic, "anthropic");
    Objects.requireNonNull(workerNetwork, "workerNetwork");
    Objects.requireNonNull(workerSandbox, "workerSandbox");
    Objects.requireNonNull(kubernetes, "kubernetes");
    Objects.requireNonNull(tracing, "tracing");
    Objects.requireNonNull(memory, "memory");
  }

  /**
   * Reads every setting from {@code environment} ({@code worka serve}).
   *
   * @throws ConfigException listing every problem, of the core settings and of the integrations
   */
  public static GatewaySettings fromEnvironment(Map<String, String> environment) {
    List<String> problems = new ArrayList<>();
    WorkaConfig config = null;
    try {
      config = WorkaConfig.fromEnvironment(environment);
    } catch (ConfigException e) {
      problems.addAll(e.problems());
    }
    return read(config, environment, problems);
  }

  /**
   * {@code config} as it is, and the integrations' settings read from {@code environment}.
   *
   * @throws ConfigException listing every problem of the integrations' settings
   */
  public static GatewaySettings of(WorkaConfig config, Map<String, String> environment) {
    return read(Objects.requireNonNull(config, "config"), environment, new ArrayList<>());
  }

  /** With {@code config} null (it was invalid; its problems are listed) the rest is still read. */
  private static GatewaySettings read(
      WorkaConfig config, Map<String, String> environment, List<String> problems) {
    HostSettings host = null;
    try {
      host =
          HostSettings.fromEnvironment(
              environment, config != null ? config.httpPort() : httpPortOrDefault(environment));
    } catch (ConfigException e) {
      problems.addAll(e.problems());
    }
    SlackSettings slack = null;
    try {
      slack = SlackSettings.fromEnvironment(environment);
    } catch (ConfigException e) {
      problems.addAll(e.problems());
    }
    GithubSettings github = GithubSettings.read(environment, problems);
    // WorkaConfig.fromEnvironment checks these too: read them only from a valid one, so a problem
    // is
    // listed once.
    Optional<AnthropicSettings> anthropic =
        config != null && config.model().equals("anthropic")
            ? AnthropicSettings.read(environment, problems)
            : Optional.empty();
    WorkerNetwork workerNetwork = null;
    try {
      workerNetwork = WorkerNetwork.fromEnvironment(environment);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    int workerPool = 0;
    try {
      workerPool = WorkerPool.sizeFromEnvironment(environment);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    Optional<WorkerSandbox> workerSandbox = Optional.empty();
    try {
      workerSandbox = WorkerSandbox.fromEnvironment(environment);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    KubernetesSettings kubernetes = null;
    try {
      kubernetes = KubernetesSettings.fromEnvironment(environment);
    } catch (IllegalArgumentException e) {
      problems.addAll(List.of(e.getMessage().split("\n")));
    }
    TracingSettings tracing = TracingSettings.read(environment, problems);
    MemorySettings memory = MemorySettings.read(environment, problems);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new GatewaySettings(
        config,
        host,
        slack,
        github,
        anthropic,
        workerNetwork,
        workerPool,
        workerSandbox,
        kubernetes,
        tracing,
        memory);
  }

  /**
   * {@code WORKA_HTTP_PORT} for the ingress port's check when the rest of the core settings were
   * invalid (their problems, a bad port among them, are listed already).
   */
  private static int httpPortOrDefault(Map<String, String> environment) {
    try {
      String port = environment.get("WORKA_HTTP_PORT");
      return port == null || port.isBlank() ? 8080 : Integer.parseInt(port.trim());
    } catch (NumberFormatException e) {
      return 8080;
    }
  }
}
