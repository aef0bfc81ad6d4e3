package dev.worka.gateway.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Burn;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateActions;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.control.EndFailedAttempt;
import dev.worka.gateway.control.TaskKinds;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.plan.PlanStore;
import dev.worka.gateway.plan.PlanValidation;
import dev.worka.gateway.plan.PlanValidator;
import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.policy.AgentRole;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.Permissions;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.run.Transition;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.skill.model.AnthropicMessages;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.gateway.token.VerifiedTokens;
import dev.worka.protocol.DependencyOutput;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import dev.worka.protocol.ModelOffer;
import dev.worka.protocol.PlanAccepted;
import dev.worka.protocol.PlanningContext;
import dev.worka.protocol.RequestContext;
import dev.worka.protocol.StepEnvelope;
import dev.worka.protocol.StepResult;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.random.RandomGenerator;
import javax.sql.DataSource;

/** The {@code /v1/agent/*} endpoints. */
public final class AgentApi {
  static final long MAX_RESULT_BYTES = 1024 * 1024;
  static final long MAX_PLAN_BYTES = 512 * 1024;
  static final long MAX_SKILL_CALL_BYTES = 1024 * 1024;

  /**
   * Deepest output accepted: well under the JSON reader's limit, so stored results stay readable.
   */
  static final int MAX_OUTPUT_DEPTH = 32;

  private static final dev.worka.gateway.plan.ProtocolSchema RESULT_SCHEMA =
      dev.worka.gateway.plan.ProtocolSchema.load(StepResult.SCHEMA_RESOURCE);

  private final DataSource dataSource;
  private final Authenticator auth;
  private final RunStore runs;
  private final StepStore steps;
  private final PlanStore plans;
  private final PlanValidator validator;
  private final SkillRegistry skills;
  private final SkillMediator mediator;
  private final AuditLog audit;
  private final TaskQueue queue;
  private final OutputCleaner cleaner;
  private final EndFailedAttempt failures;
  private final McpSkillServer mcp;
  private final InvocationStore invocations;
  private final Denials denials;
  private final ModelProxy model;
  private final ModelOffer modelOffer;

  /**
   * The agent API; {@code model} is the model {@code /v1/agent/model/v1/messages} proxies to, which
   * every step envelope then offers (empty: the route answers 503 and envelopes offer none); {@code
   * verified} the tokens known good (minted by this Gateway's issuer or verified before); {@code
   * names} the names {@code /v1/agent/mcp} answers to.
   */
  public AgentApi(
      DataSource dataSource,
      TokenVerifier verifier,
      VerifiedTokens verified,
      RunStore runs,
      StepStore steps,
      PlanStore plans,
      PlanValidator validator,
      PolicyStore policies,
      SkillRegistry skills,
      InvocationStore invocations,
      AuditLog audit,
      TaskQueue queue,
      boolean dryRun,
      java.util.Collection<String> secrets,
      InstantSource clock,
      RandomGenerator random,
      Optional<AnthropicMessages> model,
      GatewayNames names) {
    this.cleaner = new OutputCleaner(secrets);
    this.dataSource = dataSource;
    this.denials = new Denials(audit, steps, queue);
    this.invocations = invocations;
    this.auth = new Authenticator(dataSource, verifier, verified, runs, steps, policies, denials);
    this.runs = runs;
    this.steps = steps;
    this.plans = plans;
    this.validator = validator;
    this.skills = skills;
    this.mediator =
        new SkillMediator(dataSource, skills, invocations, audit, auth, denials, cleaner, dryRun);
    this.audit = audit;
    this.queue = queue;
    this.failures = new EndFailedAttempt(runs, steps, policies, queue, audit, clock, random);
    this.mcp = new McpSkillServer(auth, mediator, skills, this::submitResult, names);
    this.model =
        new ModelProxy(
            dataSource, auth, denials, audit, new ModelUsageStore(), model, cleaner, clock);
    this.modelOffer = model.map(m -> new ModelOffer(ModelOffer.ANTHROPIC, m.model())).orElse(null);
  }

  public void register(Router router) {
    router.add("GET", "/v1/agent/context", this::context);
    router.add("POST", "/v1/agent/plan", MAX_PLAN_BYTES, this::plan);
    router.add("POST", "/v1/agent/skills/{skill}", MAX_SKILL_CALL_BYTES, this::skill);
    router.add("POST", "/v1/agent/result", MAX_RESULT_BYTES, this::result);
    router.add("POST", "/v1/agent/heartbeat", this::heartbeat);
    router.add("POST", ModelProxy.PATH, ModelProxy.MAX_REQUEST_BYTES, model::messages);
    // MCP streamable HTTP, stateless: POST only (a GET for a server stream is 405, as MCP allows).
    router.add("POST", McpSkillServer.PATH, MAX_SKILL_CALL_BYTES, mcp::handle);
  }

  private ApiResponse context(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "context", false);
    auth.checkIdentity(request, caller, "context", null);
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
    StepEnvelope envelope =
        new StepEnvelope(
            run.id().toString(),
            step.id().toString(),
            step.stepRef(),
            step.attempt(),
            step.agent(),
            step.role() == StepRole.PLANNER ? StepEnvelope.ROLE_PLANNER : StepEnvelope.ROLE_WORKER,
            instruction.path("objective").asText(),
            new RequestContext(
                run.text(), run.source(), run.requester(), run.slackChannel(), run.slackThreadTs()),
            skills.specs(step.allowedSkills()),
            dependencies,
            List.of(),
            step.deadline() == null ? null : step.deadline().toString(),
            planning,
            modelOffer);
    return ApiResponse.ok(envelope);
  }

  private ApiResponse plan(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "plan", false);
    request.requireJson();
    String raw = request.bodyText();
    JsonNode tree = tryParse(raw);
    if (tree != null) {
      JsonNode stripped = auth.checkIdentity(request, caller, GateActions.PLAN_SUBMIT, tree);
      if (stripped != tree) {
        raw = Json.STRICT.writeValueAsString(stripped);
      }
    } else {
      auth.checkIdentity(request, caller, GateActions.PLAN_SUBMIT, null);
    }
    CompiledPolicy policy = caller.policy().policy();
    String refusal = null;
    if (PolicyDecider.permission(policy, caller.agent(), Permissions.PLAN_SUBMIT)
        instanceof Decision.Deny d) {
      refusal = d.reason();
    } else if (caller.step().role() != StepRole.PLANNER) {
      refusal =
          "step "
              + caller.step().stepRef()
              + " is a worker step; only the run's planning step may submit a plan";
    }
    if (refusal != null) {
      Gate gate =
          auth.deny(
              caller.run(), caller.step(), caller.claims(), GateActions.PLAN_SUBMIT, null, refusal);
      throw new ApiException(
          403,
          new ErrorBody(ErrorCodes.POLICY_DENIED, refusal, gate.id().toString(), refusal, null));
    }
    PlanValidation validation = validator.validate(raw, policy);
    String rawPlan = raw;
    record Decided(ApiResponse response, String endedWhy) {}
    Decided decided =
        Transactions.inTransaction(
            dataSource,
            c -> {
              Optional<String> ended = auth.lockStillRunning(c, caller, true);
              if (ended.isPresent()) {
                return new Decided(null, ended.get());
              }
              Run run = runs.find(c, caller.run().id(), Lock.NONE).orElseThrow();
              if (run.status() != RunStatus.PLANNING) {
                throw new ApiException(
                    409,
                    ErrorCodes.CONFLICT,
                    "run " + run.id() + " is " + run.status().sql() + ", not planning");
              }
              Optional<PlanStore.StoredPlan> earlier = plans.acceptedOf(c, run.id());
              if (earlier.isPresent()) {
                return new Decided(
                    planAgain(c, caller, run, earlier.get(), validation, policy), null);
              }
              switch (validation) {
                case PlanValidation.Accepted a -> {
                  PlanStore.Stored stored =
                      plans.storeAccepted(
                          c,
                          run.id(),
                          caller.step().id(),
                          caller.agent(),
                          rawPlan,
                          a,
                          policy.limits().maxAttempts(),
                          run.traceId());
                  audit.recordGate(
                      c,
                      new AuditLog.Decision(
                          GateActions.PLAN_SUBMIT,
                          GateStatus.ALLOW,
                          caller.agent(),
                          run.id(),
                          caller.step().id(),
                          caller.claims().attempt(),
                          null,
                          "plan "
                              + a.planHash().substring(0, 12)
                              + " accepted: "
                              + a.plan().steps().size()
                              + " step(s) valid under policy v"
                              + caller.policy().version(),
                          run.policyManifestId(),
                          run.traceId()));
                  Map<String, String> refs = new LinkedHashMap<>();
                  stored.stepIds().forEach((ref, id) -> refs.put(ref, id.toString()));
                  return new Decided(
                      ApiResponse.status(
                          201, new PlanAccepted(stored.planId().toString(), a.planHash(), refs)),
                      null);
                }
                case PlanValidation.Rejected r -> {
                  plans.storeRejected(
                      c, run.id(), caller.step().id(), caller.agent(), rawPlan, r.reasons());
                  String why = "plan rejected: " + String.join("; ", r.reasons());
                  Gate gate =
                      audit.recordGate(
                          c,
                          new AuditLog.Decision(
                              GateActions.PLAN_SUBMIT,
                              GateStatus.DENY,
                              caller.agent(),
                              run.id(),
                              caller.step().id(),
                              caller.claims().attempt(),
                              null,
                              why,
                              run.policyManifestId(),
                              run.traceId()));
                  audit.recordBurn(
                      c,
                      run.id(),
                      caller.step().id(),
                      caller.agent(),
                      caller.claims().attempt(),
                      Burn.POLICY,
                      why,
                      Json.STRICT.writeValueAsString(Map.of("violations", r.reasons())));
                  runs.transition(
                          c,
                          run.id(),
                          RunStatus.PLANNING,
                          RunStatus.REJECTED,
                          "gateway",
                          why,
                          why,
                          null)
                      .requireApplied("run " + run.id()); // locked by lockStillRunning
                  return new Decided(
                      ApiResponse.status(
                          422,
                          new ErrorBody(
                              ErrorCodes.INVALID_PLAN,
                              why,
                              gate.id().toString(),
                              why,
                              r.reasons())),
                      null);
                }
              }
            });
    if (decided.endedWhy() != null) {
      throw auth.staleToken(
          caller.run(), caller.step().id(), caller.claims(), "plan", decided.endedWhy());
    }
    return decided.response();
  }

  /**
   * A plan posted to a run that has an accepted one already. A run has one plan: the one accepted
   * first. Its planning step may post it again — its attempt retried after the first ended before
   * recording its result, or its answer lost — and is answered with it (the same plan id, hash and
   * step map, {@code 200}, an allow gate; counted against the call limits like a replay of a skill
   * call). Any other plan — another hash of the normalized plan, or one that does not validate — is
   * refused: {@code 409 plan_conflict}, a deny gate, nothing stored; the body names the accepted
   * plan ({@code accepted_plan}), so the planner can end its step with it.
   */
  private ApiResponse planAgain(
      java.sql.Connection c,
      Caller caller,
      Run run,
      PlanStore.StoredPlan accepted,
      PlanValidation submitted,
      CompiledPolicy policy)
      throws java.sql.SQLException {
    Map<String, String> refs = new LinkedHashMap<>();
    for (Step s : steps.ofRun(c, run.id())) {
      if (accepted.id().equals(s.planId())) {
        refs.put(s.stepRef(), s.id().toString());
      }
    }
    PlanAccepted answer = new PlanAccepted(accepted.id().toString(), accepted.planHash(), refs);
    String acceptedName = "plan " + accepted.planHash().substring(0, 12);
    int attempt = caller.claims().attempt();
    if (submitted instanceof PlanValidation.Accepted a
        && a.planHash().equals(accepted.planHash())) {
      Optional<String> limit =
          invocations.countCall(
              c,
              caller.step().id(),
              policy.limits().maxSkillCallsPerStep(),
              run.id(),
              policy.limits().maxSkillCallsPerRun());
      if (limit.isPresent()) {
        String why = limit.get() + " (a plan submitted again counts as a call)";
        Gate gate =
            denials.record(
                c,
                run,
                caller.step().id(),
                attempt,
                caller.agent(),
                GateActions.PLAN_SUBMIT,
                null,
                why);
        return ApiResponse.status(
            403, new ErrorBody(ErrorCodes.POLICY_DENIED, why, gate.id().toString(), why, null));
      }
      audit.recordGate(
          c,
          new AuditLog.Decision(
              GateActions.PLAN_SUBMIT,
              GateStatus.ALLOW,
              caller.agent(),
              run.id(),
              caller.step().id(),
              attempt,
              null,
              acceptedName
                  + " was already accepted for this run and the same plan was submitted again; answered with it,"
                  + " no second plan stored",
              run.policyManifestId(),
              run.traceId()));
      return ApiResponse.ok(answer);
    }
    String other =
        switch (submitted) {
          case PlanValidation.Accepted a ->
              "plan " + a.planHash().substring(0, 12) + " differs from it";
          case PlanValidation.Rejected r ->
              "the plan submitted now differs from it and is not valid either ("
                  + String.join("; ", r.reasons())
                  + ")";
        };
    String why =
        acceptedName
            + " is already accepted for this run and "
            + other
            + "; a run has one plan: the second one is refused, not stored";
    Gate gate =
        denials.record(
            c,
            run,
            caller.step().id(),
            attempt,
            caller.agent(),
            GateActions.PLAN_SUBMIT,
            null,
            why);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", ErrorCodes.PLAN_CONFLICT);
    body.put("message", why + ". End the step with the accepted plan (accepted_plan), or fail it.");
    body.put("gate_id", gate.id().toString());
    body.put("reason", why);
    body.put("accepted_plan", answer);
    return ApiResponse.status(409, body);
  }

  private ApiResponse skill(ApiRequest request) throws Exception {
    String skill = request.pathVariable("skill");
    Caller caller = auth.authenticate(request, "skills/" + skill, false);
    request.requireJson();
    JsonNode body = parse(request);
    body = auth.checkIdentity(request, caller, GateActions.SKILL_INVOKE, body);
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
    return ApiResponse.ok(mediator.call(caller, skill, o.get("input"), key));
  }

  private ApiResponse result(ApiRequest request) throws Exception {
    Caller caller = auth.authenticate(request, "result", true);
    request.requireJson();
    JsonNode body = auth.checkIdentity(request, caller, "agent.result", parse(request));
    return ApiResponse.ok(submitResult(caller, body));
  }

  /**
   * The attempt's result, as {@code POST /v1/agent/result} and the MCP tool {@code
   * worka.submit_result} take it: checked against the result schema, cleaned, recorded (a failed
   * result ends the attempt like any failure: retried unless it says it is not). Returns the
   * answer: the status recorded and what was cleaned.
   *
   * @throws ApiException 422 for an invalid result, 409 when the attempt is no longer running
   */
  Map<String, Object> submitResult(Caller caller, JsonNode body)
      throws Exception { // The protocol's result schema first (worka-protocol result.schema.json),
    // then what a schema
    // cannot say (nesting depth).
    List<String> violations =
        new ArrayList<>(RESULT_SCHEMA.check(body).stream().map(Object::toString).toList());
    if (body.path("output").isContainerNode() && depth(body.path("output")) > MAX_OUTPUT_DEPTH) {
      violations.add("$.output: nested deeper than " + MAX_OUTPUT_DEPTH + " levels");
    }
    StepResult parsed = null;
    if (violations.isEmpty()) {
      try {
        parsed = Json.STRICT.treeToValue(body, StepResult.class);
      } catch (JsonProcessingException e) {
        violations.add("the body is not a result: " + e.getOriginalMessage());
      }
    }
    if (!violations.isEmpty()) {
      throw new ApiException(
          422,
          new ErrorBody(
              ErrorCodes.INVALID_BODY,
              "invalid result: " + String.join("; ", violations),
              null,
              null,
              violations));
    }
    StepResult result = parsed;
    boolean succeeded = StepResult.SUCCEEDED.equals(result.status());
    OutputCleaner.Cleaned output =
        cleaner.clean(
            result.output() == null || result.output().isNull()
                ? Json.STRICT.createObjectNode()
                : result.output());
    Map<String, Integer> cleaning = new java.util.TreeMap<>(output.changes());
    String summary = cleaner.cleanText(result.summary(), cleaning);
    String error =
        succeeded
            ? null
            : cleaner.cleanText(
                result.error() == null
                    ? "the agent reported a failure without a reason"
                    : result.error(),
                cleaning);
    Step step = caller.step();
    String actor = "agent:" + caller.agent() + "#" + caller.claims().attempt();
    StepStore.Change written =
        new StepStore.Change(
            Json.STRICT.writeValueAsString(output.value()),
            summary,
            error,
            null,
            false,
            Json.write(cleaning));
    int attempt = caller.claims().attempt();
    String refused =
        Transactions.inTransaction(
            dataSource,
            c -> {
              if (!succeeded) {
                // A failed result is a failed attempt: retried unless the worker said it is not
                // retryable.
                EndFailedAttempt.Failure failure =
                    EndFailedAttempt.Failure.of(
                            Burn.FAILED,
                            StepStatus.FAILED,
                            error,
                            Map.of(
                                "retryable",
                                result.retryable() == null ? "unspecified" : result.retryable()))
                        .writing(written);
                if (Boolean.FALSE.equals(result.retryable())) {
                  failure =
                      failure.notRetryable(
                          "agent " + caller.agent() + " said its failure is not retryable");
                }
                return failures.end(c, step, attempt, failure, actor)
                        instanceof EndFailedAttempt.Ending.LostRace lost
                    ? lost.actual()
                    : null;
              }
              Transition moved =
                  steps.transition(
                      c,
                      step.id(),
                      StepStatus.RUNNING,
                      StepStatus.SUCCEEDED,
                      attempt,
                      written,
                      actor,
                      summary);
              if (moved.applied()) {
                queue.enqueue(
                    c,
                    TaskKinds.ADVANCE_RUN,
                    step.runId(),
                    step.id(),
                    TaskKinds.advanceKey(step.runId(), step.id(), attempt),
                    null);
                return null;
              }
              return moved.toString();
            });
    if (refused != null) {
      throw new ApiException(
          409, ErrorCodes.CONFLICT, "step " + step.id() + " is no longer running: " + refused);
    }
    queue.wakeUp();
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("status", succeeded ? "succeeded" : "failed");
    answer.put("cleaned", cleaning);
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
        queue.extendClaimed(TaskKinds.executeKey(caller.step().id(), caller.claims().attempt()));
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("step_id", caller.step().id().toString());
    answer.put(
        "deadline", caller.step().deadline() == null ? null : caller.step().deadline().toString());
    answer.put("lease_until", lease.map(Instant::toString).orElse(null));
    return ApiResponse.ok(answer);
  }

  private static int depth(JsonNode node) {
    int deepest = 0;
    for (JsonNode child : node) {
      deepest = Math.max(deepest, depth(child));
    }
    return node.isContainerNode() ? deepest + 1 : 0;
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
