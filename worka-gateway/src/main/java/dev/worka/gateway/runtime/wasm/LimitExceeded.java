package dev.worka.gateway.runtime.wasm;

/**
 * Thrown inside a module's thread when it reaches one of its limits ({@code memory}, {@code
 * output}): it unwinds the module at once, and its worker ends as {@code
 * AttemptOutcome.LimitReached}.
 */
final class LimitExceeded extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String limit;

  LimitExceeded(String limit, String detail) {
    super(detail, null, false, false);
    this.limit = limit;
  }

  String limit() {
    return limit;
  }

  String detail() {
    return getMessage();
  }
}
