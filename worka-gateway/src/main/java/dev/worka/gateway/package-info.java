/**
 * The composition root: {@link dev.worka.gateway.Gateway} builds the whole object graph by hand,
 * from one validated {@link dev.worka.gateway.config.GatewaySettings}, and owns its lifecycle; its
 * constructor is the start order and nothing else. Each step with more to say than a line is a
 * class of its own here: {@code OpenDatabase} (embedded, external, or external with an application
 * login, and the audit-protection check), {@code Integrations} (skill providers, the model, ingress
 * and notifiers from the settings), {@code PolicyAtStart} (which manifest is active, which launch
 * specs the host allows), {@code OperatorTokenFile}, {@code ControlPlane} (the stores, the run
 * service, the decisions of {@code mediation}, the step tokens and the operator's reads and
 * actions, built from the database and the settings; and what the metrics observe), {@code
 * HttpAtStart} (the operator and agent APIs on one router, and the HTTP server), {@code
 * ProcessRuntimeAtStart} (the worker runtime), {@code LoopsAtStart} (the dispatcher, the
 * reconciliation sweep through {@code SweepUntilShutdown}, the notification loop) and {@code
 * CloseInReverse} (the lifecycle: what was opened is closed last-first). The loops themselves are
 * their packages' own: {@code control.Dispatcher} (task loops, lease reaper, deadline sweeper),
 * {@code delivery.NotifyRuns} (answers where runs came from), {@code store.Database#watch}
 * (database outages).
 *
 * <p>No other code constructs services: the adapters ({@code agent}, {@code ingress.api}) are
 * handed their decisions ready-made. No reflection-driven container. May touch every package.
 */
package dev.worka.gateway;
