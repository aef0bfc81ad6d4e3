package dev.worka.gateway.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What whoever runs the host decides and the operator token cannot change (DESIGN §11):
 *
 * <ul>
 *   <li>{@code WORKA_INGRESS_PORT} (optional; {@code 0} picks a free port): when set, the routes
 *       the internet must reach ({@code /slack/*}, {@code /github/webhook}, and {@code /healthz})
 *       are served on that port only, and the operator and agent APIs only on {@code
 *       WORKA_HTTP_PORT}; unset, everything is on {@code WORKA_HTTP_PORT}. {@code
 *       WORKA_INGRESS_BIND_ADDRESS} is the address it listens on (default: {@code
 *       WORKA_BIND_ADDRESS}, itself {@code 127.0.0.1}).
 *   <li>{@code WORKA_ALLOWED_LAUNCH} (optional): comma-separated path prefixes ({@code
 *       /opt/agents}) and image prefixes ({@code ghcr.io/acme/agents/}) under which a manifest
 *       uploaded through the API may name agent programs, images or modules, beside those of the
 *       built-in manifest and of {@code WORKA_POLICY_FILE} ({@code policy.LaunchAllowance} checks
 *       them).
 * </ul>
 *
 * Validated once, with messages naming the variable.
 */
public record HostSettings(
    OptionalInt ingressPort, String ingressBindAddress, List<String> allowedLaunch) {

  public HostSettings {
    if (ingressPort == null || ingressBindAddress == null || ingressBindAddress.isBlank()) {
      throw new IllegalArgumentException("ingressPort and ingressBindAddress are required");
    }
    allowedLaunch = List.copyOf(allowedLaunch);
  }

  /** No ingress port, nothing allowed beyond the built-in manifest and the policy file. */
  public static HostSettings defaults() {
    return new HostSettings(OptionalInt.empty(), "127.0.0.1", List.of());
  }

  /**
   * The settings in {@code environment}; {@code httpPort} is {@code WORKA_HTTP_PORT}'s value.
   *
   * @throws ConfigException naming each variable that is wrong and what to set instead
   */
  public static HostSettings fromEnvironment(Map<String, String> environment, int httpPort) {
    List<String> problems = new ArrayList<>();
    OptionalInt ingress = OptionalInt.empty();
    Optional<String> port = value(environment, "WORKA_INGRESS_PORT");
    if (port.isPresent()) {
      try {
        int p = Integer.parseInt(port.get());
        if (p < 0 || p > 65535) {
          problems.add("WORKA_INGRESS_PORT=" + port.get() + " is out of range (0..65535)");
        } else if (p != 0 && p == httpPort) {
          problems.add(
              "WORKA_INGRESS_PORT="
                  + p
                  + " is WORKA_HTTP_PORT too: the ingress port must be another"
                  + " port (the one exposed to Slack and GitHub), or unset it to serve everything on one port");
        } else {
          ingress = OptionalInt.of(p);
        }
      } catch (NumberFormatException e) {
        problems.add("WORKA_INGRESS_PORT=" + port.get() + " is not a whole number");
      }
    }
    String bind =
        value(environment, "WORKA_INGRESS_BIND_ADDRESS")
            .orElse(value(environment, "WORKA_BIND_ADDRESS").orElse("127.0.0.1"));
    if (value(environment, "WORKA_INGRESS_BIND_ADDRESS").isPresent()
        && ingress.isEmpty()
        && port.isEmpty()) {
      problems.add(
          "WORKA_INGRESS_BIND_ADDRESS is set but WORKA_INGRESS_PORT is not: set the port too, or unset it");
    }
    List<String> allowed = new ArrayList<>();
    for (String entry : value(environment, "WORKA_ALLOWED_LAUNCH").orElse("").split(",")) {
      String e = entry.strip();
      if (e.isEmpty()) {
        continue;
      }
      if (e.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
        problems.add(
            "WORKA_ALLOWED_LAUNCH entry '" + e + "' holds whitespace or a control character");
      } else if (!e.startsWith("/")
          && (e.startsWith(".") || e.contains("/../") || e.endsWith("/.."))) {
        problems.add(
            "WORKA_ALLOWED_LAUNCH entry '"
                + e
                + "' is neither an absolute path (/opt/agents) nor an"
                + " image prefix (registry.example.com/agents/)");
      } else {
        allowed.add(e);
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new HostSettings(ingress, bind, allowed);
  }

  private static Optional<String> value(Map<String, String> env, String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }
}
