/**
 * Runs and steps: their state machines (declared as transition tables), their rows, and the
 * compare-and-set transitions that move them, each committed with its {@code run_events} row.
 *
 * <p>Only code in this package writes {@code runs}, {@code steps} or {@code run_events}, and the
 * counters on a step are written through {@code StepStore} too. What a created or ended run owes
 * the place its request came from is written through {@link dev.worka.gateway.run.RunOutbox}, which
 * {@code delivery} implements.
 */
package dev.worka.gateway.run;
