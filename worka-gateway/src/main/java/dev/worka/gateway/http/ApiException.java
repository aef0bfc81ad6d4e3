package dev.worka.gateway.http;

import dev.worka.gateway.error.WorkaException;
import dev.worka.protocol.ErrorBody;

/** An error answer: its status and the JSON error body (stable code, message, details). */
public final class ApiException extends WorkaException {
  private final int status;
  private final ErrorBody body;

  public ApiException(int status, ErrorBody body) {
    super(status + " " + body.error() + ": " + body.message());
    this.status = status;
    this.body = body;
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
}
