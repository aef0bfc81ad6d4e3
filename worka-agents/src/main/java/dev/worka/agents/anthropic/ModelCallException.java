package dev.worka.agents.anthropic;

/**
 * A model call that gave no usable answer: the provider or the Gateway failed, timed out, or the
 * model did not answer with the tool it was asked for. Fails the step attempt; whether to try again
 * is the Gateway's decision.
 */
public final class ModelCallException extends RuntimeException {
  public ModelCallException(String message) {
    super(message);
  }

  public ModelCallException(String message, Throwable cause) {
    super(message, cause);
  }
}
