/**
 * Policy: the operator's manifest (YAML, DESIGN §7) compiled into an immutable {@link
 * dev.worka.gateway.policy.CompiledPolicy}, the pure allow/deny decisions made against it ({@link
 * dev.worka.gateway.policy.PolicyDecider}), and the append-only store of manifest versions and
 * which one is active ({@link dev.worka.gateway.policy.PolicyStore}).
 *
 * <p>A manifest is a complete policy: what it does not grant is denied, and anything it does not
 * understand (an unknown key, permission, runtime or condition) makes it invalid rather than
 * silently wider or narrower. Decisions are deny by default and carry a self-contained reason.
 *
 * <p>May touch: {@code store} (transactions, SQL conversions) and {@code error}, the protocol's
 * JSON mapper, Jackson. Must not touch: {@code plan}, {@code skill}, {@code run}, {@code runtime}
 * or anything above them. The skill catalog is not known here; the composition root checks {@link
 * dev.worka.gateway.policy.CompiledPolicy#referencedSkills()} against it. Nothing here performs a
 * side effect or reads memory.
 */
package dev.worka.gateway.policy;
