package dev.worka.gateway.runtime.process;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Whether workers must be sandboxed ({@code WORKA_SANDBOX}; {@link SandboxRequirement} says what an
 * unset variable means).
 *
 * <ul>
 *   <li>{@code required}: a worker that cannot be sandboxed (bubblewrap missing or not usable here)
 *       is never started; its attempt is burned with kind {@code dispatch} and a message that says
 *       what to install.
 *   <li>{@code off}: every worker runs unconfined, as the Gateway's OS user, even where bubblewrap
 *       works; the Gateway warns at start. Only ever when set explicitly.
 * </ul>
 */
public enum WorkerSandbox {
  REQUIRED,
  OFF;

  public static final String VARIABLE = "WORKA_SANDBOX";

  /**
   * The value of {@value #VARIABLE} in {@code environment}; empty when unset.
   *
   * @throws IllegalArgumentException for any other value, naming the variable and what is allowed
   */
  public static Optional<WorkerSandbox> fromEnvironment(Map<String, String> environment) {
    String value = environment.get(VARIABLE);
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    return switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "required" -> Optional.of(REQUIRED);
      case "off" -> Optional.of(OFF);
      default ->
          throw new IllegalArgumentException(
              VARIABLE
                  + "="
                  + value
                  + " is not a sandbox setting: use required (a worker that cannot be sandboxed is"
                  + " not started) or off (every worker runs unconfined), or leave it unset");
    };
  }
}
