package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Objects;

/**
 * The JSON body of every error response: a stable code, a message for people, and where it applies
 * the gate that recorded a denial, its reason, or the list of violations.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ErrorBody(
    @JsonProperty("error") String error,
    @JsonProperty("message") String message,
    @JsonProperty("gate_id") String gateId,
    @JsonProperty("reason") String reason,
    @JsonProperty("violations") List<String> violations) {

  public ErrorBody {
    Objects.requireNonNull(error, "error");
    Objects.requireNonNull(message, "message");
    violations = violations == null ? null : List.copyOf(violations);
  }

  public static ErrorBody of(String error, String message) {
    return new ErrorBody(error, message, null, null, null);
  }
}
