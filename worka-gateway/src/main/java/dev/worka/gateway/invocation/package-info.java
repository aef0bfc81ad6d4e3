/**
 * The records of what workers' calls did, below both the agent API and the operator API: {@link
 * dev.worka.gateway.invocation.InvocationStore} owns {@code skill_invocations} (one row per
 * mediated skill call, its input and identity never changed, only its outcome filled in) and {@code
 * invocation_lock_events}, and counts calls against the step's limit (on the step's row, through
 * {@code StepStore}) and the run's ({@code run_call_counts}); {@link
 * dev.worka.gateway.invocation.ModelUsageStore} owns {@code model_usage} and {@code
 * model_reservations} (a run's model tokens, and the lock that makes its model decisions one at a
 * time). {@link dev.worka.gateway.invocation.ReconcileInvocations} is the sweep that settles calls
 * whose outcome was never recorded by asking their upstream; {@link
 * dev.worka.gateway.invocation.ResolveInvocation} is the operator's action on one nobody could
 * settle ({@code POST /v1/invocations/{id}/resolve}), an outcome value the operator API switches
 * on.
 *
 * <p>Nothing here decides whether a worker may call: it records what was decided.
 */
package dev.worka.gateway.invocation;
