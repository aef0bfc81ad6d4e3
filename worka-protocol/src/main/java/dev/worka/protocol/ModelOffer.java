package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The model a step may use, in the step envelope's {@code model} field (an extension: absent when
 * the Gateway runs the offline scripted model). A worker calls it through the Gateway's {@code POST
 * /v1/agent/model/v1/messages} — the Anthropic Messages API with the Gateway as base URL ({@code
 * $WORKA_GATEWAY_URL}{@value #BASE_PATH}) and the step token as key — never directly: the worker
 * holds no model key. {@code name} is informational; the Gateway sends every call to the model it
 * is configured with, whatever the request names.
 */
public record ModelOffer(
    @JsonProperty("provider") String provider, @JsonProperty("name") String name) {
  /** The Anthropic Messages API. */
  public static final String ANTHROPIC = "anthropic";

  /** Appended to the Gateway URL, the base URL of the Messages API as the Gateway proxies it. */
  public static final String BASE_PATH = "/v1/agent/model";

  public ModelOffer {
    if (provider == null || provider.isBlank()) {
      throw new IllegalArgumentException("provider must be named, got '" + provider + "'");
    }
  }
}
