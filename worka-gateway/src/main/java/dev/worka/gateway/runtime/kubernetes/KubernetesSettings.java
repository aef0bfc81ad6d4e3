package dev.worka.gateway.runtime.kubernetes;

import dev.worka.gateway.policy.DurationText;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What {@code runtime: kubernetes} reads from the Gateway's environment.
 *
 * @param namespace {@value #NAMESPACE}: where the workers' Jobs go; empty when unset (then the
 *     namespace of the Gateway's own pod, read from its service-account mount, if it runs in one)
 * @param gatewayUrl {@value #GATEWAY_URL}: the URL workers use for the Gateway's agent API (e.g.
 *     {@code http://worka-agents.NS.svc:8080}); without it the runtime is not configured
 * @param pendingTimeout {@value #PENDING_TIMEOUT} (default {@code 120s}): how long a worker's pod
 *     may stay {@code Pending} (an image that cannot be pulled, no node that fits) before the
 *     attempt fails — a timeout the Job controller does not have
 * @param kubeconfig {@code KUBECONFIG}: the client's configuration file; empty: the client's usual
 *     discovery (in-cluster service account, else {@code ~/.kube/config})
 */
public record KubernetesSettings(
    Optional<String> namespace,
    Optional<String> gatewayUrl,
    Duration pendingTimeout,
    Optional<Path> kubeconfig) {

  public static final String NAMESPACE = "WORKA_KUBERNETES_NAMESPACE";
  public static final String GATEWAY_URL = "WORKA_KUBERNETES_GATEWAY_URL";
  public static final String PENDING_TIMEOUT = "WORKA_KUBERNETES_PENDING_TIMEOUT";
  static final String KUBECONFIG = "KUBECONFIG";

  static final Duration DEFAULT_PENDING_TIMEOUT = Duration.ofMinutes(2);

  /** A namespace name (RFC 1123 label). */
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?");

  public KubernetesSettings {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(gatewayUrl, "gatewayUrl");
    Objects.requireNonNull(pendingTimeout, "pendingTimeout");
    Objects.requireNonNull(kubeconfig, "kubeconfig");
    namespace.ifPresent(KubernetesSettings::checkNamespace);
    if (!pendingTimeout.isPositive()) {
      throw new IllegalArgumentException("pendingTimeout must be positive, was " + pendingTimeout);
    }
  }

  /** Nothing set: the runtime is not configured (unless the Gateway runs in a pod). */
  public static KubernetesSettings none() {
    return new KubernetesSettings(
        Optional.empty(), Optional.empty(), DEFAULT_PENDING_TIMEOUT, Optional.empty());
  }

  /**
   * Reads the settings from {@code environment}.
   *
   * @throws IllegalArgumentException listing every problem (one per line), each naming its variable
   *     and what it accepts
   */
  public static KubernetesSettings fromEnvironment(Map<String, String> environment) {
    List<String> problems = new ArrayList<>();
    Optional<String> namespace = text(environment, NAMESPACE);
    if (namespace.isPresent() && !DNS_LABEL.matcher(namespace.get()).matches()) {
      problems.add(
          NAMESPACE
              + "="
              + namespace.get()
              + " is not a namespace name: lower-case letters, digits and '-', at most 63");
    }
    Optional<String> gatewayUrl = text(environment, GATEWAY_URL);
    if (gatewayUrl.isPresent() && !isHttpUrl(gatewayUrl.get())) {
      problems.add(
          GATEWAY_URL
              + "="
              + gatewayUrl.get()
              + " is not an http(s) URL: give the URL workers use for the Gateway's agent API,"
              + " e.g. http://worka-agents.NAMESPACE.svc:8080");
    }
    Duration pending = DEFAULT_PENDING_TIMEOUT;
    Optional<String> pendingText = text(environment, PENDING_TIMEOUT);
    if (pendingText.isPresent()) {
      Optional<Duration> parsed = DurationText.parse(pendingText.get());
      if (parsed.isEmpty() || !parsed.get().isPositive()) {
        problems.add(
            PENDING_TIMEOUT
                + "="
                + pendingText.get()
                + " is not a positive duration: write e.g. 120s, 5m or 1m30s");
      } else {
        pending = parsed.get();
      }
    }
    Optional<Path> kubeconfig = text(environment, KUBECONFIG).map(Path::of);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("\n", problems));
    }
    return new KubernetesSettings(namespace, gatewayUrl.map(String::strip), pending, kubeconfig);
  }

  private static Optional<String> text(Map<String, String> environment, String name) {
    String value = environment.get(name);
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.strip());
  }

  private static void checkNamespace(String namespace) {
    if (!DNS_LABEL.matcher(namespace).matches()) {
      throw new IllegalArgumentException("not a namespace name: '" + namespace + "'");
    }
  }

  static boolean isNamespace(String text) {
    return DNS_LABEL.matcher(text).matches();
  }

  private static boolean isHttpUrl(String text) {
    try {
      URI uri = new URI(text);
      return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          && uri.getHost() != null
          && uri.getRawUserInfo() == null
          && uri.getRawQuery() == null
          && uri.getRawFragment() == null;
    } catch (URISyntaxException e) {
      return false;
    }
  }
}
