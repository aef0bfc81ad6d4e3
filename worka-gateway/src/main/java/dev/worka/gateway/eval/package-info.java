/**
 * Eval results: the rows of the {@code evals} table (suite, case, run, passed, expected, actual),
 * written by whoever judged a case (the CLI's {@code worka eval run} through the operator API, or a
 * policy replay) and read back by operators.
 *
 * <p>It informs and never authorizes (DESIGN §2.8): nothing in {@code policy}, {@code run} or
 * {@code mediation} reads it, and it depends on {@code store} only. An eval row is a report, not
 * audit evidence: the run it names is the evidence.
 */
package dev.worka.gateway.eval;
