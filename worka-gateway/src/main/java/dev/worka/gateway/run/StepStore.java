package dev.worka.gateway.run;

import com.google.errorprone.annotations.CheckReturnValue;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@code steps} table. Status changes are compare-and-set on (status, and where given the
 * attempt), written with their {@code run_events} row on the caller's connection.
 */
public final class StepStore {
  private final InstantSource clock;

  public StepStore(InstantSource clock) {
    this.clock = clock;
  }

  /** What a new step is made of; it starts {@code pending}. */
  public record NewStep(
      UUID id,
      UUID runId,
      UUID planId,
      String stepRef,
      StepRole role,
      String agent,
      int sequence,
      String instructionJson,
      List<String> allowedSkills,
      List<UUID> dependsOn,
      int maxAttempts) {}

  /**
   * Data written together with a move; null fields are left as they are, except that a new attempt
   * starts without the output, summary and error of the one before (its burn keeps them).
   */
  public record Change(
      String outputJson,
      String summary,
      String error,
      Instant deadline,
      boolean newAttempt,
      String cleaningJson) {
    public static final Change NONE = new Change(null, null, null, null, false);

    public Change(
        String outputJson, String summary, String error, Instant deadline, boolean newAttempt) {
      this(outputJson, summary, error, deadline, newAttempt, null);
    }

    public static Change error(String error) {
      return new Change(null, null, error, null, false);
    }
  }

  public void insert(Connection c, NewStep s, String actor, String traceId) throws SQLException {
    Instant now = clock.instant();
    Sql.update(
        c,
        "insert into steps (id, run_id, plan_id, step_ref, role, agent_name, sequence,"
            + " instruction, allowed_skills, depends_on, status, max_attempts, created_at,"
            + " updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        s.id(),
        s.runId(),
        s.planId(),
        s.stepRef(),
        s.role().sql(),
        s.agent(),
        s.sequence(),
        Sql.json(s.instructionJson()),
        Sql.textArray(c, s.allowedSkills()),
        Sql.uuidArray(c, s.dependsOn()),
        s.maxAttempts(),
        now,
        now);
    RunEvents.append(
        c,
        s.runId(),
        s.id(),
        "step",
        null,
        StepStatus.PENDING.sql(),
        actor,
        s.role().sql() + " step " + s.stepRef() + " for " + s.agent(),
        traceId,
        now);
  }

  /**
   * Moves a step from {@code from} to {@code to} if it is still there (and, when {@code
   * expectedAttempt} is non-null, still on that attempt).
   */
  @CheckReturnValue
  public Transition transition(
      Connection c,
      UUID stepId,
      StepStatus from,
      StepStatus to,
      Integer expectedAttempt,
      Change change,
      String actor,
      String detail)
      throws SQLException {
    if (!StepStatus.MACHINE.allows(from, to)) {
      return new Transition.Illegal(from.sql(), to.sql());
    }
    Instant now = clock.instant();
    Optional<UUID> moved =
        Sql.one(
            c,
            "update steps set status = ?, version = version + 1, updated_at = ?,"
                + " attempt = attempt + ?,"
                + " output = coalesce(?::jsonb, case when ? then null else output end),"
                + " summary = coalesce(?, case when ? then null else summary end),"
                + " error = coalesce(?, case when ? then null else error end),"
                + " deadline = coalesce(?, deadline),"
                + " cleaning = coalesce(?::jsonb, cleaning),"
                + " started_at = case when ? then ? else started_at end,"
                + " completed_at = case when ? then ? else completed_at end"
                + " where id = ? and status = ? and (?::int is null or attempt = ?::int)"
                + " returning run_id",
            rs -> Sql.getUuid(rs, "run_id"),
            to.sql(),
            now,
            change.newAttempt() ? 1 : 0,
            change.outputJson(),
            change.newAttempt(),
            change.summary(),
            change.newAttempt(),
            change.error(),
            change.newAttempt(),
            change.deadline(),
            change.cleaningJson(),
            to == StepStatus.RUNNING,
            now,
            to.terminal(),
            now,
            stepId,
            from.sql(),
            expectedAttempt,
            expectedAttempt);
    if (moved.isEmpty()) {
      return new Transition.LostRace(
          find(c, stepId, Lock.NONE)
              .map(s -> s.status().sql() + "#" + s.attempt())
              .orElse("missing"));
    }
    UUID runId = moved.get();
    String traceId =
        Sql.one(c, "select trace_id from runs where id = ?", rs -> rs.getString(1), runId)
            .orElse(null);
    long event =
        RunEvents.append(
            c, runId, stepId, "step", from.sql(), to.sql(), actor, detail, traceId, now);
    return new Transition.Applied(event);
  }

  /**
   * Counts one more skill call on the step's row ({@code skill_calls}) unless it already made
   * {@code max}; returns whether it counted. The caller holds the step's row lock.
   */
  public static boolean countSkillCall(Connection c, UUID stepId, int max) throws SQLException {
    return Sql.update(
            c,
            "update steps set skill_calls = skill_calls + 1 where id = ? and skill_calls < ?",
            stepId,
            max)
        == 1;
  }

  /** Takes back a call {@link #countSkillCall} counted (the run's limit refused it). */
  public static void uncountSkillCall(Connection c, UUID stepId) throws SQLException {
    Sql.update(c, "update steps set skill_calls = skill_calls - 1 where id = ?", stepId);
  }

  private static final Map<Lock, String> FIND = Lock.statements("select * from steps where id = ?");

  /** The step, read with {@code lock} ({@link Lock#UPDATE}: no one else moves it meanwhile). */
  public Optional<Step> find(Connection c, UUID id, Lock lock) throws SQLException {
    return Sql.one(c, FIND.get(lock), StepStore::read, id);
  }

  /** The steps of a run, planner first, then in plan order. */
  public List<Step> ofRun(Connection c, UUID runId) throws SQLException {
    return Sql.list(
        c,
        "select * from steps where run_id = ? order by case role when 'planner' then 0 else 1"
            + " end, sequence, created_at",
        StepStore::read,
        runId);
  }

  private static Step read(ResultSet rs) throws SQLException {
    return new Step(
        Sql.getUuid(rs, "id"),
        Sql.getUuid(rs, "run_id"),
        Sql.getUuid(rs, "plan_id"),
        rs.getString("step_ref"),
        StepRole.valueOf(rs.getString("role").toUpperCase(java.util.Locale.ROOT)),
        rs.getString("agent_name"),
        rs.getInt("sequence"),
        rs.getString("instruction"),
        Sql.getStrings(rs, "allowed_skills"),
        Sql.getUuids(rs, "depends_on"),
        StepStatus.fromSql(rs.getString("status")),
        rs.getInt("attempt"),
        rs.getInt("max_attempts"),
        Sql.getInstant(rs, "deadline"),
        rs.getString("output"),
        rs.getString("summary"),
        rs.getString("error"),
        rs.getString("cleaning"),
        Sql.getInstant(rs, "created_at"),
        Sql.getInstant(rs, "started_at"),
        Sql.getInstant(rs, "completed_at"));
  }
}
