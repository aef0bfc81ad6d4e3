package dev.worka.gateway.ingress.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateChain;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.invocation.ResolveInvocation;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunEvent;
import dev.worka.gateway.run.RunEvents;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.SpanIds;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import javax.sql.DataSource;

/**
 * The {@code /v1/runs}, {@code /v1/gates}, {@code /v1/skills}, {@code /v1/policy} and health
 * endpoints.
 */
public final class OperatorApi {
  private static final int MAX_TEXT = 8000;
  private static final Duration EVENT_POLL = Duration.ofMillis(150);
  private static final Duration EVENT_KEEPALIVE = Duration.ofSeconds(15);

  private final DataSource dataSource;
  private final Database database;
  private final OperatorAuth auth;
  private final RunService service;
  private final RunStore runs;
  private final StepStore steps;
  private final RunStory story;
  private final SkillRegistry skills;
  private final PolicyStore policies;
  private final Supplier<String> metrics;
  private final ResolveInvocation resolver;
  private final ApplyPolicy applyPolicy;
  private final Tracing tracing;

  public OperatorApi(
      Database database,
      String operatorToken,
      RunService service,
      RunStore runs,
      StepStore steps,
      RunStory story,
      SkillRegistry skills,
      PolicyStore policies,
      Supplier<String> metrics,
      ResolveInvocation resolver,
      ApplyPolicy applyPolicy,
      Tracing tracing) {
    this.tracing = tracing;
    this.resolver = resolver;
    this.applyPolicy = applyPolicy;
    this.dataSource = database.dataSource();
    this.database = database;
    this.auth = new OperatorAuth(operatorToken);
    this.service = service;
    this.runs = runs;
    this.steps = steps;
    this.story = story;
    this.skills = skills;
    this.policies = policies;
    this.metrics = metrics;
  }

  public void register(Router router) {
    router.addEverywhere("GET", "/healthz", r -> ApiResponse.ok(Map.of("status", "ok")));
    router.add("GET", "/readyz", this::ready);
    router.add(
        "GET",
        "/metrics",
        r -> {
          auth.require(r);
          return new ApiResponse.Text(200, "text/plain; version=0.0.4", metrics.get());
        });
    router.add("POST", "/v1/runs", this::create);
    router.add("GET", "/v1/runs", this::list);
    router.add("GET", "/v1/runs/{id}", this::show);
    router.add("GET", "/v1/runs/{id}/events", this::events);
    router.add("POST", "/v1/runs/{id}/cancel", this::cancel);
    router.add("POST", "/v1/invocations/{id}/resolve", this::resolveInvocation);
    router.add("GET", "/v1/artifacts/{id}", this::artifact);
    router.add("GET", "/v1/skills", this::skills);
    router.add("GET", "/v1/audit/verify", this::verifyAudit);
    router.add("GET", "/v1/gates", this::gates);
    router.add("GET", "/v1/policy", this::policy);
    router.add("PUT", "/v1/policy", 1024 * 1024, this::putPolicy);
  }

  private ApiResponse ready(ApiRequest r) {
    boolean reachable = database.reachable();
    boolean migrated = false;
    if (reachable) {
      try {
        migrated = database.migrationsApplied();
      } catch (RuntimeException e) { // it went away between the two checks
        reachable = false;
        database.check();
      }
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", reachable && migrated ? "ready" : "not_ready");
    body.put("database", reachable ? "reachable" : "unreachable");
    body.put("migrations", !reachable ? "unknown" : migrated ? "applied" : "pending");
    return reachable && migrated
        ? ApiResponse.ok(body)
        : ApiResponse.withHeader(503, body, "Retry-After", "5");
  }

  /** The request's body as a JSON object, or 415/422 saying it must be {@code shape}. */
  static JsonNode jsonObject(ApiRequest r, String shape) {
    r.requireJson();
    JsonNode body;
    try {
      body = Json.STRICT.readTree(r.bodyText());
    } catch (JsonProcessingException e) {
      throw invalid("the body is not valid JSON: " + e.getOriginalMessage());
    }
    if (body == null || !body.isObject()) {
      throw invalid("the body must be " + shape);
    }
    return body;
  }

  private ApiResponse create(ApiRequest r) {
    auth.require(r);
    JsonNode body = jsonObject(r, "a JSON object {\"text\": \"...\", \"requester\": \"optional\"}");
    List<String> problems = new ArrayList<>();
    body.fieldNames()
        .forEachRemaining(
            f -> {
              if (!f.equals("text") && !f.equals("requester") && !f.equals("source")) {
                problems.add("unknown field " + f);
              }
            });
    String text = body.path("text").isTextual() ? body.get("text").asText().strip() : null;
    if (text == null || text.isEmpty()) {
      problems.add("text is required: the request, in words");
    } else if (text.length() > MAX_TEXT) {
      problems.add("text is longer than " + MAX_TEXT + " characters");
    }
    String requester = body.path("requester").isTextual() ? body.get("requester").asText() : null;
    if (body.has("requester")
        && !body.get("requester").isTextual()
        && !body.get("requester").isNull()) {
      problems.add("requester must be a string");
    }
    if (requester != null && requester.length() > 200) {
      problems.add("requester is longer than 200 characters");
    }
    String sourceName = body.path("source").asText(RunSource.API.sql());
    RunSource source =
        sourceName.equals(RunSource.API.sql())
            ? RunSource.API
            : sourceName.equals(RunSource.CLI.sql()) ? RunSource.CLI : null;
    if (source == null) {
      problems.add(
          "source must be api or cli here (slack and github runs come through their own ingress)");
    }
    String key = r.header("Idempotency-Key");
    if (key != null && !key.matches("[\\x21-\\x7e]{1,200}")) {
      problems.add("Idempotency-Key must be 1-200 visible ASCII characters");
    }
    if (!problems.isEmpty()) {
      throw new ApiException(
          422,
          new ErrorBody(
              ErrorCodes.INVALID_BODY, String.join("; ", problems), null, null, problems));
    }
    // A caller's W3C traceparent is continued: the run joins the caller's trace.
    String traceparent = r.header("traceparent");
    RunService.Creation creation =
        service.create(
            new RunService.Request(
                source,
                text,
                requester,
                key == null ? null : "api:" + key,
                Tracing.traceIdOf(traceparent).orElse(null)));
    return switch (creation) {
      case RunService.Creation.Created c -> {
        tracing.ingress(
            "POST /v1/runs",
            source.sql(),
            null,
            traceparent,
            c.run().traceId(),
            c.run().id(),
            !c.replayed());
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("run_id", c.run().id().toString());
        answer.put("status", c.run().status().sql());
        answer.put("trace_id", c.run().traceId());
        answer.put("replayed", c.replayed());
        yield ApiResponse.withHeader(
            202, answer, "traceparent", runTraceparent(c.run().traceId(), c.run().id()));
      }
      case RunService.Creation.KeyConflict k ->
          throw new ApiException(
              409,
              ErrorCodes.IDEMPOTENCY_CONFLICT,
              "Idempotency-Key was already used for run "
                  + k.existingRunId()
                  + " with a different body");
      case RunService.Creation.Denied d ->
          throw new ApiException(
              403,
              new ErrorBody(
                  ErrorCodes.INGRESS_DENIED,
                  "the policy's ingress section does not let this requester start runs; no run was created (the"
                      + " refusal is gate "
                      + d.gateId()
                      + ")",
                  d.gateId().toString(),
                  d.reason(),
                  null));
      case RunService.Creation.OverQuota q ->
          throw new ApiException(
              429,
              new ErrorBody(
                  ErrorCodes.QUOTA_EXCEEDED,
                  "this requester is over a quota of the policy's ingress.quotas; no run was created (the refusal is gate "
                      + q.gateId()
                      + "); "
                      + q.retryAfter()
                          .map(d -> "try again in " + d.toSeconds() + " s")
                          .orElse("try again when one of its runs has ended"),
                  q.gateId().toString(),
                  q.reason(),
                  null),
              q.retryAfter()
                  .map(d -> Map.of("Retry-After", Long.toString(d.toSeconds())))
                  .orElse(Map.of()));
    };
  }

  /**
   * {@code GET /v1/gates?action=&status=&subject=&before=&limit=}: gates newest first — the only
   * place refused requests ({@code action=run.create}, which have no run) are seen.
   */
  private ApiResponse gates(ApiRequest r) {
    auth.require(r);
    String action = blankToNull(r.query("action"));
    if (action != null && !action.matches("[a-z][a-z0-9_.]{0,99}")) {
      throw invalid(
          "action must be a gate action such as "
              + GateAction.RUN_CREATE.sql()
              + " or "
              + GateAction.SKILL_INVOKE.sql());
    }
    GateStatus status = null;
    String statusText = blankToNull(r.query("status"));
    if (statusText != null) {
      status =
          switch (statusText) {
            case "allow" -> GateStatus.ALLOW;
            case "deny" -> GateStatus.DENY;
            default -> throw invalid("status must be allow or deny");
          };
    }
    String subject = blankToNull(r.query("subject"));
    if (subject != null && subject.length() > 200) {
      throw invalid("subject is longer than 200 characters");
    }
    UUID before = null;
    if (blankToNull(r.query("before")) != null) {
      try {
        before = UUID.fromString(r.query("before").strip());
      } catch (IllegalArgumentException e) {
        throw invalid("before must be a gate id (a UUID) from an earlier page");
      }
    }
    int limit = limit(r);
    GateStatus s = status;
    UUID b = before;
    List<Gate> found =
        Transactions.withConnection(
            dataSource, c -> AuditLog.recent(c, action, s, subject, b, limit));
    List<Map<String, Object>> views = new ArrayList<>();
    for (Gate g : found) {
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("gate_id", g.id().toString());
      v.put("action", g.action().sql());
      v.put("status", g.status().sql());
      v.put("subject", g.subject());
      v.put("run_id", g.runId() == null ? null : g.runId().toString());
      v.put("step_id", g.stepId() == null ? null : g.stepId().toString());
      v.put("skill", g.skill());
      v.put("reason", g.reason());
      v.put(
          "policy_manifest_id",
          g.policyManifestId() == null ? null : g.policyManifestId().toString());
      v.put("trace_id", g.traceId());
      v.put("at", g.createdAt().toString());
      views.add(v);
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("gates", views);
    body.put(
        "next_before", found.size() == limit ? found.get(found.size() - 1).id().toString() : null);
    return ApiResponse.ok(body);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }

  private ApiResponse list(ApiRequest r) {
    auth.require(r);
    RunStatus status = null;
    if (r.query("status") != null && !r.query("status").isBlank()) {
      try {
        status = RunStatus.fromSql(r.query("status").trim());
      } catch (IllegalArgumentException e) {
        throw invalid(
            "status must be one of "
                + java.util.Arrays.stream(RunStatus.values()).map(RunStatus::sql).toList());
      }
    }
    int limit = limit(r);
    RunStatus filter = status;
    List<Map<String, Object>> views =
        Transactions.withConnection(dataSource, c -> runs.list(c, filter, limit)).stream()
            .map(RunStory::summary)
            .toList();
    return ApiResponse.ok(Map.of("runs", views));
  }

  private ApiResponse show(ApiRequest r) {
    auth.require(r);
    UUID id = runId(r);
    Map<String, Object> told = story.of(id).orElseThrow(() -> notFound(id));
    Object traceId = told.get("trace_id");
    return traceId instanceof String t
        ? ApiResponse.withHeader(200, told, "traceparent", runTraceparent(t, id))
        : ApiResponse.ok(told);
  }

  /** The {@code traceparent} a run route answers with: the run's trace and span. */
  private static String runTraceparent(String traceId, UUID runId) {
    return SpanIds.traceparent(traceId, SpanIds.run(runId));
  }

  private ApiResponse cancel(ApiRequest r) {
    auth.require(r);
    UUID id = runId(r);
    String reason = null;
    if (r.body().length > 0) {
      r.requireJson();
      try {
        reason = Json.STRICT.readTree(r.bodyText()).path("reason").asText(null);
      } catch (JsonProcessingException e) {
        throw invalid("the body is not valid JSON: " + e.getOriginalMessage());
      }
    }
    return switch (service.cancel(id, "operator", reason)) {
      case RunService.Cancellation.Cancelled c ->
          ApiResponse.withHeader(
              200,
              RunStory.summary(c.run()),
              "traceparent",
              runTraceparent(c.run().traceId(), c.run().id()));
      case RunService.Cancellation.AlreadyEnded a ->
          throw new ApiException(
              409,
              ErrorCodes.ILLEGAL_STATE,
              "run " + id + " already ended (" + a.run().status().sql() + ")");
      case RunService.Cancellation.NotFound n -> throw notFound(id);
    };
  }

  /**
   * Settles an {@code unknown} skill call: {@code {"outcome": "performed"|"not_performed",
   * "reason": "...", "upstream_ref": "..."}} (see {@link ResolveInvocation}).
   */
  private ApiResponse resolveInvocation(ApiRequest r) {
    auth.require(r);
    UUID id;
    try {
      id = UUID.fromString(r.pathVariable("id"));
    } catch (IllegalArgumentException e) {
      throw new ApiException(404, ErrorCodes.NOT_FOUND, "no invocation " + r.pathVariable("id"));
    }
    JsonNode body =
        jsonObject(
            r,
            "{\"outcome\": \"performed\"|\"not_performed\", \"reason\": \"...\","
                + " \"upstream_ref\": \"optional\"}");
    List<String> unknown = new ArrayList<>();
    body.fieldNames()
        .forEachRemaining(
            f -> {
              if (!List.of("outcome", "reason", "upstream_ref").contains(f)) {
                unknown.add(f);
              }
            });
    if (!unknown.isEmpty()) {
      throw invalid("unknown field(s) " + unknown + " (allowed: outcome, reason, upstream_ref)");
    }
    ResolveInvocation.Outcome outcome =
        switch (body.path("outcome").asText("")) {
          case "performed" -> ResolveInvocation.Outcome.PERFORMED;
          case "not_performed" -> ResolveInvocation.Outcome.NOT_PERFORMED;
          default ->
              throw invalid(
                  "outcome must be \"performed\" or \"not_performed\" (what you found upstream)");
        };
    JsonNode reason = body.path("reason");
    if (!reason.isTextual() || reason.asText().isBlank() || reason.asText().length() > 2000) {
      throw invalid(
          "reason must say, in 1-2000 characters, what you found upstream (it is recorded in the gate)");
    }
    JsonNode ref = body.path("upstream_ref");
    if (!ref.isMissingNode()
        && !ref.isNull()
        && (!ref.isTextual() || ref.asText().length() > 500)) {
      throw invalid("upstream_ref must be a string of at most 500 characters");
    }
    String upstreamRef = ref.isTextual() ? ref.asText() : null;
    if (upstreamRef != null && outcome == ResolveInvocation.Outcome.NOT_PERFORMED) {
      throw invalid("upstream_ref names the effect upstream: only with outcome \"performed\"");
    }
    return switch (resolver.resolve(id, outcome, reason.asText(), upstreamRef)) {
      case ResolveInvocation.Result.Resolved res ->
          ApiResponse.ok(
              Map.of(
                  "invocation_id",
                  res.invocationId().toString(),
                  "status",
                  res.status(),
                  "gate_id",
                  res.gateId().toString()));
      case ResolveInvocation.Result.NotFound n ->
          throw new ApiException(404, ErrorCodes.NOT_FOUND, "no invocation " + id);
      case ResolveInvocation.Result.NotUnknown n ->
          throw new ApiException(
              409,
              ErrorCodes.ILLEGAL_STATE,
              "invocation "
                  + id
                  + " is "
                  + n.status()
                  + ": only an unknown outcome can be resolved");
    };
  }

  /** The most events one run's stream reads per poll. */
  private static final int MAX_STREAMED_EVENTS = 10_000;

  /** Server-sent events: every transition of the run as it happens, then {@code end}. */
  private ApiResponse events(ApiRequest r) {
    auth.require(r);
    UUID id = runId(r);
    if (Transactions.withConnection(dataSource, c -> runs.find(c, id, Lock.NONE)).isEmpty()) {
      throw notFound(id);
    }
    long from = 0;
    String last = r.header("Last-Event-ID");
    if (last != null) {
      try {
        from = Long.parseLong(last.trim());
      } catch (NumberFormatException e) {
        throw invalid("Last-Event-ID must be an event id");
      }
    }
    long start = from;
    return new ApiResponse.Streaming(
        200,
        "text/event-stream; charset=utf-8",
        out -> {
          long lastWrite = System.nanoTime();
          Map<UUID, String> refs = new HashMap<>();
          // Event ids are taken when a transaction inserts, not when it commits: two transactions
          // of
          // one run can commit out of id order, so every poll reads all of the run's events after
          // `start` and sends those not sent yet (a cursor would skip the late one for good). The
          // run
          // is read first: once it is terminal, every event of it was committed before that read.
          java.util.Set<Long> sent = new java.util.HashSet<>();
          out.write(": worka run " + id + "\n\n");
          while (true) {
            record Batch(Optional<Run> run, List<RunEvent> events, List<Step> steps) {}
            Batch batch =
                Transactions.withConnection(
                    dataSource,
                    c -> {
                      Optional<Run> run = runs.find(c, id, Lock.NONE);
                      return new Batch(
                          run, RunEvents.of(c, id, start, MAX_STREAMED_EVENTS), steps.ofRun(c, id));
                    });
            batch.steps().forEach(s -> refs.put(s.id(), s.stepRef()));
            boolean wrote = false;
            for (RunEvent e : batch.events()) {
              if (!sent.add(e.id())) {
                continue;
              }
              out.write(
                  "id: "
                      + e.id()
                      + "\nevent: transition\ndata: "
                      + Json.STRICT.writeValueAsString(RunStory.event(e, refs.get(e.stepId())))
                      + "\n\n");
              lastWrite = System.nanoTime();
              wrote = true;
            }
            if (!wrote && batch.run().map(run -> run.status().terminal()).orElse(true)) {
              Map<String, Object> end = new LinkedHashMap<>();
              end.put("run_id", id.toString());
              end.put("status", batch.run().map(run -> run.status().sql()).orElse("missing"));
              out.write("event: end\ndata: " + Json.STRICT.writeValueAsString(end) + "\n\n");
              return;
            }
            if (!wrote) {
              if (System.nanoTime() - lastWrite > EVENT_KEEPALIVE.toNanos()) {
                out.write(": keep-alive\n\n");
                lastWrite = System.nanoTime();
              }
              Thread.sleep(EVENT_POLL);
            }
          }
        });
  }

  /**
   * One artifact of a run's evidence, with its content (an output kept because it was large; null
   * for a reference, whose {@code uri} is the point).
   */
  private ApiResponse artifact(ApiRequest r) {
    auth.require(r);
    UUID id;
    try {
      id = UUID.fromString(r.pathVariable("id"));
    } catch (IllegalArgumentException e) {
      throw new ApiException(404, ErrorCodes.NOT_FOUND, "no artifact " + r.pathVariable("id"));
    }
    Optional<Map<String, Object>> found =
        Transactions.withConnection(
            dataSource,
            c ->
                Sql.one(
                    c,
                    "select " + RunStory.ARTIFACT_COLUMNS + ", content from artifacts where id = ?",
                    rs -> {
                      Map<String, Object> v = RunStory.artifact(rs);
                      v.put("run_id", rs.getString("run_id"));
                      v.put("content", rs.getString("content"));
                      return v;
                    },
                    id));
    return ApiResponse.ok(
        found.orElseThrow(() -> new ApiException(404, ErrorCodes.NOT_FOUND, "no artifact " + id)));
  }

  private ApiResponse skills(ApiRequest r) {
    auth.require(r);
    List<Map<String, Object>> list = new ArrayList<>();
    for (SkillDefinition d : skills.all()) {
      Map<String, Object> v = new LinkedHashMap<>();
      Optional<String> unavailable = skills.unavailableReason(d.name());
      v.put("name", d.name());
      v.put("provider", d.provider());
      v.put("description", d.description());
      v.put("side_effect", d.sideEffect());
      v.put("available", unavailable.isEmpty());
      v.put("unavailable_reason", unavailable.orElse(null));
      v.put("input_schema", d.inputSchema());
      list.add(v);
    }
    return ApiResponse.ok(Map.of("skills", list));
  }

  /** Walks the gates' hash chain; 200 either way, the body says intact or where it breaks. */
  private ApiResponse verifyAudit(ApiRequest r) {
    auth.require(r);
    GateChain.Verification v =
        Transactions.inTransaction(
            dataSource,
            c -> {
              c.setTransactionIsolation(java.sql.Connection.TRANSACTION_REPEATABLE_READ);
              return GateChain.verify(c);
            });
    Map<String, Object> body = new LinkedHashMap<>();
    switch (v) {
      case GateChain.Verification.Intact i -> {
        body.put("intact", true);
        body.put("gates", i.length());
        body.put("head_hash", i.headHash());
      }
      case GateChain.Verification.Broken b -> {
        body.put("intact", false);
        body.put("chain_index", b.chainIndex());
        body.put("gate_id", b.gateId());
        body.put("problem", b.problem());
      }
    }
    return ApiResponse.ok(body);
  }

  private ApiResponse policy(ApiRequest r) {
    auth.require(r);
    StoredPolicy active =
        policies
            .active()
            .orElseThrow(() -> new ApiException(404, ErrorCodes.NOT_FOUND, "no policy is active"));
    return ApiResponse.ok(policyView(active));
  }

  private ApiResponse putPolicy(ApiRequest r) {
    auth.require(r);
    return switch (applyPolicy.apply(r.bodyText())) {
      case ApplyPolicy.Outcome.Applied a -> {
        Map<String, Object> view = policyView(a.policy());
        view.put("changed", a.changed());
        if (a.gateId() != null) {
          view.put("gate_id", a.gateId().toString());
        }
        yield ApiResponse.status(a.changed() ? 201 : 200, view);
      }
      case ApplyPolicy.Outcome.Refused refused ->
          throw new ApiException(
              403,
              new ErrorBody(
                  ErrorCodes.LAUNCH_NOT_ALLOWED,
                  "the manifest uses a launch spec this host does not allow, so the active policy is unchanged: keep the"
                      + " agents' command/image/module as in the built-in manifest or WORKA_POLICY_FILE, or have whoever"
                      + " runs the host add its directory or image prefix to WORKA_ALLOWED_LAUNCH",
                  refused.gateId().toString(),
                  String.join("; ", refused.reasons()),
                  refused.reasons()));
      case ApplyPolicy.Outcome.Invalid invalid ->
          throw new ApiException(
              422,
              new ErrorBody(
                  ErrorCodes.INVALID_POLICY,
                  "the manifest is invalid: " + String.join("; ", invalid.errors()),
                  null,
                  null,
                  invalid.errors()));
    };
  }

  static Map<String, Object> policyView(StoredPolicy p) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("id", p.id().toString());
    v.put("version", p.version());
    v.put("sha256", p.sha256());
    v.put("created_at", p.createdAt().toString());
    v.put("source", p.source());
    try {
      v.put("compiled", Json.LENIENT.readTree(p.policy().toJson()));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("compiled policy is not JSON", e);
    }
    return v;
  }

  private static UUID runId(ApiRequest r) {
    try {
      return UUID.fromString(r.pathVariable("id"));
    } catch (IllegalArgumentException e) {
      throw new ApiException(
          404, ErrorCodes.NOT_FOUND, "no run " + r.pathVariable("id") + " (run ids are UUIDs)");
    }
  }

  private static ApiException notFound(UUID id) {
    return new ApiException(404, ErrorCodes.NOT_FOUND, "no run " + id);
  }

  private static ApiException invalid(String message) {
    return new ApiException(
        422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
  }

  /** A list's {@code ?limit=}: 1 to 1000, 50 when absent. */
  static int limit(ApiRequest r) {
    if (r.query("limit") == null) {
      return 50;
    }
    int limit;
    try {
      limit = Integer.parseInt(r.query("limit"));
    } catch (NumberFormatException e) {
      throw invalid("limit must be a whole number");
    }
    if (limit < 1 || limit > 1000) {
      throw invalid("limit must be between 1 and 1000");
    }
    return limit;
  }
}
