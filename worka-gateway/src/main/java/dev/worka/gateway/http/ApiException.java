package dev.worka.gateway.http;

import dev.worka.gateway.error.WorkaException;
import dev.worka.protocol.ErrorBody;

/** An error answer: its status and the JSON error body (stable code, message, details). */
public final class ApiException extends WorkaException {
  private final int status;
  private final ErrorBody body;
  private final java.util.Map<String, String> headers;

  public ApiException(int status, ErrorBody body) {
    this(status, body, java.util.Map.of());
  }

  /** An error answer with response headers (e.g. {@code Retry-After} on a {@code 503}). */
  public ApiException(int status, ErrorBody body, java.util.Map<String, String> headers) {
    super(status + " " + body.error() + ": " + body.message());
    this.status = status;
    this.body = body;
    this.headers = java.util.Map.copyOf(headers);
  }

  public ApiException(int status, String code, String message) {
    this(status, ErrorBody.of(code, message));
  }

  public int status() {
    return status;
  }

  public ErrorBody body() {
    return body;
  }

  public java.util.Map<String, String> headers() {
    return headers;
  }
}
