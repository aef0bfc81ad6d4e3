/**
 * The scripted model: an offline, deterministic stand-in for a language model, and explicitly not
 * AI. {@code Phrases} reads a fixed set of request phrasings into an {@code Intent}; {@code
 * ScriptedPlanner} maps each intent to a fixed plan (Hari); {@code ScriptedWorker} maps each
 * objective the planner writes to one skill call and a report (Ernest, Daneel); {@code
 * ThreadSummary} counts and quotes a Slack thread instead of understanding it.
 *
 * <p>It may use the protocol records and the {@link dev.worka.agents.model} seam, nothing else: no
 * I/O, no clock, no randomness, so the same envelope always gives the same plan or move. It never
 * filters a plan by what the policy allows; the Gateway is the one that refuses.
 */
package dev.worka.agents.scripted;
