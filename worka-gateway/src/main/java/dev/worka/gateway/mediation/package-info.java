/**
 * The decisions on what a worker asks (DESIGN §2, §5, §6): accepting a plan ({@link
 * dev.worka.gateway.mediation.AcceptPlan}), accepting a result ({@link
 * dev.worka.gateway.mediation.AcceptResult}) and mediating a skill call ({@link
 * dev.worka.gateway.mediation.SkillMediator}: decide, record the gate and the invocation, perform
 * with the Gateway's credentials, clean and record the outcome). Each is an operation on a {@link
 * dev.worka.gateway.mediation.Caller} — a worker whose token verified and whose attempt runs — that
 * returns a sealed outcome ({@link dev.worka.gateway.mediation.PlanSubmission}, {@link
 * dev.worka.gateway.mediation.ResultSubmission}, {@link dev.worka.gateway.mediation.SkillCall}) and
 * never throws for an expected one: a denial, a limit, a conflict, an ended attempt are values
 * ({@link dev.worka.gateway.mediation.Refusal}). {@link dev.worka.gateway.mediation.Attempts} is
 * what every decision starts from (the run and step locked and still running, deny gates in their
 * own transaction, the refusal of an ended token, the identity check); {@link
 * dev.worka.gateway.mediation.Denials} records deny gates and ends an attempt that collects too
 * many.
 *
 * <p>Everything here treats the caller as hostile. Identity comes only from the verified token;
 * every allow/deny decision is a gate row committed before the side effect or the refusal; outputs
 * are bounded and cleaned before they are stored.
 *
 * <p>{@link dev.worka.gateway.mediation.ReplayPolicy} decides recorded decisions again under a
 * candidate manifest with these same decisions (policy replay); it holds no provider, model or
 * queue, performs nothing and writes only {@code evals} rows.
 *
 * <p>No transport is spoken here: the adapters above ({@code agent}: REST, MCP, the model route)
 * parse requests, authenticate, and translate each outcome with one exhaustive switch.
 */
package dev.worka.gateway.mediation;
