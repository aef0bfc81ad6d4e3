package dev.worka.gateway.runtime.process;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Which workers the process runtime must sandbox, refusing to start them where it cannot ({@code
 * WORKA_SANDBOX}, {@link WorkerSandbox}):
 *
 * <ul>
 *   <li>{@code WORKA_SANDBOX=required}: every worker.
 *   <li>{@code WORKA_SANDBOX=off}: none; every worker runs unconfined (even where bubblewrap
 *       works).
 *   <li>unset, with {@code WORKA_SIDE_EFFECTS=live}: every worker.
 *   <li>unset, in {@code dry-run}: every worker of an agent an operator declares — one whose launch
 *       spec is not one of the built-in manifest's: its whole argv, {@code command[0]} resolved
 *       against the installation directory and normalized, differs from each of the built-in
 *       manifest's commands (the rule {@code policy.LaunchAllowance} uses to recognise a host's own
 *       launch specs). The agent's name does not count, nor the manifest it is declared in: an
 *       agent called {@code hari} with another command is an operator's, and one of {@code
 *       WORKA_POLICY_FILE}'s with exactly {@code [bin/worka-agent, hari]} runs the built-in code.
 *       Only those built-in agents may run unconfined, with the warning, so that the README's two
 *       commands work on a host without bubblewrap.
 * </ul>
 */
public final class SandboxRequirement {
  private final Optional<WorkerSandbox> setting;
  private final boolean live;
  private final Set<List<String>> builtInCommands;

  private SandboxRequirement(
      Optional<WorkerSandbox> setting, boolean live, Collection<List<String>> builtInCommands) {
    this.setting = Objects.requireNonNull(setting, "setting");
    this.live = live;
    this.builtInCommands =
        Objects.requireNonNull(builtInCommands, "builtInCommands").stream()
            .map(List::copyOf)
            .collect(java.util.stream.Collectors.toUnmodifiableSet());
  }

  /**
   * The requirement of a Gateway.
   *
   * @param setting {@code WORKA_SANDBOX}; empty when unset
   * @param live whether {@code WORKA_SIDE_EFFECTS} is {@code live}
   * @param builtInCommands the built-in manifest's process commands, as written there (relative
   *     ones are resolved against the installation directory by the runtime)
   */
  public static SandboxRequirement of(
      Optional<WorkerSandbox> setting, boolean live, Collection<List<String>> builtInCommands) {
    return new SandboxRequirement(setting, live, builtInCommands);
  }

  /** {@code WORKA_SANDBOX=off}: no worker is sandboxed. */
  boolean off() {
    return setting.equals(Optional.of(WorkerSandbox.OFF));
  }

  /** The built-in manifest's commands, as written. */
  Set<List<String>> builtInCommands() {
    return builtInCommands;
  }

  /**
   * Why a worker whose canonical argv is {@code command} must be sandboxed; empty when it may run
   * unconfined.
   *
   * @param builtIn whether {@code command} is one of the built-in manifest's (canonical too)
   */
  Optional<String> whyRequired(boolean builtIn) {
    if (setting.isPresent()) {
      return setting.get() == WorkerSandbox.REQUIRED
          ? Optional.of(WorkerSandbox.VARIABLE + "=required")
          : Optional.empty();
    }
    if (live) {
      return Optional.of("every worker must be sandboxed with WORKA_SIDE_EFFECTS=live");
    }
    return builtIn
        ? Optional.empty()
        : Optional.of(
            "its command is not one of the built-in manifest's (an agent an operator declares)");
  }

  /** Whether the built-in manifest's agents may run unconfined (dry-run, the variable unset). */
  boolean builtInMayRunUnconfined() {
    return setting.isEmpty() && !live;
  }

  /** For the start-up log. */
  String describe() {
    if (setting.isPresent()) {
      return setting.get() == WorkerSandbox.REQUIRED
          ? "required for every worker (WORKA_SANDBOX=required)"
          : "off (WORKA_SANDBOX=off)";
    }
    return live
        ? "required for every worker (WORKA_SIDE_EFFECTS=live)"
        : "required for every worker but the built-in manifest's agents (dry-run, WORKA_SANDBOX"
            + " unset)";
  }
}
