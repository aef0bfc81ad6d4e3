package dev.worka.gateway.runtime.process;

import java.util.Map;

/**
 * For tests that run real Gateways: whether this host's bubblewrap works, and the environment that
 * keeps such a Gateway running its test agents where it does not.
 */
public final class SandboxHere {
  private SandboxHere() {}

  /** Whether workers can be sandboxed on this host (bubblewrap installed and usable). */
  public static boolean usable() {
    return Isolation.detected() instanceof Isolation.Bubblewrap;
  }

  /**
   * Whether sandboxed workers get a network of their own here, reaching only the Gateway through
   * their relay (which caps their connections).
   */
  public static boolean ownNetwork() {
    return Isolation.detected() instanceof Isolation.Bubblewrap bubblewrap
        && bubblewrap.ownNetwork();
  }

  /**
   * Empty where bubblewrap works (the Gateway's own default applies); else {@code
   * WORKA_SANDBOX=off}, so that a test Gateway's agents — declared by the test's policy file, so
   * otherwise refused without a sandbox — run unconfined, as every worker did before the sandbox
   * failed closed. Tests of {@code WORKA_SANDBOX} itself set it, or start a Gateway "without
   * bubblewrap", instead.
   */
  public static Map<String, String> orOff() {
    return usable() ? Map.of() : Map.of(WorkerSandbox.VARIABLE, "off");
  }
}
