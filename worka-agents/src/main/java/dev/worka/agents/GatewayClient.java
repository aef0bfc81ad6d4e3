package dev.worka.agents;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.worka.agents.model.CallSpans;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import dev.worka.protocol.Plan;
import dev.worka.protocol.PlanAccepted;
import dev.worka.protocol.SkillCall;
import dev.worka.protocol.SkillCallResult;
import dev.worka.protocol.StepEnvelope;
import dev.worka.protocol.StepResult;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The worker's side of the agent protocol (DESIGN §5) over {@link HttpClient}: one method per call,
 * each returning a sealed outcome. Every request carries the bearer token, {@code Content-Type:
 * application/json} and, when the step has one, {@code traceparent}.
 *
 * <p>Retries: only when the Gateway could not be reached (connection refused or connect timeout) or
 * answered {@code 503}, a few times with a short doubling pause. A {@code 4xx} is never retried,
 * and neither is a call that timed out after it was sent, since the Gateway may have acted on it.
 * Skill calls carry an idempotency key, so a retried one cannot act twice.
 */
final class GatewayClient implements AutoCloseable {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  static final int MAX_RETRIES = 3;
  static final Duration FIRST_BACKOFF = Duration.ofMillis(250);

  /** Skill names as the plan schema allows them; anything else never reaches a URL path. */
  private static final Pattern SKILL_NAME = Pattern.compile("[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*");

  private static final int MAX_MESSAGE = 500;
  private static final ObjectMapper JSON = Json.LENIENT;

  private final URI base;
  private final String token;
  private final String traceparent;
  private final String userAgent;
  private final Pause pause;
  private final ProgressLog log;
  private final HttpClient http;
  private final CallSpans spans;

  GatewayClient(WorkerEnvironment env, Pause pause, ProgressLog log) {
    this(env, pause, log, CallSpans.NONE);
  }

  /** A client noting a span of each context, plan and skill call in {@code spans}. */
  GatewayClient(WorkerEnvironment env, Pause pause, ProgressLog log, CallSpans spans) {
    this.spans = spans;
    this.base = env.gatewayUrl();
    this.token = env.token();
    this.traceparent = env.traceparent();
    this.userAgent = "worka-agent/" + env.agent();
    this.pause = pause;
    this.log = log;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(CONNECT_TIMEOUT)
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /** {@code GET /v1/agent/context}: the step envelope. */
  ContextOutcome context() {
    CallSpans.Call span = spans.start("agent.context");
    ContextOutcome outcome =
        switch (send("GET /v1/agent/context", request("/v1/agent/context").GET().build(), span)) {
          case Answer.None none -> new ContextOutcome.Failed(none.error());
          case Answer.Response r when r.ok() ->
              parse(
                  r, StepEnvelope.class, ContextOutcome.Received::new, ContextOutcome.Failed::new);
          case Answer.Response r -> new ContextOutcome.Failed(r.error());
        };
    if (outcome instanceof ContextOutcome.Failed failed) {
      span.failed(failed.error().describe());
    }
    span.end();
    return outcome;
  }

  /** {@code POST /v1/agent/skills/{skill}}. */
  SkillOutcome callSkill(String skill, SkillCall call) {
    if (skill == null || !SKILL_NAME.matcher(skill).matches()) {
      return new SkillOutcome.Failed(
          new GatewayError(
              GatewayError.NO_RESPONSE,
              "invalid_skill_name",
              "'" + skill + "' is not a skill name (provider.action); it was not sent",
              false));
    }
    String path = "/v1/agent/skills/" + skill;
    log.line("asking for " + skill);
    CallSpans.Call span = spans.start("agent.skill " + skill).attribute("agent.skill", skill);
    SkillOutcome outcome =
        switch (send("POST " + path, post(path, call), span)) {
          case Answer.None none -> new SkillOutcome.Failed(none.error());
          case Answer.Response r when r.ok() ->
              parse(r, SkillCallResult.class, SkillOutcome.Output::new, SkillOutcome.Failed::new);
          case Answer.Response r when r.status() == 403 -> {
            ErrorBody body = r.errorBody();
            yield new SkillOutcome.Denied(body.gateId(), reasonOf(body));
          }
          case Answer.Response r -> new SkillOutcome.Failed(r.error());
        };
    log.line(
        switch (outcome) {
          case SkillOutcome.Output o ->
              skill
                  + " allowed: invocation "
                  + o.result().invocationId()
                  + (o.result().replayed()
                      ? " (replayed: recorded output of an earlier call)"
                      : "");
          case SkillOutcome.Denied d -> skill + " " + d.describe();
          case SkillOutcome.Failed f -> skill + " failed: " + f.error().describe();
        });
    switch (outcome) {
      case SkillOutcome.Output o ->
          span.attribute("agent.skill.outcome", o.result().replayed() ? "replayed" : "performed");
      case SkillOutcome.Denied d -> span.attribute("agent.skill.outcome", "denied");
      case SkillOutcome.Failed f ->
          span.attribute("agent.skill.outcome", "failed").failed(f.error().describe());
    }
    span.end();
    return outcome;
  }

  /** {@code POST /v1/agent/plan}: planner steps only. */
  PlanOutcome submitPlan(Plan plan) {
    log.line("proposing a plan of " + plan.steps().size() + " step(s): " + plan.summary());
    CallSpans.Call span =
        spans.start("agent.plan").attribute("agent.plan.steps", (long) plan.steps().size());
    PlanOutcome outcome =
        switch (send("POST /v1/agent/plan", post("/v1/agent/plan", plan), span)) {
          case Answer.None none -> new PlanOutcome.Failed(none.error());
          case Answer.Response r when r.ok() ->
              parse(r, PlanAccepted.class, PlanOutcome.Accepted::new, PlanOutcome.Failed::new);
          case Answer.Response r when r.status() == 422 -> {
            ErrorBody body = r.errorBody();
            List<String> violations =
                body.violations() == null || body.violations().isEmpty()
                    ? List.of(body.message())
                    : body.violations();
            yield new PlanOutcome.Rejected(violations);
          }
          case Answer.Response r when r.status() == 403 -> {
            ErrorBody body = r.errorBody();
            yield new PlanOutcome.Denied(body.gateId(), reasonOf(body));
          }
          case Answer.Response r
              when r.status() == 409 && ErrorCodes.PLAN_CONFLICT.equals(r.errorBody().error()) -> {
            ErrorBody body = r.errorBody();
            try {
              PlanAccepted accepted =
                  JSON.treeToValue(
                      JSON.readTree(r.body()).path("accepted_plan"), PlanAccepted.class);
              yield accepted == null
                  ? new PlanOutcome.Failed(r.error())
                  : new PlanOutcome.Superseded(accepted, body.gateId(), reasonOf(body));
            } catch (IOException | RuntimeException e) {
              yield new PlanOutcome.Failed(r.error());
            }
          }
          case Answer.Response r -> new PlanOutcome.Failed(r.error());
        };
    log.line(
        switch (outcome) {
          case PlanOutcome.Accepted a -> "plan accepted as " + a.plan().planId();
          case PlanOutcome.Rejected r -> "plan rejected: " + String.join("; ", r.violations());
          case PlanOutcome.Denied d -> "plan submission " + d.describe();
          case PlanOutcome.Superseded p ->
              "plan refused: the run already has plan "
                  + p.accepted().planId()
                  + " ("
                  + p.reason()
                  + ")";
          case PlanOutcome.Failed f -> "plan not submitted: " + f.error().describe();
        });
    span.attribute(
        "agent.plan.outcome",
        switch (outcome) {
          case PlanOutcome.Accepted a -> "accepted";
          case PlanOutcome.Rejected r -> "rejected";
          case PlanOutcome.Denied d -> "denied";
          case PlanOutcome.Superseded p -> "superseded";
          case PlanOutcome.Failed f -> "failed";
        });
    if (outcome instanceof PlanOutcome.Failed f) {
      span.failed(f.error().describe());
    }
    span.end();
    return outcome;
  }

  /**
   * {@code POST /v1/agent/result}, once per attempt. Retrying it is safe: a refused connection or a
   * {@code 503} means the Gateway did not take the first one.
   */
  ResultOutcome postResult(StepResult result) {
    return switch (send("POST /v1/agent/result", post("/v1/agent/result", result))) {
      case Answer.None none -> new ResultOutcome.Failed(none.error());
      case Answer.Response r when r.ok() -> new ResultOutcome.Accepted();
      case Answer.Response r -> new ResultOutcome.Failed(r.error());
    };
  }

  /** {@code POST /v1/agent/heartbeat}: extends the step's lease; empty when it was accepted. */
  Optional<GatewayError> heartbeat() {
    return switch (send(
        "POST /v1/agent/heartbeat", post("/v1/agent/heartbeat", JSON.createObjectNode()))) {
      case Answer.None none -> Optional.of(none.error());
      case Answer.Response r when r.ok() -> Optional.empty();
      case Answer.Response r -> Optional.of(r.error());
    };
  }

  /** Stops the HTTP client; a heartbeat still in flight is abandoned. */
  @Override
  public void close() {
    http.shutdownNow();
  }

  // ---- requests

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(REQUEST_TIMEOUT)
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("User-Agent", userAgent);
    if (traceparent != null) {
      builder.header("traceparent", traceparent);
    }
    return builder;
  }

  private HttpRequest post(String path, Object body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the body of " + path + " as JSON", e);
    }
    return request(path).POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build();
  }

  // ---- sending, with the retry rule

  /** What one call gave: a response (possibly after retries), or none at all. */
  private sealed interface Answer {
    // Never compared or hashed: it carries one response's bytes from send() to the one reading
    // them.
    @SuppressWarnings("ArrayRecordComponent")
    record Response(int status, byte[] body) implements Answer {
      boolean ok() {
        return status >= 200 && status < 300;
      }

      ErrorBody errorBody() {
        try {
          ErrorBody parsed = JSON.readValue(body, ErrorBody.class);
          if (parsed != null) {
            return parsed;
          }
        } catch (IOException | RuntimeException e) {
          // not the protocol's error body (a proxy's page, say): described below instead
        }
        String text = new String(body, StandardCharsets.UTF_8).strip();
        return ErrorBody.of("http_" + status, text.isEmpty() ? "no error body" : shorten(text));
      }

      GatewayError error() {
        ErrorBody body = errorBody();
        StringBuilder message = new StringBuilder(body.message());
        if (body.reason() != null && !body.reason().equals(body.message())) {
          message.append(" (").append(body.reason()).append(')');
        }
        if (body.violations() != null && !body.violations().isEmpty()) {
          message.append(": ").append(String.join("; ", body.violations()));
        }
        return GatewayError.of(status, body.error(), shorten(message.toString()));
      }
    }

    record None(GatewayError error) implements Answer {}
  }

  private Answer send(String what, HttpRequest request) {
    return send(what, request, null);
  }

  /** As {@link #send(String, HttpRequest)}, noting the method, path and status on {@code span}. */
  private Answer send(String what, HttpRequest request, CallSpans.Call span) {
    Answer answer = sendWithRetries(what, request);
    if (span != null) {
      span.attribute("http.request.method", request.method())
          .attribute("url.path", request.uri().getPath());
      if (answer instanceof Answer.Response r) {
        span.attribute("http.response.status_code", (long) r.status());
      }
    }
    return answer;
  }

  private Answer sendWithRetries(String what, HttpRequest request) {
    Duration backoff = FIRST_BACKOFF;
    for (int retry = 0; ; retry++) {
      String problem;
      try {
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 503) {
          return new Answer.Response(response.statusCode(), response.body());
        }
        if (retry == MAX_RETRIES) {
          return new Answer.Response(response.statusCode(), response.body());
        }
        problem = "the Gateway is unavailable (503)";
      } catch (ConnectException | HttpConnectTimeoutException e) {
        problem = "cannot connect to " + base + " (" + describe(e) + ")";
        if (retry == MAX_RETRIES) {
          return new Answer.None(GatewayError.noResponse(problem));
        }
      } catch (IOException e) {
        // Sent, perhaps acted upon, but unanswered (a timeout, a reset): not safe to repeat.
        return new Answer.None(GatewayError.noResponse(what + " got no answer: " + describe(e)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Answer.None(GatewayError.noResponse(what + " was interrupted"));
      }
      log.line(what + ": " + problem + "; trying again in " + backoff.toMillis() + " ms");
      try {
        pause.pause(backoff);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Answer.None(GatewayError.noResponse(what + " was interrupted"));
      }
      backoff = backoff.multipliedBy(2);
    }
  }

  // ---- parsing

  /**
   * The body read as {@code type} and passed to {@code ok}, or why it could not be, to {@code bad}.
   */
  private static <T, O> O parse(
      Answer.Response response,
      Class<T> type,
      Function<? super T, ? extends O> ok,
      Function<GatewayError, ? extends O> bad) {
    T value;
    try {
      value = JSON.readValue(response.body(), type);
    } catch (IOException | RuntimeException e) {
      return bad.apply(
          new GatewayError(
              response.status(),
              "invalid_response",
              "the Gateway's answer is not a " + type.getSimpleName() + ": " + shorten(describe(e)),
              false));
    }
    if (value == null) {
      return bad.apply(
          new GatewayError(
              response.status(),
              "invalid_response",
              "the Gateway's answer has no " + type.getSimpleName(),
              false));
    }
    return ok.apply(value);
  }

  private static String reasonOf(ErrorBody body) {
    return body.reason() != null && !body.reason().isBlank() ? body.reason() : body.message();
  }

  /** The first message along the cause chain, or what kind of failure it was. */
  private static String describe(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return t.getMessage();
      }
    }
    return e instanceof ConnectException ? "connection refused" : e.getClass().getSimpleName();
  }

  private static String shorten(String text) {
    return text.length() <= MAX_MESSAGE ? text : text.substring(0, MAX_MESSAGE) + "…";
  }
}
