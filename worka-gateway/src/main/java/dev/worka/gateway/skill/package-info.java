/**
 * Skills: the tools a worker may ask the Gateway to use on its behalf (DESIGN §7). A {@link
 * dev.worka.gateway.skill.SkillDefinition} names a skill ({@code provider.action}), says what it
 * does, whether it has side effects, and holds its input's JSON Schema (draft 2020-12, no unknown
 * fields, every string bounded), whose parameters mirror the upstream tool it stands for. A {@link
 * dev.worka.gateway.skill.SkillProvider} (GitHub, Slack, later memory and model) owns a family of
 * skills and talks to its upstream. The {@link dev.worka.gateway.skill.SkillRegistry} is what the
 * rest of the Gateway uses: find a skill, validate an input, say whether it can run, invoke it.
 *
 * <p>{@link dev.worka.gateway.skill.SideEffectMode#DRY_RUN} (the default) never reaches a
 * provider's live call: the registry answers with an output that says it is a dry run. In {@link
 * dev.worka.gateway.skill.SideEffectMode#LIVE} a provider that cannot run says why and the skill is
 * reported unavailable, never faked. The live clients are {@code skill.github} (MCP) and {@code
 * skill.slack} (Web API); {@link dev.worka.gateway.skill.CatalogOnlyProvider} knows their skills
 * and stands in, honestly unavailable in live mode, when their upstream is not configured.
 *
 * <p>Invoking here is the last step of the policy path, not a substitute for it: callers check the
 * token, the policy and commit the allow gate first (DESIGN §2.4). The registry describes its
 * catalog to the policy compiler as {@code policy.SkillFields}; it never makes a policy decision or
 * reads memory.
 */
package dev.worka.gateway.skill;
