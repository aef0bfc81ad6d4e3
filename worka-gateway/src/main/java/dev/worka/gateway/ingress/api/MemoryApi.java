package dev.worka.gateway.ingress.api;

import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.memory.ForgetMemory;
import dev.worka.gateway.memory.Memories;
import dev.worka.gateway.memory.Memory;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The operator's view of memory (docs/memory.md): {@code GET /v1/memories?agent=NAME&limit=N} lists
 * an agent's namespace, newest first, with each memory's provenance; {@code DELETE
 * /v1/memories/{id}} forgets one ({@link ForgetMemory}: a {@code memory.forget} gate, then the
 * store's delete). Operator token only; no agent route writes or reads memory here.
 */
public final class MemoryApi {
  private static final String AGENT = "[A-Za-z0-9_.-]{1,64}";

  private final OperatorAuth auth;
  private final Memories memories;

  public MemoryApi(String operatorToken, Memories memories) {
    this.auth = new OperatorAuth(operatorToken);
    this.memories = memories;
  }

  public void register(Router router) {
    router.add("GET", "/v1/memories", this::list);
    router.add("DELETE", "/v1/memories/{id}", this::forget);
  }

  private ApiResponse list(ApiRequest r) {
    auth.require(r);
    String agent = r.query("agent");
    if (agent == null || !agent.strip().matches(AGENT)) {
      throw invalid("agent is required: the agent whose memories to list (its name in the policy)");
    }
    int limit = 50;
    String limitText = r.query("limit");
    if (limitText != null && !limitText.isBlank()) {
      if (!limitText.strip().matches("[0-9]{1,4}")
          || Integer.parseInt(limitText.strip()) < 1
          || Integer.parseInt(limitText.strip()) > Memories.MAX_LIST) {
        throw invalid("limit must be a whole number from 1 to " + Memories.MAX_LIST);
      }
      limit = Integer.parseInt(limitText.strip());
    }
    List<Memory> listed;
    try {
      listed = memories.list(agent.strip(), limit);
    } catch (RuntimeException e) {
      throw unavailable(e.getMessage());
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("agent", agent.strip());
    body.put("store", memories.store());
    body.put("memories", listed.stream().map(MemoryApi::json).toList());
    return ApiResponse.ok(body);
  }

  private ApiResponse forget(ApiRequest r) {
    auth.require(r);
    String id = r.pathVariable("id");
    return switch (memories.forget().forget(id)) {
      case ForgetMemory.Outcome.Forgotten f -> {
        Map<String, Object> body = json(f.memory());
        body.remove("text");
        body.put("forgotten", true);
        body.put("deleted", f.deleted());
        body.put("gate_id", f.gateId().toString());
        yield ApiResponse.ok(body);
      }
      case ForgetMemory.Outcome.NotFound n ->
          throw new ApiException(
              404,
              ErrorCodes.NOT_FOUND,
              "no memory " + n.id() + " (list an agent's with GET /v1/memories?agent=NAME)");
      case ForgetMemory.Outcome.Unavailable u -> throw unavailable(u.why());
    };
  }

  private static Map<String, Object> json(Memory m) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("memory_id", m.id());
    out.put("agent", m.agent());
    out.put("run_id", m.runId() == null ? null : m.runId().toString());
    out.put("step_id", m.stepId() == null ? null : m.stepId().toString());
    out.put("created_at", m.createdAt() == null ? null : m.createdAt().toString());
    out.put("text", m.text());
    return out;
  }

  private static ApiException unavailable(String why) {
    return new ApiException(
        503, ErrorCodes.UNAVAILABLE, "the memory store did not answer: " + why + "; try again");
  }

  private static ApiException invalid(String message) {
    return new ApiException(
        422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
  }
}
