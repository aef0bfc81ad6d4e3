package dev.worka.gateway.skill.model;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The Anthropic Messages API ({@code POST $ANTHROPIC_BASE_URL/v1/messages}) as the Gateway's model
 * route reaches it: a request body in, the provider's status and body out.
 *
 * <p>Why the JDK's {@link HttpClient} and not the official SDK here (the workers do use the SDK):
 * this is a proxy. It must pass the worker's request through as it was written — including fields
 * newer than whatever SDK version the Gateway was built with — and hand back the provider's answer
 * as the provider wrote it, usage and all. The SDK's typed {@code MessageCreateParams} and {@code
 * Message} would parse and re-serialize both, dropping or reshaping what they do not model; the
 * route already checks the request's fields itself. It also keeps the SDK's 52 MB of jars out of
 * the Gateway.
 *
 * <p>The key goes as {@code x-api-key}, the header the Messages API documents for API keys and the
 * one Messages-compatible endpoints accept. (Workers send their step token to the Gateway's route
 * as {@code Authorization: Bearer} — the Java SDK 3.x and the TypeScript SDK 1.x — or as {@code
 * x-api-key} — the TypeScript SDK 0.x, the Python SDK; the route reads both.)
 *
 * <p>What it says when no answer came is its own words, never an exception's text (which can hold
 * the URL with its user information, or what the provider sent), and the endpoint it names is shown
 * without user information or query ({@link #endpoint()}).
 */
public final class AnthropicMessages {
  /** Where requests go when {@code ANTHROPIC_BASE_URL} is not set. */
  public static final String DEFAULT_BASE_URL = "https://api.anthropic.com";

  /** The model every call is sent to when {@code WORKA_ANTHROPIC_MODEL} is not set. */
  public static final String DEFAULT_MODEL = "claude-sonnet-4-5";

  /** The {@code anthropic-version} sent when the worker's request names none usable. */
  static final String DEFAULT_VERSION = "2023-06-01";

  /** What a model name may look like ({@code WORKA_ANTHROPIC_MODEL}). */
  public static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}");

  private static final Pattern VERSION = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(5);

  /** Calls of one step under way at once when {@code WORKA_MODEL_CALLS_PER_STEP} is not set. */
  public static final int DEFAULT_CALLS_PER_STEP = 2;

  /** The most {@code WORKA_MODEL_CALLS_PER_STEP} may allow. */
  public static final int MAX_CALLS_PER_STEP = 16;

  /** Largest answer read from the provider; a larger one is refused, not cut. */
  static final int MAX_ANSWER_BYTES = 8 * 1024 * 1024;

  private final URI endpoint;
  private final String apiKey;
  private final String model;
  private final HttpClient http;
  private final int callsPerStep;

  /**
   * @param baseUrl the API's base URL, e.g. {@code https://api.anthropic.com} (requests go to its
   *     {@code /v1/messages})
   * @param apiKey the real key; never logged or returned
   * @param model the model every request is sent to, whatever the worker named
   */
  public AnthropicMessages(String baseUrl, String apiKey, String model) {
    this(baseUrl, apiKey, model, DEFAULT_CALLS_PER_STEP);
  }

  /**
   * @param callsPerStep how many calls of one step may be under way at once ({@code
   *     WORKA_MODEL_CALLS_PER_STEP}, 1..{@value #MAX_CALLS_PER_STEP})
   */
  public AnthropicMessages(String baseUrl, String apiKey, String model, int callsPerStep) {
    Objects.requireNonNull(baseUrl, "baseUrl");
    if (callsPerStep < 1 || callsPerStep > MAX_CALLS_PER_STEP) {
      throw new IllegalArgumentException(
          "WORKA_MODEL_CALLS_PER_STEP must be 1.." + MAX_CALLS_PER_STEP + ", got " + callsPerStep);
    }
    this.callsPerStep = callsPerStep;
    if (apiKey == null || apiKey.isBlank()) {
      throw new IllegalArgumentException("the Anthropic API key is empty");
    }
    if (model == null || !MODEL_NAME.matcher(model).matches()) {
      throw new IllegalArgumentException("model name '" + model + "' is not usable");
    }
    this.endpoint = URI.create(baseUrl.replaceAll("/+$", "") + "/v1/messages");
    this.apiKey = apiKey;
    this.model = model;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(CONNECT_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /** How many calls of one step may be under way at once ({@code WORKA_MODEL_CALLS_PER_STEP}). */
  public int callsPerStep() {
    return callsPerStep;
  }

  /** The model every request goes to. */
  public String model() {
    return model;
  }

  /** Where requests go, as it may be shown: without user information, query or fragment. */
  public String endpoint() {
    return shown(endpoint);
  }

  private static String shown(URI uri) {
    return uri.getScheme()
        + "://"
        + uri.getHost()
        + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
        + (uri.getRawPath() == null ? "" : uri.getRawPath());
  }

  /** What the provider answered, or that it could not be reached. */
  public sealed interface Answer {
    /** The provider's status and body, the key redacted from it should it appear. */
    record Reply(int status, String body) implements Answer {}

    /**
     * No usable answer: not reached, timed out, or an answer too large to read. {@code maybeSent}
     * says whether the request may have reached the provider (then it may have been served, and
     * billed, without the Gateway learning its usage); a refused or timed-out connection was not.
     * {@code why} is the Gateway's own words, with no upstream text in it.
     */
    record Unreachable(String why, boolean maybeSent) implements Answer {}
  }

  /**
   * Sends {@code body} (a complete Messages request, its model already forced) with {@code
   * anthropicVersion} (the worker's, when it looks like a version date).
   */
  public Answer send(byte[] body, String anthropicVersion) {
    String version =
        anthropicVersion != null && VERSION.matcher(anthropicVersion).matches()
            ? anthropicVersion
            : DEFAULT_VERSION;
    HttpRequest request =
        HttpRequest.newBuilder(endpoint)
            .timeout(REQUEST_TIMEOUT)
            .header("x-api-key", apiKey)
            .header("anthropic-version", version)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("user-agent", "worka-gateway")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    try {
      HttpResponse<java.io.InputStream> response =
          http.send(request, HttpResponse.BodyHandlers.ofInputStream());
      byte[] bytes;
      try (java.io.InputStream in = response.body()) {
        bytes = in.readNBytes(MAX_ANSWER_BYTES + 1);
      }
      if (bytes.length > MAX_ANSWER_BYTES) {
        return new Answer.Unreachable(
            "the model provider's answer is larger than " + MAX_ANSWER_BYTES + " bytes", true);
      }
      return new Answer.Reply(
          response.statusCode(), redacted(new String(bytes, StandardCharsets.UTF_8)));
    } catch (HttpConnectTimeoutException e) {
      return new Answer.Unreachable(
          "the model provider at "
              + endpoint()
              + " could not be reached (no connection"
              + " within "
              + CONNECT_TIMEOUT.toSeconds()
              + "s)",
          false);
    } catch (ConnectException e) {
      return new Answer.Unreachable(
          "the model provider at " + endpoint() + " could not be reached (connection" + " refused)",
          false);
    } catch (HttpTimeoutException e) {
      return new Answer.Unreachable(
          "the model provider at "
              + endpoint()
              + " did not answer within "
              + REQUEST_TIMEOUT.toMinutes()
              + " minutes",
          true);
    } catch (IOException e) {
      // The exception's own text may hold the URL or what the provider sent: only its kind is told.
      return new Answer.Unreachable(
          "the call to the model provider at "
              + endpoint()
              + " broke off ("
              + e.getClass().getSimpleName()
              + ")",
          true);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Answer.Unreachable("the call to the model provider was interrupted", true);
    }
  }

  private String redacted(String text) {
    return text.replace(apiKey, "[redacted]");
  }

  @Override
  public String toString() {
    return "AnthropicMessages[" + endpoint() + ", model=" + model + "]";
  }
}
