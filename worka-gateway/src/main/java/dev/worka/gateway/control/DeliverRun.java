package dev.worka.gateway.control;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.queue.Task;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * delivering → succeeded: composes the run's result from its final steps (those no other step
 * depends on) — their summaries joined, and their outputs — and stores it on the run, which is
 * where the operator API and the CLI deliver it from. The move also owes the run's answer to the
 * place it came from (Slack, GitHub), written with it ({@code run.RunOutbox}) and posted by {@code
 * delivery}. It also queues the task that remembers the run's work ({@link RememberRunTask}).
 */
final class DeliverRun implements TaskHandler {
  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final TaskQueue queue;

  DeliverRun(DataSource dataSource, RunStore runs, StepStore steps, TaskQueue queue) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.queue = queue;
  }

  @Override
  public void handle(Task task) {
    Transactions.inTransaction(
        dataSource,
        c -> {
          Optional<Run> locked = runs.find(c, task.runId(), Lock.UPDATE);
          if (locked.isEmpty() || locked.get().status() != RunStatus.DELIVERING) {
            return null;
          }
          List<Step> work =
              steps.ofRun(c, task.runId()).stream()
                  .filter(s -> s.role() == StepRole.WORKER)
                  .toList();
          Set<UUID> dependedOn = new HashSet<>();
          work.forEach(s -> dependedOn.addAll(s.dependsOn()));
          List<Step> finals = work.stream().filter(s -> !dependedOn.contains(s.id())).toList();
          String summary =
              finals.stream()
                  .map(s -> s.summary() == null ? "" : s.summary())
                  .filter(s -> !s.isBlank())
                  .collect(Collectors.joining("\n"));
          JsonNode output;
          if (finals.size() == 1) {
            output = Json.parse(finals.get(0).outputJson());
          } else {
            Map<String, JsonNode> byRef = new LinkedHashMap<>();
            finals.forEach(s -> byRef.put(s.stepRef(), Json.parse(s.outputJson())));
            output = Json.STRICT.valueToTree(byRef);
          }
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("summary", summary);
          result.put("output", output);
          runs.transition(
                  c,
                  task.runId(),
                  RunStatus.DELIVERING,
                  RunStatus.SUCCEEDED,
                  "gateway",
                  "result delivered",
                  null,
                  Json.write(result))
              .requireApplied("run " + task.runId());
          // What the run's steps did is remembered after this commit, apart from the run: the
          // run has succeeded whatever becomes of its memory.
          queue.enqueue(
              c,
              TaskKind.REMEMBER_RUN.sql(),
              task.runId(),
              null,
              TaskKind.rememberKey(task.runId()),
              null);
          return null;
        });
    queue.wakeUp();
  }
}
