/**
 * The contracts between the Gateway and its workers, and between the Gateway and operators: the
 * agent protocol's request and response records, the plan and its JSON Schema, the worker
 * environment variable names and the token claim names.
 *
 * <p>Everything here is plain data: no I/O, no network, no database. Both {@code worka-gateway}
 * (trusted) and {@code worka-agents} (untrusted) depend on this module, and on nothing of each
 * other. Field names on the wire are snake_case and are part of the stable contract (DESIGN §5,
 * §6): add fields, never rename or remove them.
 */
package dev.worka.protocol;
