package dev.worka.gateway.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.mediation.Caller;
import dev.worka.gateway.runtime.wasm.AgentCalls;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent API's routes for a worker inside this process (a {@code wasm} module, through its
 * runtime's host functions): each call authenticates the step token with the routes' {@link
 * Authenticator}, checks the identity fields of its body, takes the same decision through the same
 * {@link AgentApi} method and answers the status and JSON body the route would. Nothing here
 * decides; there is no second way in.
 */
final class InProcessAgentCalls implements AgentCalls {
  private static final Logger log = LoggerFactory.getLogger(InProcessAgentCalls.class);

  private final AgentApi api;
  private final Authenticator auth;

  InProcessAgentCalls(AgentApi api, Authenticator auth) {
    this.api = api;
    this.auth = auth;
  }

  @FunctionalInterface
  private interface Call {
    ApiResponse answer() throws Exception;
  }

  @Override
  public Answer context(String token) {
    return answered(
        () -> {
          Caller caller = auth.authenticateToken(token, "context", false);
          auth.checkIdentity(caller, "context", null);
          return ApiResponse.ok(api.envelope(caller));
        });
  }

  @Override
  public Answer skill(String token, String skill, byte[] body) {
    return answered(
        () -> {
          Caller caller = auth.authenticateToken(token, "skills/" + skill, false);
          JsonNode parsed = parse(body, AgentApi.MAX_SKILL_CALL_BYTES);
          parsed = auth.checkIdentity(caller, GateAction.SKILL_INVOKE.sql(), parsed);
          return api.skillCall(caller, skill, parsed);
        });
  }

  @Override
  public Answer result(String token, byte[] body) {
    return answered(
        () -> {
          Caller caller = auth.authenticateToken(token, "result", true);
          JsonNode parsed = parse(body, AgentApi.MAX_RESULT_BYTES);
          return api.result(caller, auth.checkIdentity(caller, "agent.result", parsed));
        });
  }

  private static Answer answered(Call call) {
    try {
      return switch (call.answer()) {
        case ApiResponse.Json j -> new Answer(j.status(), json(j.body()));
        case ApiResponse.Text t ->
            new Answer(t.status(), t.body() == null ? new byte[0] : bytes(t.body()));
        case ApiResponse.Bytes b -> new Answer(b.status(), b.body());
        case ApiResponse.Streaming s ->
            throw new IllegalStateException("an agent route streamed to an in-process worker");
      };
    } catch (ApiException e) {
      return new Answer(e.status(), json(e.body()));
    } catch (Exception e) {
      log.error("in-process agent call failed", e);
      return new Answer(
          500, json(ErrorBody.of(ErrorCodes.INTERNAL, "internal error; see the Gateway log")));
    }
  }

  /** The body as JSON, refused as the routes refuse it: {@code 413} too large, {@code 422}. */
  private static JsonNode parse(byte[] body, long maxBytes) {
    if (body.length > maxBytes) {
      throw new ApiException(
          413, ErrorCodes.TOO_LARGE, "the body is larger than " + maxBytes + " bytes");
    }
    try {
      return Json.STRICT.readTree(new String(body, StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      String message = "the body is not valid JSON: " + e.getOriginalMessage();
      throw new ApiException(
          422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
    }
  }

  private static byte[] json(Object body) {
    if (body == null) {
      return new byte[0];
    }
    try {
      return Json.STRICT.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an agent answer did not serialize: " + e.getMessage(), e);
    }
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
