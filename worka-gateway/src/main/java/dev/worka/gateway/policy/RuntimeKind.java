package dev.worka.gateway.policy;

import java.util.Optional;

/** Where an agent's steps run (DESIGN §8). */
public enum RuntimeKind {
  PROCESS("process"),
  KUBERNETES("kubernetes"),
  WASM("wasm");

  private final String wireName;

  RuntimeKind(String wireName) {
    this.wireName = wireName;
  }

  /** The name used in the manifest and in stored JSON. */
  public String wireName() {
    return wireName;
  }

  /** The runtime named {@code name} in a manifest, if it is one. */
  static Optional<RuntimeKind> fromWireName(String name) {
    for (RuntimeKind kind : values()) {
      if (kind.wireName.equals(name)) {
        return Optional.of(kind);
      }
    }
    return Optional.empty();
  }
}
