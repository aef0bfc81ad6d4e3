/**
 * Memory (docs/memory.md): what the Gateway remembers of accepted work, and gives back to agents
 * that may search it. {@link RememberRun} writes, after a run succeeded, one memory per succeeded
 * step into the namespace of the step's agent — the step's cleaned result, cleaned again and
 * size-capped, with its provenance (run, step, agent); {@link RecallMemories} finds the snippets a
 * step envelope carries for an agent granted {@code memory.search}, in that agent's namespace only;
 * {@link ForgetMemory} is an operator's forgetting, recorded as a {@code memory.forget} gate. The
 * store is PostgreSQL's full-text search ({@link PostgresMemories}) or mem0's REST API ({@link
 * Mem0Memories}).
 *
 * <p>Memory informs and never authorizes (DESIGN §2.8): {@code policy} does not know this package,
 * and nothing here decides what an agent may do. It is best-effort: every failure of a store is
 * logged and answered with nothing remembered or recalled, never a failed run or step. Workers
 * cannot write here: no agent route reaches {@link RememberRun}.
 */
package dev.worka.gateway.memory;
