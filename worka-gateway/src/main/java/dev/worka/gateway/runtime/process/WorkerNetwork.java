package dev.worka.gateway.runtime.process;

import java.util.Locale;
import java.util.Map;

/**
 * What network a sandboxed worker gets ({@code WORKA_WORKER_NETWORK}).
 *
 * <ul>
 *   <li>{@code gateway} (the default): a network namespace of its own whose only way out is the
 *       Gateway ({@link GatewayRelay}); the worker's {@code WORKA_GATEWAY_URL} works as before,
 *       nothing else on the host or beyond is reachable. Needs a bubblewrap that can unshare the
 *       network and a Gateway URL on loopback; otherwise the worker shares the host's network and
 *       the Gateway logs why (at start, or at the first worker).
 *   <li>{@code host}: the host's network, as the Gateway has it.
 * </ul>
 */
public enum WorkerNetwork {
  GATEWAY,
  HOST;

  public static final String VARIABLE = "WORKA_WORKER_NETWORK";

  /**
   * The value of {@value #VARIABLE} in {@code environment}, {@link #GATEWAY} when unset.
   *
   * @throws IllegalArgumentException for any other value, saying which are allowed
   */
  public static WorkerNetwork fromEnvironment(Map<String, String> environment) {
    String value = environment.get(VARIABLE);
    if (value == null || value.isBlank()) {
      return GATEWAY;
    }
    return switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "gateway" -> GATEWAY;
      case "host" -> HOST;
      default ->
          throw new IllegalArgumentException(
              VARIABLE
                  + "="
                  + value
                  + " is not a worker network: use gateway (workers reach only the Gateway; the default) or host");
    };
  }
}
