package dev.worka.gateway.control;

import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * received → planning: creates the run's planner step (the policy's planner agent) and queues it.
 */
final class StartRun implements TaskHandler {
  static final String PLANNER_STEP_REF = "plan";

  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final TaskQueue queue;

  StartRun(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      TaskQueue queue) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.queue = queue;
  }

  @Override
  public void handle(Task task) {
    Transactions.inTransaction(
        dataSource,
        c -> {
          Optional<Run> locked = runs.find(c, task.runId(), Lock.UPDATE);
          if (locked.isEmpty() || locked.get().status() != RunStatus.RECEIVED) {
            return null; // already started (a replayed task) or cancelled
          }
          Run run = locked.get();
          CompiledPolicy policy = policies.byId(c, run.policyManifestId()).policy();
          AgentPolicy planner = policy.planner();
          runs.transition(
                  c,
                  run.id(),
                  RunStatus.RECEIVED,
                  RunStatus.PLANNING,
                  "gateway",
                  "planner " + planner.name(),
                  null,
                  null)
              .requireApplied("run " + run.id());
          UUID stepId = UUID.randomUUID();
          String instruction = Json.write(Map.of("objective", "Plan the request: " + run.text()));
          steps.insert(
              c,
              new StepStore.NewStep(
                  stepId,
                  run.id(),
                  null,
                  PLANNER_STEP_REF,
                  StepRole.PLANNER,
                  planner.name(),
                  0,
                  instruction,
                  List.of(),
                  List.of(),
                  policy.limits().maxAttempts()),
              "gateway",
              run.traceId());
          // Inserted just now: no other transaction sees the step yet.
          steps
              .transition(
                  c,
                  stepId,
                  StepStatus.PENDING,
                  StepStatus.QUEUED,
                  null,
                  StepStore.Change.NONE,
                  "gateway",
                  null)
              .requireApplied("step " + stepId);
          queue.enqueue(
              c,
              TaskKind.EXECUTE_STEP.sql(),
              run.id(),
              stepId,
              TaskKind.executeKey(stepId, 1),
              null);
          return null;
        });
    queue.wakeUp();
  }
}
