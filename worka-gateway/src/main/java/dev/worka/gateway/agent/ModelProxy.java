package dev.worka.gateway.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateActions;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.Permissions;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.skill.model.AnthropicMessages;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/agent/model/v1/messages}: the Anthropic Messages API, proxied for workers that
 * hold no model key. A worker points the official SDK at {@code $WORKA_GATEWAY_URL/v1/agent/model}
 * with its step token as the key; the SDK sends it as {@code Authorization: Bearer}, which is read
 * exactly as on every other agent route.
 *
 * <p>In order: the token (401), the body (413 over {@link #MAX_REQUEST_BYTES}, 422 when it is not
 * a JSON object of the fields below, 400 for {@code "stream": true}), the permission {@code
 * model.invoke} (403 + deny gate), then — in one transaction that holds the run and step — whether
 * the attempt still runs and whether the run's model tokens ({@code limits.max_model_tokens_per_run})
 * are spent (403 {@code policy_denied} + deny gate, before any upstream call), and the allow gate,
 * committed before the request leaves. The request goes out with the model the Gateway is
 * configured with (whatever it named) and {@code max_tokens} cut to what is left of the budget;
 * the provider's answer comes back as it is, and its {@code usage} is recorded against the run.
 *
 * <p>What a worker may put in a request is the Messages API's plain fields. Server tools (a tool
 * with a {@code type}, such as web search or fetch, code execution) and MCP connectors would have
 * the provider act for the worker outside the Gateway's policy, so they are refused; so are
 * fields this route does not know. {@code anthropic-beta} headers are not passed on, for the same
 * reason.
 *
 * <p>The budget is checked before each call, one call of the run at a time, against the tokens its
 * recorded calls used plus those reserved by its calls under way: an allowed call reserves its
 * {@code max_tokens}, cut to what is left, until its usage is recorded, so calls of several steps
 * at the same moment share the remainder instead of each spending it. A call's own input can still
 * take the run past the budget (its size is known only from the provider's answer); the next call
 * then is denied.
 */
final class ModelProxy {
  private static final Logger log = LoggerFactory.getLogger(ModelProxy.class);

  static final String PATH = "/v1/agent/model/v1/messages";
  static final long MAX_REQUEST_BYTES = 2L * 1024 * 1024;

  /** The request fields passed on; anything else is refused. */
  static final Set<String> FIELDS = Set.of("model", "max_tokens", "messages", "system", "tools", "tool_choice",
      "temperature", "top_p", "top_k", "stop_sequences", "metadata", "stream", "thinking");

  private final DataSource dataSource;
  private final Authenticator auth;
  private final Denials denials;
  private final AuditLog audit;
  private final ModelUsageStore usage;
  private final Optional<AnthropicMessages> model;
  private final InstantSource clock;

  ModelProxy(DataSource dataSource, Authenticator auth, Denials denials, AuditLog audit, ModelUsageStore usage,
      Optional<AnthropicMessages> model, InstantSource clock) {
    this.dataSource = dataSource;
    this.auth = auth;
    this.denials = denials;
    this.audit = audit;
    this.usage = usage;
    this.model = model;
    this.clock = clock;
  }

  ApiResponse messages(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "model", false);
    request.requireJson();
    JsonNode parsed;
    try {
      parsed = Json.STRICT.readTree(new String(request.body(), StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      throw invalid("the body is not valid JSON: " + e.getOriginalMessage());
    }
    JsonNode body = auth.checkIdentity(request, caller, GateActions.MODEL_INVOKE, parsed);
    ObjectNode message = checked(body);

    String agent = caller.agent();
    if (PolicyDecider.permission(caller.policy().policy(), agent, Permissions.MODEL_INVOKE)
        instanceof Decision.Deny d) {
      Gate gate = auth.deny(caller.run(), caller.step(), caller.claims(), GateActions.MODEL_INVOKE, null, d.reason());
      throw new ApiException(403, new ErrorBody(ErrorCodes.POLICY_DENIED, d.reason(), gate.id().toString(),
          d.reason(), null));
    }
    if (model.isEmpty()) {
      throw new ApiException(503, ErrorCodes.UNAVAILABLE,
          "this Gateway has no model to proxy (WORKA_MODEL=scripted); its operator sets WORKA_MODEL=anthropic");
    }
    AnthropicMessages upstream = model.get();
    int budget = caller.policy().policy().limits().maxModelTokensPerRun();
    int policyVersion = caller.policy().version();

    long asked = message.get("max_tokens").longValue();
    Decided decided;
    try {
      decided = Transactions.inTransaction(dataSource, c -> {
        Optional<String> ended = auth.lockStillRunning(c, caller, false);
        if (ended.isPresent()) {
          return new Ended(ended.get());
        }
        usage.lockBudget(c, caller.run().id());
        Instant now = clock.instant();
        long used = usage.tokensOfRun(c, caller.run().id());
        long reserved = usage.reservedTokens(c, caller.run().id(), now);
        if (used + reserved >= budget) {
          String why = "the run's model token budget is spent: " + used + " of " + budget + " tokens used"
              + (reserved > 0 ? " and " + reserved + " reserved by its calls under way" : "")
              + " (limits.max_model_tokens_per_run, policy v" + policyVersion + ")";
          return new Denied(denials.record(c, caller.run(), caller.step().id(), caller.claims().attempt(), agent,
              GateActions.MODEL_INVOKE, null, why), why);
        }
        long granted = Math.min(asked, budget - used - reserved);
        Gate gate = audit.recordGate(c, new AuditLog.Decision(GateActions.MODEL_INVOKE, GateStatus.ALLOW, agent,
            caller.run().id(), caller.step().id(), caller.claims().attempt(), null,
            "agent " + agent + " holds model.invoke; model " + upstream.model() + ", " + used + " of " + budget
                + " tokens of the run used" + (reserved > 0 ? ", " + reserved + " reserved by its calls under way" : "")
                + "; this call may use " + granted + " output tokens (policy v" + policyVersion + ")",
            caller.run().policyManifestId(), caller.run().traceId()));
        usage.reserve(c, gate.id(), caller.run().id(), granted, now);
        return new Allowed(gate, granted);
      });
    } catch (Denials.AttemptEnded e) {
      throw auth.staleToken(caller.run(), caller.step().id(), caller.claims(), "model", e.getMessage());
    }
    Allowed allowed = switch (decided) {
      case Ended e -> throw auth.staleToken(caller.run(), caller.step().id(), caller.claims(), "model", e.why());
      case Denied d -> throw new ApiException(403, new ErrorBody(ErrorCodes.POLICY_DENIED, d.why(),
          d.gate().id().toString(), d.why(), null));
      case Allowed a -> a;
    };

    message.put("model", upstream.model());
    message.put("max_tokens", allowed.granted());
    AnthropicMessages.Answer answer =
        upstream.send(Json.STRICT.writeValueAsBytes(message), request.header("anthropic-version"));

    int status = 0;
    long input = 0;
    long output = 0;
    JsonNode reply = null;
    String problem = null;
    switch (answer) {
      case AnthropicMessages.Answer.Unreachable u -> problem = u.why();
      case AnthropicMessages.Answer.Reply r -> {
        status = r.status();
        try {
          reply = Json.LENIENT.readTree(r.body());
        } catch (JsonProcessingException e) {
          reply = null;
        }
        if (reply == null || !reply.isObject()) {
          problem = "the model provider answered " + r.status() + " without a JSON object";
        } else {
          JsonNode u = reply.path("usage");
          input = tokens(u, "input_tokens") + tokens(u, "cache_creation_input_tokens")
              + tokens(u, "cache_read_input_tokens");
          output = tokens(u, "output_tokens");
        }
      }
    }
    ModelUsageStore.Usage row = new ModelUsageStore.Usage(UUID.randomUUID(), caller.run().id(), caller.step().id(),
        caller.claims().attempt(), agent, allowed.gate().id(), upstream.model(), status, input, output,
        clock.instant());
    Transactions.inTransaction(dataSource, c -> {
      usage.record(c, row);
      return null;
    });
    log.info("model call of run {} step {} ({}): {} answered {}, {} input + {} output tokens", caller.run().id(),
        caller.step().id(), agent, upstream.model(), status == 0 ? "nothing" : status, input, output);

    if (problem != null) {
      throw new ApiException(502, ErrorCodes.UNAVAILABLE, problem);
    }
    if (status == 401 || status == 403) {
      // The provider refused the Gateway's key, not the worker's token: not the worker's 401/403.
      throw new ApiException(502, ErrorCodes.UNAVAILABLE,
          "the model provider refused the Gateway's credentials (" + status + "); its operator checks ANTHROPIC_API_KEY");
    }
    return new ApiResponse.Json(status, reply, Map.of());
  }

  /** What the decision in the transaction came to. */
  private sealed interface Decided {}

  private record Allowed(Gate gate, long granted) implements Decided {}

  private record Denied(Gate gate, String why) implements Decided {}

  private record Ended(String why) implements Decided {}

  /** The body as a request this route passes on, or 400/422 saying why not. */
  private static ObjectNode checked(JsonNode body) {
    if (!(body instanceof ObjectNode message)) {
      throw invalid("the body must be a Messages API request (a JSON object)");
    }
    List<String> violations = new ArrayList<>();
    message.fieldNames().forEachRemaining(f -> {
      if (!FIELDS.contains(f)) {
        violations.add("field " + clip(f) + " is not passed on by the Gateway (allowed: "
            + String.join(", ", new java.util.TreeSet<>(FIELDS)) + ")");
      }
    });
    JsonNode maxTokens = message.get("max_tokens");
    if (maxTokens == null || !maxTokens.canConvertToLong() || !maxTokens.isIntegralNumber()
        || maxTokens.longValue() < 1) {
      violations.add("max_tokens must be a whole number of at least 1");
    }
    if (!message.path("messages").isArray()) {
      violations.add("messages must be an array");
    }
    JsonNode tools = message.get("tools");
    if (tools != null && !tools.isArray()) {
      violations.add("tools must be an array");
    } else if (tools != null) {
      for (JsonNode tool : tools) {
        String type = tool.path("type").asText("custom");
        if (!tool.isObject() || !type.equals("custom")) {
          violations.add("tool " + clip(tool.path("name").asText("?")) + " is a server tool (type " + clip(type)
              + "): the provider would act outside the Gateway's policy; only custom tools are passed on");
        }
      }
    }
    if (!violations.isEmpty()) {
      throw new ApiException(422, new ErrorBody(ErrorCodes.INVALID_BODY,
          "the Gateway does not pass this request on: " + String.join("; ", violations), null, null, violations));
    }
    if (message.path("stream").asBoolean(false)) {
      throw new ApiException(400, ErrorCodes.INVALID_BODY,
          "streaming is not supported by the Gateway's model route: send \"stream\": false (the SDK's create, not"
              + " createStreaming)");
    }
    return message;
  }

  private static long tokens(JsonNode usage, String field) {
    JsonNode n = usage.path(field);
    return n.canConvertToLong() && n.longValue() > 0 ? n.longValue() : 0;
  }

  private static String clip(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "…" : s;
  }

  private static ApiException invalid(String message) {
    return new ApiException(422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
  }
}
