package dev.worka.gateway.policy;

import dev.worka.gateway.error.WorkaException;
import java.util.List;

/** An operator tried to activate a manifest that does not compile; nothing was stored. */
public final class InvalidPolicyException extends WorkaException {
  private final List<String> errors;

  public InvalidPolicyException(List<String> errors) {
    super("invalid policy manifest: " + String.join("; ", errors));
    this.errors = List.copyOf(errors);
  }

  /** Every error the compiler found, each naming its manifest path. */
  public List<String> errors() {
    return errors;
  }
}
