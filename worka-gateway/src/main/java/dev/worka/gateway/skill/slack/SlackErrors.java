package dev.worka.gateway.skill.slack;

import com.slack.api.methods.SlackApiException;
import com.slack.api.methods.SlackApiTextResponse;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.Set;

/**
 * What a failed Slack Web API call means for trying again. Slack answers most errors with HTTP 200
 * and {@code {"ok": false, "error": "…"}}; a few with an HTTP status ({@code 429} rate limited,
 * {@code 5xx}). The SDK returns the first and throws {@link SlackApiException} for the second.
 */
public final class SlackErrors {
  private SlackErrors() {}

  /** Errors Slack documents as transient: the call was not made, or may be made again. */
  static final Set<String> TRANSIENT =
      Set.of("ratelimited", "service_unavailable", "request_timeout");

  /**
   * Errors after which Slack says "some aspect of the operation may have succeeded": transient, but
   * a side effect's outcome is unknown.
   */
  static final Set<String> MAYBE_DONE = Set.of("internal_error", "fatal_error");

  /** How a failed call ended. */
  public enum Kind {
    /** The call was not made; trying again may work. */
    RETRYABLE,
    /** The call may or may not have taken effect; trying again may work. */
    MAYBE_DONE,
    /** Trying again will fail the same way (a wrong channel, token or scope). */
    PERMANENT
  }

  /** One Web API call through the SDK. */
  public interface Call<T extends SlackApiTextResponse> {
    T run() throws IOException, SlackApiException;
  }

  /**
   * A call that did not answer {@code ok}: how it ended, in a sentence, and the exception if any.
   */
  public static final class Failed extends RuntimeException {
    public final Kind kind;

    /** Slack's error code ({@code not_in_channel}), when it named one. */
    public final String error;

    Failed(Kind kind, String error, String why, Throwable cause) {
      super(why, cause);
      this.kind = kind;
      this.error = error;
    }
  }

  /**
   * Makes {@code call}; its answer when {@code ok}, else {@link Failed} saying whether trying again
   * may work (a missing scope is named).
   */
  public static <T extends SlackApiTextResponse> T ok(Call<T> call) {
    try {
      T response = call.run();
      if (response.isOk()) {
        return response;
      }
      throw new Failed(
          ofError(response.getError()),
          response.getError(),
          "Slack answered "
              + response.getError()
              + (response.getNeeded() != null ? " (needs scope " + response.getNeeded() + ")" : ""),
          null);
    } catch (SlackApiException e) {
      throw new Failed(
          ofStatus(e.getResponse().code()),
          e.getError() != null ? e.getError().getError() : null,
          "Slack answered " + describe(e),
          e);
    } catch (IOException e) {
      throw new Failed(ofIo(e), null, describe(e), e);
    }
  }

  /** A Slack {@code error} code answered with {@code ok: false}. */
  static Kind ofError(String error) {
    if (error != null && TRANSIENT.contains(error)) {
      return Kind.RETRYABLE;
    }
    if (error != null && MAYBE_DONE.contains(error)) {
      return Kind.MAYBE_DONE;
    }
    return Kind.PERMANENT;
  }

  /** An HTTP status other than 200 ({@link SlackApiException}). */
  static Kind ofStatus(int status) {
    if (status == 429 || status == 408) {
      return Kind.RETRYABLE;
    }
    return status >= 500 ? Kind.MAYBE_DONE : Kind.PERMANENT;
  }

  /** An I/O failure: a refused connection sent nothing; a timeout or a broken answer may have. */
  static Kind ofIo(IOException e) {
    return e instanceof ConnectException || e instanceof UnknownHostException
        ? Kind.RETRYABLE
        : Kind.MAYBE_DONE;
  }

  /** The short description of a {@link SlackApiException}, without the response body. */
  static String describe(SlackApiException e) {
    String code =
        e.getError() != null && e.getError().getError() != null
            ? " (" + e.getError().getError() + ")"
            : "";
    return "HTTP " + e.getResponse().code() + code;
  }

  static String describe(IOException e) {
    return (e instanceof InterruptedIOException ? "timed out: " : "I/O error: ")
        + e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : " " + e.getMessage());
  }
}
