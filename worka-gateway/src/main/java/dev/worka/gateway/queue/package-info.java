/**
 * A durable task queue in PostgreSQL: a mechanism, not a workflow. Tasks carry a kind, optional
 * run/step ids and an idempotency key (enqueueing the same key twice makes one task). Claims are
 * one {@code UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING} statement and
 * take a lease; the holder extends it by heartbeats; a reaper returns expired leases to the queue.
 *
 * <p>May use {@code store}. Knows nothing of what a task means: the loops that claim tasks and call
 * the run service live above this package.
 */
package dev.worka.gateway.queue;
