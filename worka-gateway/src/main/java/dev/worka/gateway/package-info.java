/**
 * The composition root: {@link dev.worka.gateway.Gateway} builds the whole object graph by hand,
 * from one validated {@link dev.worka.gateway.config.GatewaySettings}, and owns its lifecycle; its
 * constructor is the start order. The steps with more to say than a line are classes of their own
 * here: {@code OpenDatabase} (embedded, external, or external with an application login, and the
 * audit-protection check), {@code Integrations} (skill providers, the model, ingress and notifiers
 * from the settings), {@code PolicyAtStart} (which manifest is active, which launch specs the host
 * allows), {@code OperatorTokenFile}, {@code ProcessRuntimeAtStart} (the worker runtime), {@code
 * SweepUntilShutdown} (the reconciliation sweep) and {@code CloseInReverse} (the lifecycle: what
 * was opened is closed last-first). The other loops are their packages' own: {@code
 * control.Dispatcher} (task loops, lease reaper, deadline sweeper), {@code delivery.NotifyRuns}
 * (answers where runs came from), {@code store.Database#watch} (database outages).
 *
 * <p>No other code constructs services; no reflection-driven container. May touch every package.
 */
package dev.worka.gateway;
