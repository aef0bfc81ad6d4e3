package dev.worka.gateway.mediation;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.control.EndFailedAttempt;
import dev.worka.gateway.control.TaskKind;
import dev.worka.gateway.plan.ProtocolSchema;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.run.Transition;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import dev.worka.protocol.StepResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * An attempt's result, decided (DESIGN §2.6), as {@code POST /v1/agent/result} and the MCP tool
 * {@code worka.submit_result} take it: checked against the protocol's result schema and what a
 * schema cannot say (nesting depth), cleaned ({@link OutputCleaner}), recorded. A succeeded result
 * moves the step {@code running → succeeded} and enqueues {@code advance_run}; a failed result ends
 * the attempt like any failure ({@link EndFailedAttempt}: retried unless it says it is not). Once
 * per attempt: a step no longer running is a {@link Refusal.Conflict}.
 */
public final class AcceptResult {
  /**
   * Deepest output accepted: well under the JSON reader's limit, so stored results stay readable.
   */
  static final int MAX_OUTPUT_DEPTH = 32;

  private static final ProtocolSchema RESULT_SCHEMA =
      ProtocolSchema.load(StepResult.SCHEMA_RESOURCE);

  private final DataSource dataSource;
  private final StepStore steps;
  private final TaskQueue queue;
  private final EndFailedAttempt failures;
  private final OutputCleaner cleaner;

  public AcceptResult(
      DataSource dataSource,
      StepStore steps,
      TaskQueue queue,
      EndFailedAttempt failures,
      OutputCleaner cleaner) {
    this.dataSource = dataSource;
    this.steps = steps;
    this.queue = queue;
    this.failures = failures;
    this.cleaner = cleaner;
  }

  /**
   * Decides {@code caller}'s result, {@code body} as it was posted (its identity fields removed):
   * {@link ResultSubmission.Recorded} with what was cleaned, or why not.
   */
  public ResultSubmission submit(Caller caller, JsonNode body) throws Exception {
    // The protocol's result schema first (worka-protocol result.schema.json), then what a schema
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
      return new Refusal.InvalidInput(
          "invalid result: " + String.join("; ", violations), null, violations);
    }
    StepResult result = parsed;
    boolean succeeded = StepResult.SUCCEEDED.equals(result.status());
    OutputCleaner.Cleaned output =
        cleaner.clean(
            result.output() == null || result.output().isNull()
                ? Json.STRICT.createObjectNode()
                : result.output());
    Map<String, Integer> cleaning = new TreeMap<>(output.changes());
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
                            BurnKind.FAILED,
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
                    TaskKind.ADVANCE_RUN.sql(),
                    step.runId(),
                    step.id(),
                    TaskKind.advanceKey(step.runId(), step.id(), attempt),
                    null);
                return null;
              }
              return moved.toString();
            });
    if (refused != null) {
      return new Refusal.Conflict("step " + step.id() + " is no longer running: " + refused);
    }
    queue.wakeUp();
    return new ResultSubmission.Recorded(succeeded, cleaning);
  }

  private static int depth(JsonNode node) {
    int deepest = 0;
    for (JsonNode child : node) {
      deepest = Math.max(deepest, depth(child));
    }
    return node.isContainerNode() ? deepest + 1 : 0;
  }
}
