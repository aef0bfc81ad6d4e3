package dev.worka.gateway.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.mediation.AcceptResult;
import dev.worka.gateway.mediation.Attempts;
import dev.worka.gateway.mediation.Caller;
import dev.worka.gateway.mediation.IdentityCheck;
import dev.worka.gateway.mediation.Refusal;
import dev.worka.gateway.mediation.ResultSubmission;
import dev.worka.gateway.mediation.SkillCall;
import dev.worka.gateway.mediation.SkillMediator;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.schema.McpSchemaValidator;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpStatelessServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpStatelessServerHandler;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpStatelessServerTransport;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import reactor.core.publisher.Mono;

/**
 * {@code /v1/agent/mcp}: the caller's step's skills as an MCP server (streamable HTTP, stateless
 * mode: no session, every request carries the step token), so an agent that speaks MCP can do a
 * worker's job without knowing the {@code /v1/agent/skills} route.
 *
 * <p>The MCP Java SDK's stateless server does the protocol (initialize and version negotiation,
 * ping, tools/list, tools/call, errors for everything else); this class is its transport on the
 * Gateway's own router, so the route keeps what every agent route has: the token check of {@link
 * Authenticator} (401, and the deny gate of an ended attempt), the body limit, the error body. The
 * SDK's servlet transports are not used: they would need a servlet container beside the router,
 * whose body limits, error answers and 503s would differ from every other route's.
 *
 * <ul>
 *   <li><b>tools/list</b> shows exactly the skills the step could call: those {@link
 *       PolicyDecider#skill(dev.worka.gateway.policy.CompiledPolicy, String, List, String)} grants
 *       (the agent holds {@code skill.invoke}, the skill is on its allowlist and among the step's
 *       accepted skills), each with its description and input schema. A planner step sees none.
 *   <li><b>tools/call</b> is {@link SkillMediator#call}, the path of {@code POST
 *       /v1/agent/skills/{skill}}: the same checks, gates, invocation records, limits and output
 *       cleaning, its {@link SkillCall} answered with one switch. Allowed: the cleaned output as
 *       {@code structuredContent} and as JSON text, with {@code _meta} {@value #META_INVOCATION_ID}
 *       and {@value #META_REPLAYED}. Refused (denied, invalid input, unavailable, conflict,
 *       upstream failure): a result with {@code isError} whose text is the REST error body ({@code
 *       error}, {@code message}, {@code gate_id}, {@code reason}, {@code violations}), so the agent
 *       can read why. A token that stops working mid-call (its attempt ended) is an HTTP 401, as on
 *       every route.
 *   <li>An idempotency key goes in the request's {@code _meta} as {@value #META_IDEMPOTENCY_KEY}
 *       (the REST body's {@code idempotency_key}, same characters and length, the same rule: a key
 *       stands for one input).
 *   <li>{@value #SUBMIT_RESULT} is {@code POST /v1/agent/result}: its arguments pass the same
 *       identity check ({@link Attempts#checkIdentity}) and the same recording ({@link
 *       AcceptResult}).
 * </ul>
 *
 * <p>A request whose {@code Host}, or {@code Origin} when present, is not one of the Gateway's own
 * names ({@link GatewayNames}) is refused ({@code 403 host_not_allowed} / {@code
 * origin_not_allowed}, and a deny gate when its token identifies a running step), as the MCP
 * transport asks of servers against DNS rebinding.
 */
final class McpSkillServer {
  static final String PATH = "/v1/agent/mcp";
  static final String META_IDEMPOTENCY_KEY = "dev.worka/idempotency_key";
  static final String META_INVOCATION_ID = "dev.worka/invocation_id";
  static final String META_REPLAYED = "dev.worka/replayed";
  private static final String EXCHANGE = "dev.worka/exchange";
  private static final String KEY_PATTERN = "[A-Za-z0-9._:@/+=-]{1,200}";

  /** The tool that ends the step: the result of {@code POST /v1/agent/result}, as a tool call. */
  static final String SUBMIT_RESULT = "worka.submit_result";

  private final Authenticator auth;
  private final Attempts attempts;
  private final SkillMediator mediator;
  private final AcceptResult results;
  private final GatewayNames names;
  private final McpJsonMapper json = McpJsonDefaults.getMapper();
  private final RouterTransport transport = new RouterTransport();
  private final Set<String> tools;

  McpSkillServer(
      Authenticator auth,
      Attempts attempts,
      SkillMediator mediator,
      SkillRegistry skills,
      AcceptResult results,
      GatewayNames names) {
    this.auth = auth;
    this.attempts = attempts;
    this.mediator = mediator;
    this.results = results;
    this.names = names;
    List<SyncToolSpecification> specs =
        new java.util.ArrayList<>(skills.all().stream().map(this::tool).toList());
    specs.add(submitResultTool());
    this.tools = specs.stream().map(s -> s.tool().name()).collect(Collectors.toUnmodifiableSet());
    // Building the server hands its handler to the transport, which keeps it: nothing else is
    // needed of the server.
    var unused =
        McpServer.sync(transport)
            .serverInfo("worka-gateway", "0.1.0")
            .instructions(
                "The tools are the skills of your step. Every call is checked against the Worka policy and"
                    + " recorded; a refused call returns isError with the reason and gate_id. Put an idempotency key in"
                    + " the call's _meta as \""
                    + META_IDEMPOTENCY_KEY
                    + "\" to make a repeat return the recorded output."
                    + " End your step with the tool "
                    + SUBMIT_RESULT
                    + " (or POST /v1/agent/result).")
            .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
            .jsonMapper(json)
            .jsonSchemaValidator(new McpSchemaValidator())
            // The mediator validates input against the skill's schema and records the refusal as a
            // gate.
            .validateToolInputs(false)
            // Handlers run on the request's own (virtual) thread.
            .immediateExecution(true)
            .addToolFilter((context, tool) -> visible(exchange(context).caller, tool.name()))
            .tools(specs)
            .build();
  }

  /** {@code POST /v1/agent/mcp}: one JSON-RPC request or notification, answered with JSON. */
  ApiResponse handle(ApiRequest request) throws Exception {
    checkHostAndOrigin(request);
    Caller caller = auth.authenticate(request, "mcp", false);
    auth.checkIdentity(request, caller, "mcp", null);
    request.requireJson();
    String accept = request.header("Accept");
    if (accept != null && !accept.isBlank() && !acceptsJson(accept)) {
      throw new ApiException(
          406,
          ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
          "this endpoint answers application/json; send Accept: application/json, text/event-stream");
    }
    String version = request.header("MCP-Protocol-Version");
    if (version != null && !transport.protocolVersions().contains(version)) {
      return rpcError(
          400,
          McpSchema.ErrorCodes.INVALID_REQUEST,
          "unsupported MCP-Protocol-Version "
              + clip(version)
              + " (supported: "
              + String.join(", ", transport.protocolVersions())
              + ")");
    }
    String body = request.bodyText();
    try {
      // The parse every agent body gets (duplicate keys, depth, sizes), before the SDK's own.
      Json.STRICT.readTree(body);
    } catch (JsonProcessingException e) {
      return rpcError(
          400,
          McpSchema.ErrorCodes.PARSE_ERROR,
          "the body is not valid JSON: " + e.getOriginalMessage());
    }
    McpSchema.JSONRPCMessage message;
    try {
      message = McpSchema.deserializeJsonRpcMessage(json, body);
    } catch (IOException | RuntimeException e) {
      return rpcError(
          400,
          McpSchema.ErrorCodes.INVALID_REQUEST,
          "the body is not one JSON-RPC 2.0 request or notification (batches are not accepted)");
    }
    Exchange exchange = new Exchange(caller);
    McpTransportContext context = McpTransportContext.create(Map.of(EXCHANGE, exchange));
    if (message instanceof McpSchema.JSONRPCRequest r) {
      McpSchema.JSONRPCResponse response;
      if (McpSchema.METHOD_TOOLS_CALL.equals(r.method()) && !tools.contains(toolName(r))) {
        // Not a skill this Gateway knows: still the mediator's refusal (and deny gate), as on REST.
        response = unknownTool(context, r);
      } else {
        response =
            transport
                .handler
                .handleRequest(context, r)
                .contextWrite(c -> c.put(McpTransportContext.KEY, context))
                .block();
      }
      exchange.rethrow();
      return new ApiResponse.Text(200, "application/json", json.writeValueAsString(response));
    }
    if (message instanceof McpSchema.JSONRPCNotification n) {
      transport
          .handler
          .handleNotification(context, n)
          .contextWrite(c -> c.put(McpTransportContext.KEY, context))
          .block();
      exchange.rethrow();
      return ApiResponse.status(202, null);
    }
    return rpcError(
        400,
        McpSchema.ErrorCodes.INVALID_REQUEST,
        "this server sends no requests, so it accepts no responses: send a request or a notification");
  }

  /**
   * Whether {@code caller}'s step could call {@code skill} (its condition aside, which needs the
   * input).
   */
  private static boolean visible(Caller caller, String skill) {
    if (SUBMIT_RESULT.equals(skill)) {
      return true;
    }
    return PolicyDecider.skill(
            caller.policy().policy(), caller.agent(), caller.step().allowedSkills(), skill)
        .allowed();
  }

  private SyncToolSpecification tool(SkillDefinition skill) {
    Map<String, Object> schema =
        Json.STRICT.convertValue(
            skill.inputSchema(),
            new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
    McpSchema.Tool tool =
        McpSchema.Tool.builder(skill.name(), schema)
            .description(skill.description())
            .annotations(
                McpSchema.ToolAnnotations.builder().readOnlyHint(!skill.sideEffect()).build())
            .build();
    return SyncToolSpecification.builder().tool(tool).callHandler(this::call).build();
  }

  /**
   * {@value #SUBMIT_RESULT}: every step has it, so an agent that speaks only MCP can finish its
   * step. Its input is the result body of {@code POST /v1/agent/result} (the protocol's result
   * schema); it is recorded through the same code, once per attempt.
   */
  private SyncToolSpecification submitResultTool() {
    Map<String, Object> schema = new LinkedHashMap<>();
    schema.put("type", "object");
    schema.put("additionalProperties", false);
    schema.put("required", List.of("status"));
    schema.put(
        "properties",
        Map.of(
            "status",
                Map.of("enum", List.of("succeeded", "failed"), "description", "how the step ended"),
            "summary",
                Map.of(
                    "type",
                    "string",
                    "maxLength",
                    8000,
                    "description",
                    "a sentence or two for people"),
            "output",
                Map.of(
                    "type",
                    "object",
                    "description",
                    "what the step produced, for the steps after it"),
            "error",
                Map.of(
                    "type",
                    "string",
                    "maxLength",
                    8000,
                    "description",
                    "for a failure: what went wrong"),
            "retryable",
                Map.of(
                    "type", "boolean", "description", "false: a retry of this step cannot help")));
    McpSchema.Tool tool =
        McpSchema.Tool.builder(SUBMIT_RESULT, schema)
            .description(
                "End this step with its result: call it once, last. Succeeded with a summary (and an output"
                    + " object for the steps after this one), or failed with an error.")
            .annotations(McpSchema.ToolAnnotations.builder().readOnlyHint(false).build())
            .build();
    return SyncToolSpecification.builder().tool(tool).callHandler(this::submit).build();
  }

  private McpSchema.CallToolResult submit(
      McpTransportContext context, McpSchema.CallToolRequest request) {
    Exchange exchange = exchange(context);
    JsonNode arguments =
        Json.STRICT.valueToTree(request.arguments() == null ? Map.of() : request.arguments());
    return answer(
        exchange,
        () -> {
          // The identity check of POST /v1/agent/result: a run_id, step_id, agent or attempt that
          // is not the token's is refused with an agent.identity deny gate; matching ones are
          // dropped.
          JsonNode body;
          switch (attempts.checkIdentity(
              field -> List.of(), exchange.caller, "mcp/" + SUBMIT_RESULT, arguments)) {
            case IdentityCheck.Matched m -> body = m.body();
            case Refusal r -> {
              return refused(exchange, r);
            }
          }
          return switch (results.submit(exchange.caller, body)) {
            case ResultSubmission.Recorded recorded -> {
              Map<String, Object> answer = AgentApi.answer(recorded);
              yield McpSchema.CallToolResult.builder()
                  .addTextContent(Json.write(answer))
                  .structuredContent(answer)
                  .isError(false)
                  .build();
            }
            case Refusal r -> refused(exchange, r);
          };
        });
  }

  /**
   * A refusal as MCP answers it: what the REST route would answer (403, 409, 422, …) as an {@code
   * isError} result carrying the same error body ({@link AgentErrors}); an ended attempt (401) ends
   * the HTTP request instead, as on every route.
   */
  private McpSchema.CallToolResult refused(Exchange exchange, Refusal refusal) {
    return switch (refusal) {
      case Refusal.AttemptEnded e -> exchange.refuse(AgentErrors.of(e));
      case Refusal r -> failure(AgentErrors.of(r).body());
    };
  }

  /** The tool result of {@code work}; an unexpected failure ends the HTTP request instead. */
  private McpSchema.CallToolResult answer(
      Exchange exchange, java.util.concurrent.Callable<McpSchema.CallToolResult> work) {
    try {
      return work.call();
    } catch (RuntimeException e) {
      return exchange.refuse(e);
    } catch (Exception e) {
      return exchange.refuse(new IllegalStateException(e));
    }
  }

  /** A tools/call: the mediated skill call of REST, its answer as a tool result. */
  private McpSchema.CallToolResult call(
      McpTransportContext context, McpSchema.CallToolRequest request) {
    Exchange exchange = exchange(context);
    Object key = request.meta() == null ? null : request.meta().get(META_IDEMPOTENCY_KEY);
    if (key != null && !(key instanceof String s && s.matches(KEY_PATTERN))) {
      String why =
          META_IDEMPOTENCY_KEY + " must be 1-200 characters of A-Z a-z 0-9 . _ : @ / + = -";
      return failure(new ErrorBody(ErrorCodes.INVALID_BODY, why, null, null, List.of(why)));
    }
    JsonNode input =
        Json.STRICT.valueToTree(request.arguments() == null ? Map.of() : request.arguments());
    return answer(
        exchange,
        () ->
            switch (mediator.call(exchange.caller, request.name(), input, (String) key)) {
              case SkillCall.Performed p -> output(p.invocationId(), p.output(), false);
              case SkillCall.Replayed r -> output(r.invocationId(), r.output(), true);
              case SkillCall.AwaitingApproval w -> awaitingApproval(w);
              case Refusal r -> refused(exchange, r);
            });
  }

  /** A call held for approval: a tool error whose JSON is the REST route's {@code 202} body. */
  private static McpSchema.CallToolResult awaitingApproval(SkillCall.AwaitingApproval w) {
    Map<String, Object> body = new LinkedHashMap<>(AgentApi.awaiting(w));
    body.put("error", body.remove("status"));
    return McpSchema.CallToolResult.builder()
        .addTextContent(Json.write(body))
        .isError(true)
        .build();
  }

  /** A call's output as a tool result: structured, as JSON text, and its invocation in _meta. */
  private static McpSchema.CallToolResult output(
      java.util.UUID invocationId, JsonNode output, boolean replayed) {
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put(META_INVOCATION_ID, invocationId.toString());
    meta.put(META_REPLAYED, replayed);
    return McpSchema.CallToolResult.builder()
        .addTextContent(Json.write(output))
        .structuredContent(Json.STRICT.convertValue(output, Object.class))
        .isError(false)
        .meta(meta)
        .build();
  }

  private McpSchema.JSONRPCResponse unknownTool(
      McpTransportContext context, McpSchema.JSONRPCRequest r) {
    McpSchema.CallToolRequest call;
    try {
      call = json.convertValue(r.params(), new TypeRef<McpSchema.CallToolRequest>() {});
    } catch (RuntimeException e) {
      call = null;
    }
    if (call == null || call.name() == null) {
      return McpSchema.JSONRPCResponse.error(
          r.id(),
          new McpSchema.JSONRPCResponse.JSONRPCError(
              McpSchema.ErrorCodes.INVALID_PARAMS,
              "tools/call needs params with a tool name",
              null));
    }
    return McpSchema.JSONRPCResponse.result(r.id(), call(context, call));
  }

  private McpSchema.CallToolResult failure(ErrorBody body) {
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("dev.worka/error", body.error());
    if (body.gateId() != null) {
      meta.put("dev.worka/gate_id", body.gateId());
    }
    return McpSchema.CallToolResult.builder()
        .addTextContent(Json.write(body))
        .isError(true)
        .meta(meta)
        .build();
  }

  /**
   * Refuses ({@code 403}) a request whose {@code Host}, or {@code Origin} when it has one, is not
   * one of the Gateway's own names ({@link GatewayNames}): a web page that an attacker's DNS
   * pointed at the Gateway must not reach the agent protocol (DNS rebinding), as the MCP transport
   * asks of servers. Checked before the token is looked at; when the request does carry a working
   * step token, the refusal is also recorded as a deny gate of that step.
   */
  private void checkHostAndOrigin(ApiRequest request) {
    Optional<String> host = names.foreignHost(request);
    Optional<String> origin = host.isPresent() ? Optional.empty() : names.foreignOrigin(request);
    if (host.isEmpty() && origin.isEmpty()) {
      return;
    }
    String code = host.isPresent() ? ErrorCodes.HOST_NOT_ALLOWED : ErrorCodes.ORIGIN_NOT_ALLOWED;
    String why =
        host.orElseGet(origin::get)
            + "; an MCP request is answered only when it names the Gateway as"
            + " its workers reach it (WORKA_GATEWAY_URL, WORKA_KUBERNETES_GATEWAY_URL, the bind address or loopback), as DNS rebinding defence";
    String gateId = null;
    if (request.authorization() != null) {
      Caller caller;
      try {
        caller = auth.authenticate(request, "mcp", false);
      } catch (ApiException e) {
        caller = null; // no identity to record the refusal for: the answer stays the 403
      }
      if (caller != null) {
        gateId = auth.deny(caller, GateAction.AGENT_CALL, null, "mcp: " + why).id().toString();
      }
    }
    throw new ApiException(
        403, new ErrorBody(code, why, gateId, gateId == null ? null : why, null));
  }

  private static boolean acceptsJson(String accept) {
    String a = accept.toLowerCase(Locale.ROOT);
    return a.contains("application/json") || a.contains("*/*") || a.contains("application/*");
  }

  private static String toolName(McpSchema.JSONRPCRequest r) {
    return r.params() instanceof Map<?, ?> params && params.get("name") instanceof String name
        ? name
        : null;
  }

  /**
   * A JSON-RPC error answer to a message that could not be read, so has no id ({@code "id": null}).
   */
  private static ApiResponse rpcError(int status, int code, String message) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("code", code);
    error.put("message", message);
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("jsonrpc", McpSchema.JSONRPC_VERSION);
    answer.put("id", null);
    answer.put("error", error);
    return new ApiResponse.Text(status, "application/json", Json.write(answer));
  }

  private static Exchange exchange(McpTransportContext context) {
    return (Exchange) context.get(EXCHANGE);
  }

  private static String clip(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "…" : s;
  }

  /**
   * One HTTP request's caller, and what must end the request as an HTTP error instead of a JSON-RPC
   * answer: a token refused mid-call (401), a failure the Gateway answers 500/503.
   */
  private static final class Exchange {
    final Caller caller;
    private RuntimeException refusal;

    Exchange(Caller caller) {
      this.caller = caller;
    }

    McpSchema.CallToolResult refuse(RuntimeException e) {
      refusal = e;
      return McpSchema.CallToolResult.builder().addTextContent("refused").isError(true).build();
    }

    void rethrow() {
      if (refusal != null) {
        throw refusal;
      }
    }
  }

  /** The SDK server's transport: the route hands it each message; it keeps the server's handler. */
  private static final class RouterTransport implements McpStatelessServerTransport {
    private volatile McpStatelessServerHandler handler;

    @Override
    public void setMcpHandler(McpStatelessServerHandler handler) {
      this.handler = handler;
    }

    @Override
    public Mono<Void> closeGracefully() {
      return Mono.empty();
    }
  }
}
