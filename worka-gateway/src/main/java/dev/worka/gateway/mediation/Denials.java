package dev.worka.gateway.mediation;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.control.TaskKind;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Records deny gates for workers, and keeps a hostile worker from turning refusals into an
 * unbounded stream of audit rows: an attempt that collects {@link #MAX_DENIES_PER_ATTEMPT} denials
 * is ended (failed, with a {@code policy} burn), after which its token stops working; and a token
 * whose attempt has ended gets its refusal recorded once, then only logged.
 */
public final class Denials {
  static final int MAX_DENIES_PER_ATTEMPT = 25;
  private static final int REMEMBERED_STALE_TOKENS = 10_000;

  private final AuditLog audit;
  private final StepStore steps;
  private final TaskQueue queue;
  private final Set<String> staleTokens =
      Collections.synchronizedSet(
          Collections.newSetFromMap(
              new LinkedHashMap<>() {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                  return size() > REMEMBERED_STALE_TOKENS;
                }
              }));

  public Denials(AuditLog audit, StepStore steps, TaskQueue queue) {
    this.audit = audit;
    this.steps = steps;
    this.queue = queue;
  }

  /**
   * The attempt a deny was about to be recorded for is no longer running. Thrown only to roll back
   * the transaction the deny was part of; {@link Attempts#decide} and {@link Attempts#deny} turn it
   * into the outcome {@link Refusal.AttemptEnded}, so it never leaves this package.
   */
  static final class AttemptEnded extends RuntimeException {
    AttemptEnded(String why) {
      super(why, null, false, false);
    }
  }

  /**
   * Records a deny on the caller's connection; ends the attempt once it has too many. Denials of
   * one step are serialized by its row lock, so the cap holds under concurrent requests.
   *
   * <p>Call it inside {@link Attempts#decide} (or {@link Attempts#deny}): when the attempt is no
   * longer running it throws {@link AttemptEnded}, which they answer as {@link
   * Refusal.AttemptEnded}.
   */
  public Gate record(
      Connection c,
      Run run,
      UUID stepId,
      int attempt,
      String agent,
      GateAction action,
      String skill,
      String reason)
      throws SQLException {
    if (action != GateAction.TOKEN_USE) {
      var step = steps.find(c, stepId, Lock.UPDATE);
      if (step.isEmpty()
          || step.get().status() != StepStatus.RUNNING
          || step.get().attempt() != attempt) {
        throw new AttemptEnded(
            "step "
                + stepId
                + " attempt "
                + attempt
                + " is no longer running (step is "
                + step.map(x -> x.status().sql() + ", attempt " + x.attempt()).orElse("missing")
                + ")");
      }
    }
    Gate gate =
        audit.recordGate(
            c,
            new AuditLog.Decision(
                action,
                GateStatus.DENY,
                agent,
                run.id(),
                stepId,
                attempt,
                skill,
                reason,
                run.policyManifestId(),
                run.traceId()));
    if (action != GateAction.TOKEN_USE
        && audit.denialsDuring(c, stepId, attempt) >= MAX_DENIES_PER_ATTEMPT) {
      String why =
          "agent "
              + agent
              + " made "
              + MAX_DENIES_PER_ATTEMPT
              + " requests that were denied; the Gateway ended its attempt "
              + attempt;
      if (steps
          .transition(
              c,
              stepId,
              StepStatus.RUNNING,
              StepStatus.FAILED,
              attempt,
              StepStore.Change.error(why),
              "gateway",
              why)
          .applied()) {
        audit.recordBurn(c, run.id(), stepId, agent, attempt, BurnKind.POLICY, why, "{}");
        queue.enqueue(
            c,
            TaskKind.ADVANCE_RUN.sql(),
            run.id(),
            stepId,
            TaskKind.advanceKey(run.id(), stepId, attempt),
            null);
      }
    }
    return gate;
  }

  /**
   * Whether this is the first refused use of a token whose attempt ended (only that one is
   * recorded).
   */
  boolean firstStaleUse(String jti) {
    return staleTokens.add(jti);
  }
}
