/**
 * The seam between an agent and whatever decides what it does: {@link dev.worka.agents.model.Model}
 * proposes plans for planners and chooses the next {@link dev.worka.agents.model.Move} (call a
 * skill, finish, give up) for workers, given the step envelope and the skill calls made so far.
 *
 * <p>Plain values only: no I/O and no Gateway access, so a model can only <em>propose</em>; the
 * agent carries the move out through the Gateway, which checks it against the policy. Two
 * implementations: the offline {@link dev.worka.agents.scripted.ScriptedModel} (the default) and
 * {@link dev.worka.agents.anthropic.AnthropicModel}, Claude through the Gateway's {@code
 * /v1/agent/model} proxy, used when the step envelope offers it.
 */
package dev.worka.agents.model;
