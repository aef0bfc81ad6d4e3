package dev.worka.gateway.policy;

import java.util.List;
import java.util.Objects;

/** The outcome of compiling a manifest: the policy, or every error found in it. */
public sealed interface Compilation permits Compilation.Compiled, Compilation.Invalid {

  record Compiled(CompiledPolicy policy) implements Compilation {
    public Compiled {
      Objects.requireNonNull(policy, "policy");
    }
  }

  /**
   * A manifest that does not compile.
   *
   * @param errors each names the manifest path and the problem, e.g. {@code "agents.ernest.runtime:
   *     unknown runtime 'docker' (expected process, kubernetes or wasm)"}
   */
  record Invalid(List<String> errors) implements Compilation {
    public Invalid {
      errors = List.copyOf(errors);
      if (errors.isEmpty()) {
        throw new IllegalArgumentException("an invalid manifest has at least one error");
      }
    }
  }
}
