/**
 * What drives runs: the run service (create, cancel) and the loops that claim queue tasks and act
 * on them — start a run with its planner step, execute a step attempt in a runtime, advance a run
 * when steps finish (DAG order, concurrency limit), and deliver the result.
 *
 * <p>This package sits above {@code run}, {@code queue}, {@code policy}, {@code token}, {@code
 * runtime} and {@code audit}, and below {@code mediation} (whose result decision ends a failed
 * attempt through {@code EndFailedAttempt} and enqueues {@code advance_run}) and the HTTP-facing
 * packages ({@code agent}, {@code ingress}). The queue is a mechanism; the meaning of each task
 * kind lives here.
 */
package dev.worka.gateway.control;
