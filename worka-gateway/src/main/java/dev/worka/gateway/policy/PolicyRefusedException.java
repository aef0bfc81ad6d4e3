package dev.worka.gateway.policy;

import dev.worka.gateway.error.WorkaException;
import java.util.List;

/**
 * A manifest that compiles was refused by the host's conditions for uploads (its launch specs,
 * {@link LaunchAllowance}); nothing was stored and the active policy is unchanged.
 */
public final class PolicyRefusedException extends WorkaException {
  private final List<String> refusals;

  public PolicyRefusedException(List<String> refusals) {
    super("policy manifest refused: " + String.join("; ", refusals));
    this.refusals = List.copyOf(refusals);
  }

  /** Why, one line per refused part (e.g. {@code agent hari: command [...] is not …}). */
  public List<String> refusals() {
    return refusals;
  }
}
