package dev.worka.gateway.control;

import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * When a failed step's backoff is over: {@code retry_wait → queued} and its next attempt's
 * execution task, or, if the run ended meanwhile, {@code retry_wait → cancelled}. The task names
 * the failed attempt; a task that finds the step anywhere else (a duplicate, a late one, a step
 * cancelled in its wait) does nothing.
 */
final class RequeueStep implements TaskHandler {
  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final TaskQueue queue;

  RequeueStep(DataSource dataSource, RunStore runs, StepStore steps, TaskQueue queue) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.queue = queue;
  }

  @Override
  public void handle(Task task) {
    int failed = TaskKind.attemptOf(task.idempotencyKey());
    Transactions.inTransaction(
        dataSource,
        c -> {
          Optional<Run> run = runs.find(c, task.runId(), Lock.UPDATE);
          Optional<Step> found = steps.find(c, task.stepId(), Lock.NONE);
          if (run.isEmpty() || found.isEmpty()) {
            return null;
          }
          Step step = found.get();
          if (step.status() != StepStatus.RETRY_WAIT || step.attempt() != failed) {
            return null;
          }
          if (run.get().status().terminal()) {
            String why = "run " + run.get().status().sql() + " while the step waited to retry";
            // Moved on meanwhile (cancelled with its run): it no longer waits, as wanted.
            steps
                .transition(
                    c,
                    step.id(),
                    StepStatus.RETRY_WAIT,
                    StepStatus.CANCELLED,
                    failed,
                    StepStore.Change.error(why),
                    "gateway",
                    why)
                .acceptLostRace();
            return null;
          }
          if (steps
              .transition(
                  c,
                  step.id(),
                  StepStatus.RETRY_WAIT,
                  StepStatus.QUEUED,
                  failed,
                  StepStore.Change.NONE,
                  "gateway",
                  "backoff over: attempt " + (failed + 1) + " of " + step.maxAttempts() + " queued")
              .applied()) {
            queue.enqueue(
                c,
                TaskKind.EXECUTE_STEP.sql(),
                step.runId(),
                step.id(),
                TaskKind.executeKey(step.id(), failed + 1),
                null);
          }
          return null;
        });
    queue.wakeUp();
  }
}
