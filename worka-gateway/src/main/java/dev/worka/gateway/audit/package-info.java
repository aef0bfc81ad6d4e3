/**
 * The audit trail's writers: gates (every allow/deny decision) and burns (every failure, with its
 * diagnostics). Rows are append-only — the database refuses UPDATE and DELETE on them — and are
 * always written on the caller's connection so that a gate commits in the same transaction as the
 * change it authorizes, and before any side effect it allows.
 *
 * <p>It decides nothing: it records what {@code policy} and the callers decided.
 */
package dev.worka.gateway.audit;
