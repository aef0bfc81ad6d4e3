package dev.worka.gateway;

import dev.worka.gateway.control.Dispatcher;
import dev.worka.gateway.delivery.NotifyRuns;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.delivery.RunNotifier;
import dev.worka.gateway.invocation.ReconcileInvocations;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * The background loops of a Gateway that runs its own ({@code worka serve}; tests may drive the
 * dispatcher by hand instead), started in this order: the {@link Dispatcher} (task loops, lease
 * reaper, deadline sweeper), the reconciliation of skill invocations without an outcome ({@link
 * ReconcileInvocations#sweep} every minute, through {@link SweepUntilShutdown}), and the
 * notification loop ({@link NotifyRuns}, which answers runs where they came from). The Gateway
 * stops them in reverse.
 */
final class LoopsAtStart {
  private LoopsAtStart() {}

  /**
   * Starts the loops over {@code control}; each is handed to {@code closeWithGateway} as soon as it
   * runs ({@code dispatcher} already is), so a start that fails later stops it.
   *
   * @param notifiers who answers runs, by where their requests came from
   */
  static void start(
      ControlPlane control,
      Dispatcher dispatcher,
      List<RunNotifier> notifiers,
      Consumer<AutoCloseable> closeWithGateway) {
    dispatcher.start();
    ReconcileInvocations reconcile =
        new ReconcileInvocations(
            control.dataSource, control.skills, control.invocations, control.secrets);
    closeWithGateway.accept(
        SweepUntilShutdown.start(
            "reconcile-invocations",
            reconcile::sweep,
            Duration.ofSeconds(5),
            Duration.ofSeconds(60),
            "reconciling skill invocations failed (tried again in a minute)"));
    // Approvals past their expiry fail their steps (approval_expired); each Gateway sweeps, a
    // request is expired once, by whichever locks it first.
    closeWithGateway.accept(
        SweepUntilShutdown.start(
            "expire-approvals",
            control.approvals::expireDue,
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            "expiring approvals failed (tried again in a second)"));
    NotifyRuns notify =
        new NotifyRuns(
            control.dataSource,
            control.runs,
            new RunNotifications(control.clock),
            control.audit,
            notifiers,
            control.clock,
            control.random,
            control.owner,
            control.tracing);
    notify.start();
    closeWithGateway.accept(notify);
  }
}
