package dev.worka.gateway.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.invocation.ModelUsageStore;
import dev.worka.gateway.mediation.Attempts;
import dev.worka.gateway.mediation.Caller;
import dev.worka.gateway.mediation.Denials;
import dev.worka.gateway.mediation.Refusal;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.Permissions;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.skill.model.AnthropicMessages;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/agent/model/v1/messages}: the Anthropic Messages API, proxied for workers that
 * hold no model key. A worker points the official SDK at {@code $WORKA_GATEWAY_URL/v1/agent/model}
 * with its step token as the key; the token is read from {@code Authorization: Bearer} (what the
 * Java SDK sends) or {@code x-api-key} (what the TypeScript and Python SDKs send), verified exactly
 * as on every other agent route; both at once with different tokens is a {@code 401}.
 *
 * <p>In order: the token (401), the body (413 over {@link #MAX_REQUEST_BYTES}, 422 {@code
 * invalid_body} when it is not a JSON object with {@code max_tokens} and {@code messages}, 400 for
 * {@code "stream": true}), the permission {@code model.invoke} (403 + deny gate), the content
 * ({@link MessagesAllowlist}: 422 {@code content_refused} + deny gate for anything the provider
 * would fetch or run, or that the list does not name), then — in one transaction that holds the run
 * and step, and the run's budget lock — whether the attempt still runs, whether the step has {@code
 * WORKA_MODEL_CALLS_PER_STEP} calls under way already (429 {@code too_many_requests} + deny gate),
 * and whether the run's model tokens ({@code limits.max_model_tokens_per_run}) leave room for this
 * call's input ceiling plus at least one output token (403 {@code policy_denied} + deny gate); then
 * the allow gate with the call's reservation (its input ceiling plus its {@code max_tokens}, cut to
 * what is left), committed before the request leaves. Nothing is sent upstream before that.
 *
 * <p>The request goes out with the model the Gateway is configured with and the cut {@code
 * max_tokens}. A successful answer comes back as it is and its {@code usage} is recorded; a call
 * whose request may have reached the provider but brought no usable usage back is charged its whole
 * reservation. An error answer never comes back as the provider wrote it: the worker (and through
 * it the run's story) gets a short reason in the Gateway's words ({@link #upstreamError}), without
 * the provider's body, URLs, request ids or anything echoed back.
 *
 * <p>So a run's recorded tokens never pass its budget as long as each call's input stays within its
 * ceiling (bytes of the request, images at {@link MessagesAllowlist#IMAGE_TOKENS}), and its calls
 * under way can never together reserve more than the budget.
 */
final class ModelProxy {
  private static final Logger log = LoggerFactory.getLogger(ModelProxy.class);

  static final String PATH = "/v1/agent/model/v1/messages";
  static final long MAX_REQUEST_BYTES = 2L * 1024 * 1024;

  /** The request fields passed on; anything else is refused. */
  static final Set<String> FIELDS = MessagesAllowlist.FIELDS;

  private static final String RESERVED =
      " reserved by its calls not yet counted (under way, or cut off without an answer)";

  /** Longest part of a provider's own words passed on in a cleaned reason. */
  static final int MAX_UPSTREAM_REASON = 200;

  private static final Pattern ERROR_TYPE = Pattern.compile("[a-z_]{1,40}");

  private final DataSource dataSource;
  private final Authenticator auth;
  private final Attempts attempts;
  private final Denials denials;
  private final AuditLog audit;
  private final ModelUsageStore usage;
  private final Optional<AnthropicMessages> model;
  private final OutputCleaner cleaner;
  private final InstantSource clock;
  private final Tracing tracing;

  ModelProxy(
      DataSource dataSource,
      Authenticator auth,
      Attempts attempts,
      Denials denials,
      AuditLog audit,
      ModelUsageStore usage,
      Optional<AnthropicMessages> model,
      OutputCleaner cleaner,
      InstantSource clock,
      Tracing tracing) {
    this.tracing = tracing;
    this.dataSource = dataSource;
    this.auth = auth;
    this.attempts = attempts;
    this.denials = denials;
    this.audit = audit;
    this.usage = usage;
    this.model = model;
    this.cleaner = cleaner;
    this.clock = clock;
  }

  ApiResponse messages(ApiRequest request) throws Exception {
    Caller caller = auth.authenticateApiKey(request, "model");
    request.requireJson();
    JsonNode parsed;
    try {
      parsed = Json.STRICT.readTree(new String(request.body(), StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      throw invalid("the body is not valid JSON: " + e.getOriginalMessage());
    }
    JsonNode body = auth.checkIdentity(request, caller, GateAction.MODEL_INVOKE.sql(), parsed);
    ObjectNode message = checked(body);

    String agent = caller.agent();
    if (PolicyDecider.permission(caller.policy().policy(), agent, Permissions.MODEL_INVOKE)
        instanceof Decision.Deny d) {
      Gate gate = auth.deny(caller, GateAction.MODEL_INVOKE, null, d.reason());
      throw new ApiException(
          403,
          new ErrorBody(
              ErrorCodes.POLICY_DENIED, d.reason(), gate.id().toString(), d.reason(), null));
    }
    MessagesAllowlist.Verdict verdict = MessagesAllowlist.check(message);
    if (!verdict.passed()) {
      String why =
          "the model request holds what the Gateway does not pass on: "
              + String.join("; ", verdict.refused());
      Gate gate = auth.deny(caller, GateAction.MODEL_INVOKE, null, why);
      throw new ApiException(
          422,
          new ErrorBody(
              ErrorCodes.CONTENT_REFUSED,
              why + " (docs/models.md says what" + " passes)",
              gate.id().toString(),
              why,
              verdict.refused()));
    }
    if (model.isEmpty()) {
      throw new ApiException(
          503,
          ErrorCodes.UNAVAILABLE,
          "this Gateway has no model to proxy (WORKA_MODEL=scripted); its operator sets WORKA_MODEL=anthropic");
    }
    AnthropicMessages upstream = model.get();
    int budget = caller.policy().policy().limits().maxModelTokensPerRun();
    int policyVersion = caller.policy().version();
    int callsPerStep = upstream.callsPerStep();

    long asked = message.get("max_tokens").longValue();
    message.put("model", upstream.model());
    // Its size with max_tokens as asked: the request sent (max_tokens cut, never longer) is no
    // larger.
    long input =
        MessagesAllowlist.inputTokenCeiling(Json.STRICT.writeValueAsBytes(message).length, verdict);
    Decided decided =
        attempts.decide(
            caller,
            false,
            "model",
            c -> {
              usage.lockBudget(c, caller.run().id());
              Instant now = clock.instant();
              int underWay = usage.callsUnderWay(c, caller.run().id(), caller.step().id(), now);
              if (underWay >= callsPerStep) {
                String why =
                    "step "
                        + caller.step().id()
                        + " has "
                        + underWay
                        + " model calls under way, the most one step"
                        + " may have at once (WORKA_MODEL_CALLS_PER_STEP="
                        + callsPerStep
                        + "); retry when one has ended";
                return new Busy(deny(c, caller, agent, why), why);
              }
              long used = usage.tokensOfRun(c, caller.run().id());
              long reserved = usage.reservedTokens(c, caller.run().id());
              long left = budget - used - reserved;
              if (left - input < 1) {
                String why =
                    (used + reserved >= budget
                            ? "the run's model token budget is spent: "
                            : "the run's model token budget has no room for this call's input (at most "
                                + input
                                + " tokens, counted from its size) and any output: ")
                        + used
                        + " of "
                        + budget
                        + " tokens used"
                        + (reserved > 0 ? " and " + reserved + RESERVED : "")
                        + " (limits.max_model_tokens_per_run, policy v"
                        + policyVersion
                        + ")";
                return new Denied(deny(c, caller, agent, why), why);
              }
              long granted = Math.min(asked, left - input);
              Gate gate =
                  audit.recordGate(
                      c,
                      new AuditLog.Decision(
                          GateAction.MODEL_INVOKE,
                          GateStatus.ALLOW,
                          agent,
                          caller.run().id(),
                          caller.step().id(),
                          caller.claims().attempt(),
                          null,
                          "agent "
                              + agent
                              + " holds model.invoke; model "
                              + upstream.model()
                              + ", "
                              + used
                              + " of "
                              + budget
                              + " tokens of the run used"
                              + (reserved > 0 ? ", " + reserved + RESERVED : "")
                              + "; this call reserves "
                              + (input + granted)
                              + " (input at most "
                              + input
                              + ", output at most "
                              + granted
                              + ") (policy v"
                              + policyVersion
                              + ")",
                          caller.run().policyManifestId(),
                          caller.run().traceId()));
              usage.reserve(c, gate.id(), caller.run().id(), input + granted, now);
              return new Allowed(gate, granted);
            },
            Ended::new);
    Allowed allowed =
        switch (decided) {
          case Ended e -> throw AgentErrors.of(e.refusal());
          case Busy b ->
              throw new ApiException(
                  429,
                  new ErrorBody(
                      ErrorCodes.TOO_MANY_REQUESTS,
                      b.why(),
                      b.gate().id().toString(),
                      b.why(),
                      null),
                  Map.of("Retry-After", "1"));
          case Denied d ->
              throw new ApiException(
                  403,
                  new ErrorBody(
                      ErrorCodes.POLICY_DENIED, d.why(), d.gate().id().toString(), d.why(), null));
          case Allowed a -> a;
        };

    message.put("max_tokens", allowed.granted());
    // The model call's span (GenAI conventions), under the step attempt that made it.
    Span span =
        tracing.model(
            caller.run().traceId(),
            caller.run().id(),
            caller.step().id(),
            caller.claims().attempt(),
            agent,
            "anthropic",
            upstream.model());
    span.setAttribute("gen_ai.request.max_tokens", allowed.granted());
    span.setAttribute("worka.gate.id", allowed.gate().id().toString());
    tracing.content(span, Tracing.INPUT, Json.write(message.path("messages")));
    AnthropicMessages.Answer answer;
    try {
      answer =
          upstream.send(
              Json.STRICT.writeValueAsBytes(message), request.header("anthropic-version"));
    } catch (RuntimeException | Error e) {
      span.setStatus(StatusCode.ERROR);
      span.end();
      throw e;
    }

    int status = 0;
    long inputTokens = 0;
    long outputTokens = 0;
    boolean charged = false;
    JsonNode reply = null;
    ApiException failure = null;
    switch (answer) {
      case AnthropicMessages.Answer.Unreachable u -> {
        failure = new ApiException(502, ErrorCodes.UNAVAILABLE, u.why());
        charged = u.maybeSent();
      }
      case AnthropicMessages.Answer.Reply r -> {
        status = r.status();
        try {
          reply = Json.LENIENT.readTree(r.body());
        } catch (JsonProcessingException e) {
          reply = null;
        }
        JsonNode u =
            reply == null
                ? com.fasterxml.jackson.databind.node.MissingNode.getInstance()
                : reply.path("usage");
        boolean reported =
            u.isObject()
                && u.path("input_tokens").canConvertToLong()
                && u.path("output_tokens").canConvertToLong();
        inputTokens =
            tokens(u, "input_tokens")
                + tokens(u, "cache_creation_input_tokens")
                + tokens(u, "cache_read_input_tokens");
        outputTokens = tokens(u, "output_tokens");
        if (status < 200 || status > 299) {
          failure = upstreamError(status, reply);
        } else if (reply == null || !reply.isObject()) {
          failure =
              new ApiException(
                  502,
                  ErrorCodes.UNAVAILABLE,
                  "the model provider answered " + status + " without a JSON object");
          charged = true;
        } else if (!reported) {
          // Served, perhaps billed, but not counted by the provider: charged what it reserved.
          charged = true;
        }
      }
    }
    if (charged) {
      inputTokens = input;
      outputTokens = allowed.granted();
    }
    ModelUsageStore.Usage row =
        new ModelUsageStore.Usage(
            UUID.randomUUID(),
            caller.run().id(),
            caller.step().id(),
            caller.claims().attempt(),
            agent,
            allowed.gate().id(),
            upstream.model(),
            status,
            inputTokens,
            outputTokens,
            clock.instant(),
            charged ? ModelUsageStore.Usage.BY_RESERVATION : ModelUsageStore.Usage.BY_PROVIDER);
    Transactions.inTransaction(
        dataSource,
        c -> {
          usage.record(c, row);
          return null;
        });
    log.info(
        "model call of run {} step {} ({}): {} answered {}, {} input + {} output tokens{}",
        caller.run().id(),
        caller.step().id(),
        agent,
        upstream.model(),
        status == 0 ? "nothing" : status,
        inputTokens,
        outputTokens,
        charged ? " (charged its reservation: no usage came back)" : "");
    tracing.metrics().modelTokens(agent, inputTokens, outputTokens);
    Tracing.usage(
        span, reply == null ? null : reply.path("model").asText(null), inputTokens, outputTokens);
    span.setAttribute("worka.model.charged_by_reservation", charged);
    if (status != 0) {
      span.setAttribute("http.response.status_code", (long) status);
    }
    if (failure != null) {
      span.setStatus(StatusCode.ERROR);
    } else if (reply != null) {
      tracing.content(span, Tracing.OUTPUT, Json.write(reply.path("content")));
    }
    span.end();
    if (failure != null) {
      throw failure;
    }
    return new ApiResponse.Json(status, reply, Map.of());
  }

  /** The {@code model.invoke} deny gate of a call refused in its decision transaction. */
  private Gate deny(Connection c, Caller caller, String agent, String why) throws SQLException {
    return denials.record(
        c,
        caller.run(),
        caller.step().id(),
        caller.claims().attempt(),
        agent,
        GateAction.MODEL_INVOKE,
        null,
        why);
  }

  /**
   * The worker's answer to an error status of the provider: a short reason in the Gateway's words —
   * the status, the error type when it is one of the API's plain names, and only for a request the
   * provider refused as invalid (the worker's to fix) its message, cleaned of secrets, URLs and
   * request ids and cut short. The provider's body itself never reaches the worker.
   */
  private ApiException upstreamError(int status, JsonNode reply) {
    String type = reply == null ? "" : reply.path("error").path("type").asText("");
    String shownType = ERROR_TYPE.matcher(type).matches() ? " " + type : "";
    String head = "the model provider answered " + status + shownType;
    return switch (status) {
      case 400, 413, 422 -> {
        String said = reply == null ? "" : reply.path("error").path("message").asText("");
        String reason = cleaner.upstreamReason(said, MAX_UPSTREAM_REASON);
        yield new ApiException(
            400,
            ErrorCodes.UPSTREAM_REJECTED,
            head
                + ": it refused the request"
                + (reason.isEmpty() ? "" : " (" + reason + ")")
                + "; change the request before sending it again");
      }
      case 401, 403 ->
          new ApiException(
              502,
              ErrorCodes.UNAVAILABLE,
              head
                  + ": it refused the Gateway's credentials; its operator checks ANTHROPIC_API_KEY");
      case 404 ->
          new ApiException(
              502,
              ErrorCodes.UNAVAILABLE,
              head
                  + ": it does not serve this; its operator checks ANTHROPIC_BASE_URL and WORKA_ANTHROPIC_MODEL");
      case 429 ->
          new ApiException(
              429,
              ErrorBody.of(
                  ErrorCodes.UNAVAILABLE,
                  head + ": it is limiting the Gateway's rate; retry later"),
              Map.of("Retry-After", "10"));
      case 500, 502, 503, 504, 529 ->
          new ApiException(
              503, ErrorCodes.UNAVAILABLE, head + ": it has a problem of its own; retry later");
      default ->
          new ApiException(
              502,
              ErrorCodes.UNAVAILABLE,
              head
                  + ": not an answer the Gateway passes on; its operator checks the provider's account and"
                  + " ANTHROPIC_BASE_URL");
    };
  }

  /** What the decision in the transaction came to. */
  private sealed interface Decided {}

  private record Allowed(Gate gate, long granted) implements Decided {}

  private record Denied(Gate gate, String why) implements Decided {}

  private record Ended(Refusal.AttemptEnded refusal) implements Decided {}

  private record Busy(Gate gate, String why) implements Decided {}

  /**
   * The body as a Messages request (an object with {@code max_tokens} and {@code messages}), or
   * 400/422 saying why not. What it may hold is {@link MessagesAllowlist}'s to say.
   */
  private static ObjectNode checked(JsonNode body) {
    if (!(body instanceof ObjectNode message)) {
      throw invalid("the body must be a Messages API request (a JSON object)");
    }
    List<String> violations = new ArrayList<>();
    JsonNode maxTokens = message.get("max_tokens");
    if (maxTokens == null
        || !maxTokens.canConvertToLong()
        || !maxTokens.isIntegralNumber()
        || maxTokens.longValue() < 1) {
      violations.add("max_tokens must be a whole number of at least 1");
    }
    if (!message.path("messages").isArray()) {
      violations.add("messages must be an array");
    }
    if (!violations.isEmpty()) {
      throw new ApiException(
          422,
          new ErrorBody(
              ErrorCodes.INVALID_BODY,
              "the Gateway does not pass this request on: " + String.join("; ", violations),
              null,
              null,
              violations));
    }
    if (message.path("stream").asBoolean(false)) {
      throw new ApiException(
          400,
          ErrorCodes.INVALID_BODY,
          "streaming is not supported by the Gateway's model route: send \"stream\": false (the SDK's create, not"
              + " createStreaming)");
    }
    return message;
  }

  private static long tokens(JsonNode usage, String field) {
    JsonNode n = usage.path(field);
    return n.canConvertToLong() && n.longValue() > 0 ? n.longValue() : 0;
  }

  private static ApiException invalid(String message) {
    return new ApiException(
        422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
  }
}
