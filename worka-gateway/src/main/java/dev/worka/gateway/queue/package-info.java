/**
 * A durable task queue in PostgreSQL: a mechanism, not a workflow. Tasks carry a kind, optional
 * run/step ids and an idempotency key (enqueueing the same key twice makes one task). Claims are
 * one {@code UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING} statement and
 * take a lease; the holder extends it by heartbeats; a reaper returns expired leases to the queue.
 *
 * <p>Knows nothing of what a task means: the loops that claim tasks ({@code control}) give the
 * kinds their meaning.
 */
package dev.worka.gateway.queue;
