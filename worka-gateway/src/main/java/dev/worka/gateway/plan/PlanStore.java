package dev.worka.gateway.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Sql;
import dev.worka.protocol.Json;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@code plans} table: every proposed plan is stored, accepted or rejected with its reasons. An
 * accepted plan's steps are inserted {@code pending} with their {@code step_ref} dependencies
 * rewritten into step ids; a rejected plan never becomes steps.
 */
public final class PlanStore {
  private final InstantSource clock;
  private final StepStore steps;

  public PlanStore(InstantSource clock, StepStore steps) {
    this.clock = clock;
    this.steps = steps;
  }

  /** A stored plan row. */
  public record StoredPlan(
      UUID id,
      UUID runId,
      String createdBy,
      String status,
      String planHash,
      String rawPlan,
      String normalizedPlanJson,
      List<String> rejectionReasons,
      UUID plannerStepId) {}

  /** Stores a rejected plan with its reasons; returns the plan id. */
  public UUID storeRejected(
      Connection c, UUID runId, UUID plannerStepId, String agent, String raw, List<String> reasons)
      throws SQLException {
    UUID id = UUID.randomUUID();
    insert(c, id, runId, plannerStepId, agent, "rejected", null, raw, null, reasons);
    return id;
  }

  /** Stores an accepted plan and its steps; returns the plan id and each step_ref's step id. */
  public record Stored(UUID planId, Map<String, UUID> stepIds) {}

  public Stored storeAccepted(
      Connection c,
      UUID runId,
      UUID plannerStepId,
      String agent,
      String raw,
      PlanValidation.Accepted accepted,
      int maxAttempts,
      String traceId)
      throws SQLException {
    UUID planId = UUID.randomUUID();
    insert(
        c,
        planId,
        runId,
        plannerStepId,
        agent,
        "accepted",
        accepted.planHash(),
        raw,
        accepted.canonicalJson(),
        List.of());
    Map<String, UUID> ids = new LinkedHashMap<>();
    for (NormalizedStep s : accepted.plan().steps()) {
      ids.put(s.stepRef(), UUID.randomUUID());
    }
    for (NormalizedStep s : accepted.plan().steps()) {
      List<UUID> deps = new ArrayList<>();
      for (String ref : s.dependsOn()) {
        deps.add(ids.get(ref)); // the validator guarantees every ref exists and comes earlier
      }
      Map<String, Object> instruction = new LinkedHashMap<>();
      instruction.put("objective", s.objective());
      instruction.put("depends_on", s.dependsOn());
      steps.insert(
          c,
          new StepStore.NewStep(
              ids.get(s.stepRef()),
              runId,
              planId,
              s.stepRef(),
              StepRole.WORKER,
              s.agent(),
              s.sequence(),
              Json.write(instruction),
              s.skills(),
              deps,
              maxAttempts),
          "gateway",
          traceId);
    }
    return new Stored(planId, ids);
  }

  /** Plans proposed for a run, oldest first. */
  public List<StoredPlan> ofRun(Connection c, UUID runId) throws SQLException {
    return Sql.list(
        c, "select * from plans where run_id = ? order by created_at, id", PlanStore::read, runId);
  }

  private static StoredPlan read(ResultSet rs) throws SQLException {
    List<String> reasons = new ArrayList<>();
    try {
      Json.LENIENT
          .readTree(rs.getString("rejection_reasons"))
          .forEach(n -> reasons.add(n.asText()));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("plans.rejection_reasons is not JSON", e);
    }
    return new StoredPlan(
        Sql.getUuid(rs, "id"),
        Sql.getUuid(rs, "run_id"),
        rs.getString("created_by"),
        rs.getString("status"),
        rs.getString("plan_hash"),
        rs.getString("raw_plan"),
        rs.getString("normalized_plan"),
        reasons,
        Sql.getUuid(rs, "planner_step_id"));
  }

  /** The accepted plan of a run, if any. */
  public Optional<StoredPlan> acceptedOf(Connection c, UUID runId) throws SQLException {
    return ofRun(c, runId).stream().filter(p -> p.status().equals("accepted")).findFirst();
  }

  private void insert(
      Connection c,
      UUID id,
      UUID runId,
      UUID plannerStepId,
      String agent,
      String status,
      String hash,
      String raw,
      String normalizedJson,
      List<String> reasons)
      throws SQLException {
    String storable = raw.replace("\u0000", "");
    Sql.update(
        c,
        "insert into plans (id, run_id, planner_step_id, created_by, status, plan_hash,"
            + " raw_plan, normalized_plan, rejection_reasons, created_at)"
            + " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        id,
        runId,
        plannerStepId,
        agent,
        status,
        hash,
        storable.length() > 300_000 ? storable.substring(0, 300_000) : storable,
        Sql.json(normalizedJson),
        Sql.json(Json.write(reasons)),
        clock.instant());
  }
}
