/**
 * Plans (DESIGN §6): a planner's proposal checked before anything becomes a step. {@link
 * dev.worka.gateway.plan.PlanValidator} takes the raw body and the run's pinned policy and returns
 * a {@link dev.worka.gateway.plan.PlanValidation}: every violation found, or the normalized plan in
 * dependency order with its canonical JSON and {@code plan_hash}. Storing a validated plan (the
 * {@code plans} table, its steps rewritten from {@code step_ref}s to step ids) also lives here.
 *
 * <p>Validation is pure: no I/O, no clock, no database, never an exception for any input string; an
 * unexpected failure rejects the plan (fail closed).
 *
 * <p>What validation needs to know about skills comes in through the small {@link
 * dev.worka.gateway.plan.SkillDirectory}, implemented by the composition root.
 */
package dev.worka.gateway.plan;
