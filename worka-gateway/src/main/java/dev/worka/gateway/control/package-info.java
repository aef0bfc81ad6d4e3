/**
 * What drives runs: the run service (create, cancel) and the loops that claim queue tasks and act
 * on them — start a run with its planner step, execute a step attempt in a runtime, advance a run
 * when steps finish (DAG order, concurrency limit), and deliver the result.
 *
 * <p>The queue is a mechanism; the meaning of each task kind lives here. Composing a run's result
 * ({@code DeliverRun}) is here too; answering where the run came from is {@code delivery}'s.
 */
package dev.worka.gateway.control;
