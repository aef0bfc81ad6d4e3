/**
 * The seam between the Gateway and wherever a step attempt's worker actually runs (DESIGN §8):
 * {@link dev.worka.gateway.runtime.WorkerRuntime} starts one worker for one attempt from a {@link
 * dev.worka.gateway.runtime.WorkerLaunch}, and the returned {@link
 * dev.worka.gateway.runtime.WorkerHandle} reports how it ended as an {@link
 * dev.worka.gateway.runtime.AttemptOutcome} value (exited, timed out, stopped, failed to start),
 * never as an exception. Implementations live in sub-packages: {@code process} now; {@code
 * kubernetes} and {@code wasm} later.
 *
 * <p>Whatever the implementation, a worker gets exactly the agent protocol's environment (DESIGN
 * §5: gateway URL, a step-scoped token, run/step ids, agent, trace context) and nothing of the
 * Gateway's own; it is gone, with everything it started, once its outcome is known.
 *
 * <p>A runtime knows nothing of runs beyond the ids it passes on, and it never mints tokens (the
 * caller passes one in).
 */
package dev.worka.gateway.runtime;
