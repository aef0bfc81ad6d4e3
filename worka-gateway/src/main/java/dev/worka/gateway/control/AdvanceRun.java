package dev.worka.gateway.control;

import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * Decides what a run does next after one of its steps finished, holding the run's row lock so
 * concurrent finishes decide one at a time: planning ends when the planner step ends; a failed
 * worker step (one that ended, its retries spent or not allowed) fails the run with a reason that
 * names the step, its attempts and the last failure, and cancels the rest; ready steps (every
 * dependency succeeded) are queued up to the policy's concurrency limit, a step waiting to retry
 * keeping its slot; when every step succeeded the run is delivered.
 */
final class AdvanceRun implements TaskHandler {
  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final TaskQueue queue;
  private final RunningWorkers workers;

  AdvanceRun(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      TaskQueue queue,
      RunningWorkers workers) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.queue = queue;
    this.workers = workers;
  }

  @Override
  public void handle(Task task) {
    List<UUID> toStop = new ArrayList<>();
    Transactions.inTransaction(dataSource, c -> advance(c, task.runId(), toStop));
    toStop.forEach(id -> workers.stop(id, "the run failed"));
    queue.wakeUp();
  }

  private Void advance(Connection c, UUID runId, List<UUID> toStop) throws SQLException {
    Optional<Run> locked = runs.find(c, runId, Lock.UPDATE);
    if (locked.isEmpty() || locked.get().status().terminal()) {
      return null;
    }
    Run run = locked.get();
    List<Step> all = steps.ofRun(c, runId);
    List<Step> work = all.stream().filter(s -> s.role() == StepRole.WORKER).toList();
    RunStatus status = run.status();

    if (status == RunStatus.PLANNING) {
      Optional<Step> planner = all.stream().filter(s -> s.role() == StepRole.PLANNER).findFirst();
      if (planner.isEmpty() || !planner.get().status().terminal()) {
        return null;
      }
      Step p = planner.get();
      if (p.status() != StepStatus.SUCCEEDED) {
        String why =
            "planning failed: "
                + p.agent()
                + " "
                + p.status().sql()
                + attempts(p)
                + (p.error() == null ? "no reason was recorded" : p.error())
                + burnsOf(runId, p);
        toStop.addAll(OpenSteps.cancel(c, steps, work, "run failed: " + why, "gateway"));
        runs.transition(c, runId, status, RunStatus.FAILED, "gateway", why, why, null)
            .requireApplied("run " + runId);
        return null;
      }
      if (work.isEmpty()) {
        String why =
            "planning failed: " + p.agent() + " finished without submitting an accepted plan";
        runs.transition(c, runId, status, RunStatus.FAILED, "gateway", why, why, null)
            .requireApplied("run " + runId);
        return null;
      }
      runs.transition(
              c, runId, status, RunStatus.RUNNING, "gateway", work.size() + " step(s)", null, null)
          .requireApplied("run " + runId);
      status = RunStatus.RUNNING;
    }
    if (status != RunStatus.RUNNING) {
      return null;
    }

    Optional<Step> failed =
        work.stream()
            .filter(
                s ->
                    s.status() == StepStatus.FAILED
                        || s.status() == StepStatus.TIMED_OUT
                        || s.status() == StepStatus.CANCELLED)
            .findFirst();
    if (failed.isPresent()) {
      Step f = failed.get();
      String why =
          "step "
              + f.stepRef()
              + " ("
              + f.agent()
              + ") "
              + f.status().sql()
              + attempts(f)
              + (f.error() == null ? "no reason was recorded" : f.error())
              + burnsOf(runId, f);
      toStop.addAll(OpenSteps.cancel(c, steps, work, "run failed: " + why, "gateway"));
      runs.transition(c, runId, status, RunStatus.FAILED, "gateway", why, why, null)
          .requireApplied("run " + runId);
      return null;
    }

    if (work.stream().allMatch(s -> s.status() == StepStatus.SUCCEEDED)) {
      runs.transition(
              c, runId, status, RunStatus.DELIVERING, "gateway", "all steps succeeded", null, null)
          .requireApplied("run " + runId);
      queue.enqueue(c, TaskKind.DELIVER_RUN.sql(), runId, null, TaskKind.deliverKey(runId), null);
      return null;
    }

    CompiledPolicy policy = policies.byId(c, run.policyManifestId()).policy();
    Map<UUID, Step> byId = work.stream().collect(Collectors.toMap(Step::id, Function.identity()));
    // A step waiting to retry keeps its slot: its next attempt is coming.
    long active =
        work.stream()
            .filter(
                s ->
                    s.status() == StepStatus.QUEUED
                        || s.status() == StepStatus.RUNNING
                        || s.status() == StepStatus.RETRY_WAIT)
            .count();
    long slots = policy.limits().maxConcurrentSteps() - active;
    for (Step s : work) {
      if (slots <= 0) {
        break;
      }
      if (s.status() == StepStatus.PENDING && dependenciesSucceeded(s, byId)) {
        if (steps
            .transition(
                c,
                s.id(),
                StepStatus.PENDING,
                StepStatus.QUEUED,
                null,
                StepStore.Change.NONE,
                "gateway",
                "dependencies succeeded")
            .applied()) {
          queue.enqueue(
              c,
              TaskKind.EXECUTE_STEP.sql(),
              runId,
              s.id(),
              TaskKind.executeKey(s.id(), s.attempt() + 1),
              null);
          slots--;
        }
      }
    }
    return null;
  }

  /** ": " after one attempt, " after N attempts; last attempt: " after several. */
  private static String attempts(Step s) {
    return s.attempt() > 1 ? " after " + s.attempt() + " attempts; last attempt: " : ": ";
  }

  /** Where a person finds each attempt's diagnostics, when the step ran at all. */
  private static String burnsOf(UUID runId, Step s) {
    return s.attempt() >= 1 && s.status() != StepStatus.CANCELLED
        ? " — see the burns of run " + runId
        : "";
  }

  private static boolean dependenciesSucceeded(Step s, Map<UUID, Step> byId) {
    Set<UUID> deps = Set.copyOf(s.dependsOn());
    return deps.stream()
        .allMatch(d -> byId.containsKey(d) && byId.get(d).status() == StepStatus.SUCCEEDED);
  }
}
