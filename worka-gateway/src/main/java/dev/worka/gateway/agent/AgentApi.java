package dev.worka.gateway.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.control.TaskKind;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.invocation.ModelUsageStore;
import dev.worka.gateway.mediation.AcceptPlan;
import dev.worka.gateway.mediation.AcceptResult;
import dev.worka.gateway.mediation.Attempts;
import dev.worka.gateway.mediation.Caller;
import dev.worka.gateway.mediation.Denials;
import dev.worka.gateway.mediation.PlanSubmission;
import dev.worka.gateway.mediation.Refusal;
import dev.worka.gateway.mediation.ResultSubmission;
import dev.worka.gateway.mediation.SkillCall;
import dev.worka.gateway.mediation.SkillMediator;
import dev.worka.gateway.memory.RecallMemories;
import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.policy.AgentRole;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.Permissions;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.runtime.wasm.AgentCalls;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.skill.model.AnthropicMessages;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.gateway.telemetry.WorkerSpans;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.gateway.token.VerifiedTokens;
import dev.worka.protocol.DependencyOutput;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import dev.worka.protocol.ModelOffer;
import dev.worka.protocol.PlanningContext;
import dev.worka.protocol.RequestContext;
import dev.worka.protocol.SkillCallResult;
import dev.worka.protocol.StepEnvelope;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code /v1/agent/*} endpoints over REST: each route authenticates, parses, calls one decision
 * of {@code mediation} ({@link AcceptPlan}, {@link SkillMediator}, {@link AcceptResult}) and
 * answers its outcome with one switch (refusals through {@link AgentErrors}, as the MCP server
 * does). The composition root hands it those decisions ready-made; it builds only its own parts
 * over them: the {@link Authenticator}, the MCP server and the model route.
 */
public final class AgentApi {
  private static final Logger log = LoggerFactory.getLogger(AgentApi.class);
  static final long MAX_RESULT_BYTES = 1024 * 1024;
  static final long MAX_PLAN_BYTES = 512 * 1024;
  static final long MAX_SKILL_CALL_BYTES = 1024 * 1024;
  static final long MAX_SPANS_BYTES = 1024 * 1024;
  static final String SPANS_PATH = "/v1/agent/otel/v1/traces";

  private final DataSource dataSource;
  private final Authenticator auth;
  private final StepStore steps;
  private final SkillRegistry skills;
  private final SkillMediator mediator;
  private final AcceptPlan plans;
  private final AcceptResult results;
  private final TaskQueue queue;
  private final McpSkillServer mcp;
  private final ModelProxy model;
  private final ModelOffer modelOffer;
  private final AgentCalls inProcess;
  private final RecallMemories memory;
  private final WorkerSpans workerSpans;

  /**
   * The agent API over the decisions the composition root built: {@code plans}, {@code skillCalls}
   * and {@code results} decide what a worker asks, {@code attempts} and {@code denials} check a
   * caller's step attempt and record refusals as gates. {@code model} is the model {@code
   * /v1/agent/model/v1/messages} proxies to, which every step envelope then offers (empty: the
   * route answers 503 and envelopes offer none), its calls recorded in {@code modelUsage} and their
   * answers cleaned by {@code cleaner}; {@code verified} the tokens known good (minted by this
   * Gateway's issuer or verified before); {@code names} the names {@code /v1/agent/mcp} answers to;
   * {@code memory} the snippets an envelope carries for an agent granted {@code memory.search}.
   */
  public AgentApi(
      DataSource dataSource,
      TokenVerifier verifier,
      VerifiedTokens verified,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      SkillRegistry skills,
      TaskQueue queue,
      Attempts attempts,
      Denials denials,
      AcceptPlan plans,
      SkillMediator skillCalls,
      AcceptResult results,
      AuditLog audit,
      ModelUsageStore modelUsage,
      OutputCleaner cleaner,
      InstantSource clock,
      Optional<AnthropicMessages> model,
      GatewayNames names,
      Tracing tracing,
      RecallMemories memory) {
    this.dataSource = dataSource;
    this.memory = memory;
    this.auth = new Authenticator(dataSource, verifier, verified, runs, steps, policies, attempts);
    this.steps = steps;
    this.skills = skills;
    this.mediator = skillCalls;
    this.plans = plans;
    this.results = results;
    this.queue = queue;
    this.mcp = new McpSkillServer(auth, attempts, skillCalls, skills, results, names);
    this.model =
        new ModelProxy(
            dataSource, auth, attempts, denials, audit, modelUsage, model, cleaner, clock, tracing);
    this.modelOffer = model.map(m -> new ModelOffer(ModelOffer.ANTHROPIC, m.model())).orElse(null);
    this.inProcess = new InProcessAgentCalls(this, auth);
    this.workerSpans = new WorkerSpans(tracing);
  }

  /**
   * The agent protocol for a worker that runs inside this process (a {@code wasm} module): the same
   * authentication, decisions and answers as these routes, over the step token its runtime holds.
   */
  public AgentCalls inProcess() {
    return inProcess;
  }

  public void register(Router router) {
    router.add("GET", "/v1/agent/context", this::context);
    router.add("POST", "/v1/agent/plan", MAX_PLAN_BYTES, this::plan);
    router.add("POST", "/v1/agent/skills/{skill}", MAX_SKILL_CALL_BYTES, this::skill);
    router.add("POST", "/v1/agent/result", MAX_RESULT_BYTES, this::result);
    router.add("POST", "/v1/agent/heartbeat", this::heartbeat);
    router.add("POST", SPANS_PATH, MAX_SPANS_BYTES, this::spans);
    router.add("POST", ModelProxy.PATH, ModelProxy.MAX_REQUEST_BYTES, model::messages);
    // MCP streamable HTTP, stateless: POST only (a GET for a server stream is 405, as MCP allows).
    router.add("POST", McpSkillServer.PATH, MAX_SKILL_CALL_BYTES, mcp::handle);
  }

  private ApiResponse context(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "context", false);
    auth.checkIdentity(request, caller, "context", null);
    return ApiResponse.ok(envelope(caller));
  }

  /** The step envelope of {@code caller}'s step attempt ({@code GET /v1/agent/context}). */
  StepEnvelope envelope(Caller caller) throws Exception {
    Step step = caller.step();
    Run run = caller.run();
    CompiledPolicy policy = caller.policy().policy();
    List<DependencyOutput> dependencies = new ArrayList<>();
    if (!step.dependsOn().isEmpty()) {
      List<Step> all = Transactions.withConnection(dataSource, c -> steps.ofRun(c, run.id()));
      for (Step s : all) {
        if (step.dependsOn().contains(s.id())) {
          dependencies.add(
              new DependencyOutput(
                  s.id().toString(),
                  s.stepRef(),
                  s.agent(),
                  s.summary(),
                  s.outputJson() == null ? null : Json.LENIENT.readTree(s.outputJson())));
        }
      }
    }
    PlanningContext planning = null;
    if (step.role() == StepRole.PLANNER) {
      List<PlanningContext.AgentOffer> offers = new ArrayList<>();
      for (AgentPolicy a : policy.agents().values()) {
        if (a.enabled() && a.role() == AgentRole.WORKER) {
          offers.add(new PlanningContext.AgentOffer(a.name(), a.description(), a.skills()));
        }
      }
      planning = new PlanningContext(offers, policy.limits().maxSteps());
    }
    JsonNode instruction = Json.LENIENT.readTree(step.instructionJson());
    String objective = instruction.path("objective").asText();
    // Memory is data for the agent, never authority: only an agent granted memory.search gets
    // any, from its own namespace (the step's agent, as its token says), ranked by the objective.
    AgentPolicy agent = policy.agents().get(step.agent());
    List<String> snippets =
        agent != null && agent.permissions().contains(Permissions.MEMORY_SEARCH)
            ? memory.snippets(step.agent(), objective)
            : List.of();
    StepEnvelope envelope =
        new StepEnvelope(
            run.id().toString(),
            step.id().toString(),
            step.stepRef(),
            step.attempt(),
            step.agent(),
            step.role() == StepRole.PLANNER ? StepEnvelope.ROLE_PLANNER : StepEnvelope.ROLE_WORKER,
            objective,
            new RequestContext(
                run.text(),
                run.source().sql(),
                run.requester(),
                run.slackChannel(),
                run.slackThreadTs()),
            skills.specs(step.allowedSkills()),
            dependencies,
            snippets,
            step.deadline() == null ? null : step.deadline().toString(),
            planning,
            modelOffer);
    return envelope;
  }

  @SuppressWarnings("ReferenceEquality") // checkIdentity hands back the very node it was given
  // when it removed nothing: only a node it changed is written out again
  private ApiResponse plan(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "plan", false);
    request.requireJson();
    String raw = request.bodyText();
    JsonNode tree = tryParse(raw);
    if (tree != null) {
      JsonNode stripped = auth.checkIdentity(request, caller, GateAction.PLAN_SUBMIT.sql(), tree);
      if (stripped != tree) {
        raw = Json.STRICT.writeValueAsString(stripped);
      }
    } else {
      auth.checkIdentity(request, caller, GateAction.PLAN_SUBMIT.sql(), null);
    }
    return switch (plans.submit(caller, raw)) {
      case PlanSubmission.Accepted a -> ApiResponse.status(201, a.plan());
      case PlanSubmission.AlreadyAccepted a -> ApiResponse.ok(a.plan());
      case PlanSubmission.Rejected r ->
          ApiResponse.status(
              422,
              new ErrorBody(
                  ErrorCodes.INVALID_PLAN, r.why(), r.gateId().toString(), r.why(), r.reasons()));
      case PlanSubmission.OtherPlanAccepted o -> {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", ErrorCodes.PLAN_CONFLICT);
        body.put(
            "message",
            o.why() + ". End the step with the accepted plan (accepted_plan), or fail it.");
        body.put("gate_id", o.gateId().toString());
        body.put("reason", o.why());
        body.put("accepted_plan", o.accepted());
        yield ApiResponse.status(409, body);
      }
      case Refusal r -> throw AgentErrors.of(r);
    };
  }

  private ApiResponse skill(ApiRequest request) throws Exception {
    String skill = request.pathVariable("skill");
    Caller caller = auth.authenticate(request, "skills/" + skill, false);
    request.requireJson();
    JsonNode body = parse(request);
    body = auth.checkIdentity(request, caller, GateAction.SKILL_INVOKE.sql(), body);
    return skillCall(caller, skill, body);
  }

  /**
   * {@code caller}'s call of {@code skill} with {@code body} ({@code {"input": {...},
   * "idempotency_key": "optional"}}, its identity fields checked): one decision of the {@link
   * SkillMediator}, answered as {@code POST /v1/agent/skills/{skill}} answers it.
   */
  ApiResponse skillCall(Caller caller, String skill, JsonNode body) {
    if (!(body instanceof ObjectNode o) || !o.path("input").isObject()) {
      throw invalid("the body must be {\"input\": {...}, \"idempotency_key\": \"optional\"}");
    }
    List<String> unknown = new ArrayList<>();
    o.fieldNames()
        .forEachRemaining(
            f -> {
              if (!f.equals("input") && !f.equals("idempotency_key")) unknown.add(f);
            });
    if (!unknown.isEmpty()) {
      throw invalid("unknown field(s) " + unknown + " (allowed: input, idempotency_key)");
    }
    String key = null;
    if (o.has("idempotency_key") && !o.get("idempotency_key").isNull()) {
      key = o.get("idempotency_key").asText();
      if (!o.get("idempotency_key").isTextual() || !key.matches("[A-Za-z0-9._:@/+=-]{1,200}")) {
        throw invalid("idempotency_key must be 1-200 characters of A-Z a-z 0-9 . _ : @ / + = -");
      }
    }
    return switch (mediator.call(caller, skill, o.get("input"), key)) {
      case SkillCall.Performed p ->
          ApiResponse.ok(new SkillCallResult(p.invocationId().toString(), p.output(), false));
      case SkillCall.Replayed r ->
          ApiResponse.ok(new SkillCallResult(r.invocationId().toString(), r.output(), true));
      case SkillCall.AwaitingApproval w -> ApiResponse.status(202, awaiting(w));
      case Refusal r -> throw AgentErrors.of(r);
    };
  }

  /**
   * The answer to a call held for approval ({@code 202} over REST, a tool error over MCP): its
   * approval id and what the worker should do (end: its attempt is over).
   */
  static Map<String, Object> awaiting(SkillCall.AwaitingApproval w) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", ErrorCodes.AWAITING_APPROVAL);
    body.put("approval_id", w.approvalId().toString());
    body.put("expires_at", w.expiresAt().toString());
    body.put("approvers", w.approvers());
    body.put("reason", w.reason());
    body.put(
        "message",
        "nothing was performed: the call waits for approval "
            + w.approvalId()
            + " and this attempt has ended (its token no longer works); exit now. If approved,"
            + " the step runs again and the identical call (same skill, input and idempotency key)"
            + " is answered with the approved call's outcome; any other input needs its own"
            + " approval");
    return body;
  }

  private ApiResponse result(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "result", true);
    request.requireJson();
    JsonNode body = auth.checkIdentity(request, caller, "agent.result", parse(request));
    return result(caller, body);
  }

  /**
   * {@code caller}'s result ({@code body} with its identity fields checked): one decision of {@link
   * AcceptResult}, answered as {@code POST /v1/agent/result} answers it.
   */
  ApiResponse result(Caller caller, JsonNode body) throws Exception {
    return switch (results.submit(caller, body)) {
      case ResultSubmission.Recorded r -> ApiResponse.ok(answer(r));
      case Refusal r -> throw AgentErrors.of(r);
    };
  }

  /** The answer to a recorded result: the status recorded and what was cleaned. */
  static Map<String, Object> answer(ResultSubmission.Recorded recorded) {
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("status", recorded.succeeded() ? "succeeded" : "failed");
    answer.put("cleaned", recorded.cleaned());
    return answer;
  }

  private ApiResponse heartbeat(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "heartbeat", false);
    JsonNode body = request.body().length == 0 ? null : parse(request);
    auth.checkIdentity(request, caller, "heartbeat", body);
    // The step's lease: the claim on the task that runs this attempt, held by the Gateway that
    // supervises the worker (which extends it too). The worker's word keeps it from being taken
    // for lost, e.g. while that Gateway stalls; the attempt's deadline still ends it.
    Optional<Instant> lease =
        queue.extendClaimed(TaskKind.executeKey(caller.step().id(), caller.claims().attempt()));
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("step_id", caller.step().id().toString());
    answer.put(
        "deadline", caller.step().deadline() == null ? null : caller.step().deadline().toString());
    answer.put("lease_until", lease.map(Instant::toString).orElse(null));
    return ApiResponse.ok(answer);
  }

  /**
   * A worker's own spans (OTLP/HTTP protobuf): kept only when of its run's trace, stamped from its
   * token, cleaned and re-emitted through the Gateway's exporter ({@link WorkerSpans}). Answered
   * with OTLP's {@code ExportTraceServiceResponse}, whose {@code partial_success} counts the spans
   * dropped (a 200 either way, so a worker's exporter does not retry what would be dropped again).
   */
  private ApiResponse spans(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "otel/v1/traces", false);
    String type = request.header("Content-Type");
    if (type == null
        || !type.strip().toLowerCase(Locale.ROOT).startsWith("application/x-protobuf")) {
      throw new ApiException(
          415,
          ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
          "send OTLP/HTTP protobuf (Content-Type: application/x-protobuf), e.g. the OpenTelemetry"
              + " SDK's exporter with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf");
    }
    byte[] body = request.body();
    String encoding = request.header("Content-Encoding");
    if (encoding != null && encoding.strip().equalsIgnoreCase("gzip")) {
      body = gunzip(body);
    } else if (encoding != null && !encoding.isBlank() && !encoding.strip().equals("identity")) {
      throw new ApiException(
          415,
          ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
          "Content-Encoding " + encoding.strip() + " is not supported: send gzip or none");
    }
    ExportTraceServiceRequest export;
    try {
      export = ExportTraceServiceRequest.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw invalid("the body is not an OTLP ExportTraceServiceRequest: " + e.getMessage());
    }
    WorkerSpans.Forwarded forwarded =
        workerSpans.forward(
            export,
            new WorkerSpans.Stamp(
                caller.run().traceId(),
                caller.run().id(),
                caller.step().id(),
                caller.claims().attempt(),
                caller.agent()));
    ExportTraceServiceResponse.Builder answer = ExportTraceServiceResponse.newBuilder();
    if (forwarded.rejected() > 0) {
      String why =
          forwarded.otherTrace()
              + " span(s) not of this run's trace "
              + caller.run().traceId()
              + " (use the TRACEPARENT you were given), "
              + forwarded.overCap()
              + " beyond "
              + WorkerSpans.MAX_SPANS_PER_ATTEMPT
              + " spans per step attempt";
      log.info("worker spans of step {} dropped: {}", caller.step().id(), why);
      answer.setPartialSuccess(
          ExportTracePartialSuccess.newBuilder()
              .setRejectedSpans(forwarded.rejected())
              .setErrorMessage(why));
    }
    return new ApiResponse.Bytes(
        200, "application/x-protobuf", answer.build().toByteArray(), Map.of());
  }

  private static byte[] gunzip(byte[] body) {
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
      byte[] out = in.readNBytes((int) MAX_SPANS_BYTES + 1);
      if (out.length > MAX_SPANS_BYTES) {
        throw new ApiException(
            413,
            ErrorCodes.TOO_LARGE,
            "the body is larger than " + MAX_SPANS_BYTES + " bytes once decompressed");
      }
      return out;
    } catch (IOException e) {
      throw invalid("the body is not valid gzip: " + e.getMessage());
    }
  }

  private static JsonNode parse(ApiRequest request) {
    try {
      return Json.STRICT.readTree(new String(request.body(), StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      throw invalid("the body is not valid JSON: " + e.getOriginalMessage());
    }
  }

  private static JsonNode tryParse(String raw) {
    try {
      return Json.STRICT.readTree(raw);
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  private static ApiException invalid(String message) {
    return new ApiException(
        422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
  }
}
