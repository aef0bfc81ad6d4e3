package dev.worka.gateway.ingress.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Burn;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.invocation.ModelUsageStore;
import dev.worka.gateway.plan.PlanStore;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunEvent;
import dev.worka.gateway.run.RunEvents;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The whole story of a run as {@code GET /v1/runs/{id}} tells it (DESIGN §10): the request, the
 * pinned policy, the plan, the steps with their outputs, every gate, burn and skill invocation, the
 * artifacts and every transition — read in one repeatable-read snapshot.
 */
public final class RunStory {
  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final PlanStore plans;
  private final AuditLog audit;
  private final InvocationStore invocations;
  private final PolicyStore policies;

  public RunStory(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PlanStore plans,
      AuditLog audit,
      InvocationStore invocations,
      PolicyStore policies) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.plans = plans;
    this.audit = audit;
    this.invocations = invocations;
    this.policies = policies;
  }

  /**
   * An extension of the story: the model calls the Gateway proxied for the run's steps, their
   * tokens, and the run's budget ({@code limits.max_model_tokens_per_run} of its pinned policy).
   */
  private static Map<String, Object> modelUsage(
      java.sql.Connection c, UUID runId, Map<UUID, String> refs, StoredPolicy policy)
      throws java.sql.SQLException {
    long input = 0;
    long output = 0;
    List<Map<String, Object>> calls = new ArrayList<>();
    for (ModelUsageStore.Usage u : new ModelUsageStore().ofRun(c, runId)) {
      input += u.inputTokens();
      output += u.outputTokens();
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("step_id", u.stepId().toString());
      v.put("step_ref", refs.get(u.stepId()));
      v.put("agent", u.agent());
      v.put("attempt", u.attempt());
      v.put("gate_id", u.gateId().toString());
      v.put("model", u.model());
      v.put("upstream_status", u.upstreamStatus());
      v.put("input_tokens", u.inputTokens());
      v.put("output_tokens", u.outputTokens());
      v.put("counted", u.counted());
      v.put("at", u.at().toString());
      calls.add(v);
    }
    Map<String, Object> usage = new LinkedHashMap<>();
    usage.put("input_tokens", input);
    usage.put("output_tokens", output);
    usage.put("total_tokens", input + output);
    usage.put("budget_tokens", policy.policy().limits().maxModelTokensPerRun());
    usage.put("calls", calls);
    return usage;
  }

  /** The run's story, or empty if there is no such run. */
  public Optional<Map<String, Object>> of(UUID runId) {
    return Transactions.inTransaction(
        dataSource,
        c -> {
          c.setTransactionIsolation(java.sql.Connection.TRANSACTION_REPEATABLE_READ);
          Optional<Run> found = runs.find(c, runId, Lock.NONE);
          if (found.isEmpty()) {
            return Optional.empty();
          }
          Run run = found.get();
          List<Step> allSteps = steps.ofRun(c, runId);
          Map<UUID, String> refs = new HashMap<>();
          allSteps.forEach(s -> refs.put(s.id(), s.stepRef()));

          Map<String, Object> story = summary(run);
          StoredPolicy policy = policies.byId(c, run.policyManifestId());
          story.put(
              "policy_manifest",
              Map.of(
                  "id",
                  policy.id().toString(),
                  "version",
                  policy.version(),
                  "sha256",
                  policy.sha256()));
          story.put("result", Json.parse(run.resultJson()));
          story.put("error", run.error());

          List<PlanStore.StoredPlan> proposed = plans.ofRun(c, runId);
          Optional<PlanStore.StoredPlan> shown =
              proposed.stream()
                  .filter(p -> p.status().equals("accepted"))
                  .findFirst()
                  .or(
                      () ->
                          proposed.isEmpty()
                              ? Optional.empty()
                              : Optional.of(proposed.get(proposed.size() - 1)));
          if (shown.isPresent()) {
            PlanStore.StoredPlan p = shown.get();
            Map<String, Object> plan = new LinkedHashMap<>();
            plan.put("plan_id", p.id().toString());
            plan.put("status", p.status());
            plan.put("created_by", p.createdBy());
            plan.put("plan_hash", p.planHash());
            JsonNode normalized = Json.parse(p.normalizedPlanJson());
            plan.put(
                "summary", normalized == null ? null : normalized.path("summary").asText(null));
            plan.put("steps", normalized == null ? List.of() : normalized.path("steps"));
            plan.put("rejection_reasons", p.rejectionReasons());
            if (p.status().equals("rejected")) {
              plan.put(
                  "raw_plan",
                  p.rawPlan().length() > 20_000
                      ? p.rawPlan().substring(0, 20_000) + "…"
                      : p.rawPlan());
            }
            story.put("plan", plan);
          } else {
            story.put("plan", null);
          }
          story.put("plans_proposed", proposed.size());

          List<Map<String, Object>> stepViews = new ArrayList<>();
          for (Step s : allSteps) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("step_id", s.id().toString());
            v.put("step_ref", s.stepRef());
            v.put("role", s.role().sql());
            v.put("agent", s.agent());
            v.put("status", s.status().sql());
            v.put("attempt", s.attempt());
            v.put("objective", Json.parse(s.instructionJson()).path("objective").asText(null));
            v.put("skills", s.allowedSkills());
            v.put(
                "depends_on",
                s.dependsOn().stream().map(d -> refs.getOrDefault(d, d.toString())).toList());
            v.put("depends_on_ids", s.dependsOn().stream().map(UUID::toString).toList());
            v.put("summary", s.summary());
            v.put("output", Json.parse(s.outputJson()));
            v.put("error", s.error());
            v.put("cleaned", Json.parse(s.cleaningJson()));
            v.put("started_at", str(s.startedAt()));
            v.put("completed_at", str(s.completedAt()));
            stepViews.add(v);
          }
          story.put("steps", stepViews);

          List<Map<String, Object>> gates = new ArrayList<>();
          for (Gate g : audit.gatesOfRun(c, runId)) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("gate_id", g.id().toString());
            v.put("action", g.action().sql());
            v.put("skill", g.skill());
            v.put("status", g.status().sql());
            v.put("subject", g.subject());
            v.put("step_id", g.stepId() == null ? null : g.stepId().toString());
            v.put("step_ref", g.stepId() == null ? null : refs.get(g.stepId()));
            v.put("attempt", g.attempt());
            v.put("reason", g.reason());
            v.put(
                "policy_manifest_id",
                g.policyManifestId() == null ? null : g.policyManifestId().toString());
            v.put("at", str(g.createdAt()));
            v.put("chain_index", g.chainIndex());
            gates.add(v);
          }
          story.put("gates", gates);

          List<Map<String, Object>> burns = new ArrayList<>();
          for (Burn b : audit.burnsOfRun(c, runId)) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("burn_id", b.id().toString());
            v.put("kind", b.kind().sql());
            v.put("step_id", b.stepId() == null ? null : b.stepId().toString());
            v.put("step_ref", b.stepId() == null ? null : refs.get(b.stepId()));
            v.put("agent", b.agent());
            v.put("attempt", b.attempt());
            v.put("reason", b.reason());
            v.put("diagnostics", Json.parse(b.diagnosticsJson()));
            v.put("at", str(b.createdAt()));
            burns.add(v);
          }
          story.put("burns", burns);

          List<Map<String, Object>> calls = new ArrayList<>();
          Map<UUID, List<String>> lockEvents = invocations.lockEventsOfRun(c, runId);
          for (InvocationStore.Invocation i : invocations.ofRun(c, runId)) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("invocation_id", i.id().toString());
            v.put("skill", i.skill());
            v.put("agent", i.agent());
            v.put("step_id", i.stepId().toString());
            v.put("step_ref", refs.get(i.stepId()));
            v.put("gate_id", i.gateId().toString());
            v.put("status", i.status());
            v.put("policy_status", i.policyStatus());
            v.put("lock_status", i.lockStatus());
            v.put("lock_events", lockEvents.getOrDefault(i.id(), List.of()));
            v.put("idempotency_key", i.idempotencyKey());
            v.put("dry_run", i.dryRun());
            v.put("input", Json.parse(i.inputJson()));
            v.put("output", Json.parse(i.outputJson()));
            v.put("error", i.error());
            v.put("upstream_ref", i.upstreamRef());
            v.put("cleaned", Json.parse(i.cleaningJson()));
            calls.add(v);
          }
          story.put("skill_invocations", calls);
          story.put("model_usage", modelUsage(c, runId, refs, policy));

          List<Map<String, Object>> answered = new ArrayList<>();
          for (RunNotifications.Notification n :
              new RunNotifications(java.time.InstantSource.system()).ofRun(c, runId)) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("kind", n.kind().sql());
            v.put("to", n.source().sql());
            v.put("status", n.status());
            v.put("attempts", n.attempts());
            v.put("upstream_ref", n.upstreamRef());
            v.put("last_error", n.lastError());
            v.put("sent_at", str(n.sentAt()));
            answered.add(v);
          }
          story.put("notifications", answered);

          List<Map<String, Object>> artifacts =
              Sql.list(
                  c,
                  "select "
                      + ARTIFACT_COLUMNS
                      + " from artifacts where run_id = ? order by created_at, id",
                  RunStory::artifact,
                  runId);
          story.put("artifacts", artifacts);

          List<Map<String, Object>> events = new ArrayList<>();
          for (RunEvent e : RunEvents.of(c, runId, 0, 10_000)) {
            events.add(event(e, refs.get(e.stepId())));
          }
          story.put("events", events);
          return Optional.of(story);
        });
  }

  /** The columns {@link #artifact} reads. */
  static final String ARTIFACT_COLUMNS =
      "id, run_id, step_id, skill_invocation_id, kind, name, uri, sha256,"
          + " octet_length(content) as bytes, created_at";

  /** One artifact as the story lists it (without its content), from {@link #ARTIFACT_COLUMNS}. */
  static Map<String, Object> artifact(ResultSet rs) throws SQLException {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("artifact_id", rs.getString("id"));
    v.put("step_id", rs.getString("step_id"));
    v.put("invocation_id", rs.getString("skill_invocation_id"));
    v.put("kind", rs.getString("kind"));
    v.put("name", rs.getString("name"));
    v.put("uri", rs.getString("uri"));
    v.put("sha256", rs.getString("sha256"));
    long bytes = rs.getLong("bytes");
    v.put("content_bytes", rs.wasNull() ? null : bytes);
    v.put("at", str(Sql.getInstant(rs, "created_at")));
    return v;
  }

  /** The short form used by the run list. */
  public static Map<String, Object> summary(Run run) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("run_id", run.id().toString());
    v.put("status", run.status().sql());
    v.put("source", run.source().sql());
    v.put("text", run.text());
    v.put("requester", run.requester());
    v.put("trace_id", run.traceId());
    v.put("created_at", str(run.createdAt()));
    v.put("updated_at", str(run.updatedAt()));
    v.put("completed_at", str(run.completedAt()));
    return v;
  }

  /** One transition as the story and the event stream show it. */
  public static Map<String, Object> event(RunEvent e, String stepRef) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("id", e.id());
    v.put("entity", e.entity());
    v.put("step_id", e.stepId() == null ? null : e.stepId().toString());
    v.put("step_ref", stepRef);
    v.put("from", e.from());
    v.put("to", e.to());
    v.put("actor", e.actor());
    v.put("detail", e.detail());
    v.put("at", str(e.at()));
    return v;
  }

  private static String str(Object o) {
    return o == null ? null : o.toString();
  }
}
