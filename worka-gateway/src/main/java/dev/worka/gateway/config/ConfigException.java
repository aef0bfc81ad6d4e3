package dev.worka.gateway.config;

import dev.worka.gateway.error.WorkaException;
import java.util.List;

/** The configuration is invalid; the message lists every problem and what to set instead. */
public final class ConfigException extends WorkaException {
  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super("invalid configuration:\n  - " + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
