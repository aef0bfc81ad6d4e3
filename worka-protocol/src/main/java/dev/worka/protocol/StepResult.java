package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Body of {@code POST /v1/agent/result}: once per attempt. {@code retryable} is optional (absent
 * means the Gateway decides; {@code false} forbids a retry).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepResult(
    @JsonProperty("status") String status,
    @JsonProperty("output") JsonNode output,
    @JsonProperty("summary") String summary,
    @JsonProperty("error") String error,
    @JsonProperty("retryable") Boolean retryable) {

  /** The JSON Schema of a result body, on the classpath. */
  public static final String SCHEMA_RESOURCE = "/dev/worka/protocol/result.schema.json";

  public static final String SUCCEEDED = "succeeded";
  public static final String FAILED = "failed";

  public static StepResult succeeded(String summary, JsonNode output) {
    return new StepResult(SUCCEEDED, output, summary, null, null);
  }

  public static StepResult failed(String error, boolean retryable) {
    return new StepResult(FAILED, null, null, error, retryable);
  }
}
