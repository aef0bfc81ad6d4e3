package dev.worka.agents;

/**
 * Why a Gateway call did not give the answer hoped for. {@code status} is the HTTP status, or
 * {@code 0} when no response came (the Gateway was unreachable or the call timed out); {@code code}
 * is the stable error code of the body ({@code dev.worka.protocol.ErrorCodes}) or a local one.
 * {@code retryable} is data, not a guess: no response and 5xx may pass, 4xx will not.
 */
record GatewayError(int status, String code, String message, boolean retryable) {

  static final int NO_RESPONSE = 0;

  static GatewayError noResponse(String message) {
    return new GatewayError(NO_RESPONSE, "unreachable", message, true);
  }

  static GatewayError of(int status, String code, String message) {
    boolean retryable = status >= 500 || status == 408 || status == 429;
    return new GatewayError(status, code, message, retryable);
  }

  /** One line for people: what the Gateway said, or that it did not answer. */
  String describe() {
    if (status == NO_RESPONSE) {
      return "the Gateway did not answer (" + message + ")";
    }
    return "the Gateway answered HTTP " + status + " " + code + ": " + message;
  }
}
