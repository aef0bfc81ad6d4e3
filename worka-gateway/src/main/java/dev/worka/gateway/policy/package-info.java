/**
 * Policy: the operator's manifest (YAML, DESIGN §7) compiled into an immutable {@link
 * dev.worka.gateway.policy.CompiledPolicy}, the pure allow/deny decisions made against it ({@link
 * dev.worka.gateway.policy.PolicyDecider}), and the append-only store of manifest versions and
 * which one is active ({@link dev.worka.gateway.policy.PolicyStore}).
 *
 * <p>A manifest is a complete policy: what it does not grant is denied, and anything it does not
 * understand (an unknown key, permission or runtime, a condition that does not compile) makes it
 * invalid rather than silently wider or narrower. Decisions are deny by default and carry a
 * self-contained reason.
 *
 * <p>Skill conditions ({@code when}) are CEL (cel-java): compiled and type-checked with the
 * manifest ({@code ConditionCompiler}), kept as immutable programs on the policy ({@link
 * dev.worka.gateway.policy.SkillCondition}), evaluated per call over the input and the run's and
 * step's facts ({@link dev.worka.gateway.policy.ConditionContext}). Only this package uses CEL.
 *
 * <p>The skill catalog is not known here; the composition root checks {@link
 * dev.worka.gateway.policy.CompiledPolicy#referencedSkills()} against it, and passes the skills'
 * input field names in as {@link dev.worka.gateway.policy.SkillFields}. Nothing here performs a
 * side effect or reads memory.
 */
package dev.worka.gateway.policy;
