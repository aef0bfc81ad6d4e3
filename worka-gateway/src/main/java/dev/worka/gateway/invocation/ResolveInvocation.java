package dev.worka.gateway.invocation;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * An operator settles a skill call whose outcome is {@code unknown} — one the Gateway could not
 * reconcile by itself (its upstream keeps no marker of the call, or could not be asked) — after
 * looking upstream: <em>performed</em> makes it {@code succeeded} (a later call with the same key
 * replays the operator's statement, never a second effect); <em>not performed</em> makes it {@code
 * failed} (a later call with the same key is refused; the agent must call again with a new key,
 * which is a new decision with its own gate). Either way the decision is an allow gate of action
 * {@link GateAction#INVOCATION_RESOLVE} whose subject is the operator and whose reason carries the
 * operator's words, and a {@code released} lock event; nothing is performed upstream.
 */
public final class ResolveInvocation {
  /** What the operator found upstream. */
  public enum Outcome {
    PERFORMED,
    NOT_PERFORMED
  }

  /** The answer. */
  public sealed interface Result {
    record Resolved(UUID invocationId, String status, UUID gateId) implements Result {}

    record NotFound() implements Result {}

    /** Only an {@code unknown} invocation can be resolved; this one is {@code status}. */
    record NotUnknown(String status) implements Result {}
  }

  private final DataSource dataSource;
  private final InvocationStore invocations;
  private final RunStore runs;
  private final AuditLog audit;

  public ResolveInvocation(
      DataSource dataSource, InvocationStore invocations, RunStore runs, AuditLog audit) {
    this.dataSource = dataSource;
    this.invocations = invocations;
    this.runs = runs;
    this.audit = audit;
  }

  /**
   * Settles the {@code unknown} invocation {@code id} as {@code outcome}, in one transaction.
   *
   * @param reason what the operator found (required, recorded in the gate and the invocation)
   * @param upstreamRef where the effect is upstream (performed only; may be null)
   */
  public Result resolve(UUID id, Outcome outcome, String reason, String upstreamRef) {
    return Transactions.inTransaction(
        dataSource,
        c -> {
          Optional<InvocationStore.Invocation> found = invocations.byId(c, id);
          if (found.isEmpty()) {
            return new Result.NotFound();
          }
          InvocationStore.Invocation i = found.get();
          String why =
              "an operator resolved invocation "
                  + id
                  + " as "
                  + (outcome == Outcome.PERFORMED
                      ? "performed" + (upstreamRef == null ? "" : " (" + upstreamRef + ")")
                      : "not performed")
                  + ": "
                  + reason;
          boolean changed;
          if (outcome == Outcome.PERFORMED) {
            Map<String, Object> output = new LinkedHashMap<>();
            output.put("resolved_by", "operator");
            output.put("outcome", "performed");
            output.put("upstream_ref", upstreamRef);
            output.put("reason", reason);
            changed =
                invocations.resolvePerformed(c, id, Json.write(output), upstreamRef, null, why);
          } else {
            changed = invocations.resolveNotPerformed(c, id, why);
          }
          if (!changed) {
            // Not unknown (any more): another resolution or a reconciliation came first.
            return new Result.NotUnknown(
                invocations.byId(c, id).map(InvocationStore.Invocation::status).orElse("gone"));
          }
          Run run = runs.find(c, i.runId(), Lock.NONE).orElseThrow();
          Gate gate =
              audit.recordGate(
                  c,
                  new AuditLog.Decision(
                      GateAction.INVOCATION_RESOLVE,
                      GateStatus.ALLOW,
                      "operator",
                      i.runId(),
                      i.stepId(),
                      i.attempt(),
                      i.skill(),
                      why,
                      run.policyManifestId(),
                      run.traceId()));
          // The lock event needs only the invocation's identity, which a resolution does not
          // change.
          invocations.lockEvent(c, i, "released", gate.id());
          return new Result.Resolved(
              id, outcome == Outcome.PERFORMED ? "succeeded" : "failed", gate.id());
        });
  }
}
