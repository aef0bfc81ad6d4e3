/**
 * Runs and steps: their state machines (declared as transition tables), their rows, and the
 * compare-and-set transitions that move them, each committed with its {@code run_events} row.
 *
 * <p>May use {@code store} and {@code audit}. Knows nothing of HTTP, processes or the queue's
 * loops: the loops that drive runs sit above this package and call it. Only code in this package
 * writes {@code runs}, {@code steps} or {@code run_events}.
 */
package dev.worka.gateway.run;
