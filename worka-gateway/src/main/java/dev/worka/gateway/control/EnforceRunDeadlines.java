package dev.worka.gateway.control;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Fails runs still open past their deadline (the policy's {@code run_deadline}) plus a grace for
 * their own steps' timeouts to be recorded first: whatever stalled them — a task given up after
 * repeated failures, a lost Gateway — no run stays open forever. Each such run's open steps are
 * cancelled, a {@code timeout} burn records why, and local workers are stopped.
 */
final class EnforceRunDeadlines {
  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final AuditLog audit;
  private final RunningWorkers workers;
  private final InstantSource clock;
  private final Duration grace;

  EnforceRunDeadlines(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      AuditLog audit,
      RunningWorkers workers,
      InstantSource clock,
      Duration grace) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.audit = audit;
    this.workers = workers;
    this.clock = clock;
    this.grace = grace;
  }

  /** Ends up to 100 overdue runs; returns how many. */
  int sweep() {
    Instant cutoff = clock.instant().minus(grace);
    List<UUID> overdue =
        Transactions.withConnection(
            dataSource,
            c ->
                Sql.list(
                    c,
                    "select id from runs where status in ('received', 'planning', 'running', 'delivering')"
                        + " and deadline < ? order by deadline limit 100",
                    rs -> Sql.getUuid(rs, "id"),
                    cutoff));
    int ended = 0;
    for (UUID id : overdue) {
      List<UUID> toStop = new ArrayList<>();
      boolean done =
          Transactions.inTransaction(
              dataSource,
              c -> {
                Optional<Run> locked = runs.find(c, id, Lock.UPDATE);
                if (locked.isEmpty()
                    || locked.get().status().terminal()
                    || !locked.get().deadline().isBefore(cutoff)) {
                  return false;
                }
                Run run = locked.get();
                String why =
                    "the run's deadline ("
                        + run.deadline()
                        + ", the policy's run_deadline) passed while it was "
                        + run.status().sql();
                toStop.addAll(OpenSteps.cancel(c, steps, steps.ofRun(c, id), why, "gateway"));
                audit.recordBurn(c, id, null, null, null, BurnKind.TIMEOUT, why, "{}");
                runs.transition(c, id, run.status(), RunStatus.FAILED, "gateway", why, why, null)
                    .requireApplied("run " + id);
                return true;
              });
      toStop.forEach(stepId -> workers.stop(stepId, "the run's deadline passed"));
      ended += done ? 1 : 0;
    }
    return ended;
  }
}
