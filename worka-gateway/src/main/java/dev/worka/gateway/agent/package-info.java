/**
 * The Gateway's side of the agent protocol (DESIGN §5): {@code /v1/agent/context}, {@code plan},
 * {@code skills/{skill}}, {@code result} and {@code heartbeat}; and {@code mcp}, the step's skills
 * as an MCP server whose tool calls take the {@code skills/{skill}} path; and {@code
 * model/v1/messages} ({@code ModelProxy}), the Messages API proxied to {@code skill.model} with the
 * Gateway's key, gated by {@code model.invoke} and the run's token budget ({@code model_usage}).
 *
 * <p>Everything here treats the caller as hostile. Identity comes only from a verified step token
 * whose step attempt is still running; any id in a body or query that disagrees with the token is
 * refused and recorded as a deny gate. Every allow/deny decision is a gate row committed before the
 * side effect or the refusal. Outputs are bounded and cleaned before they are stored.
 *
 * <p>Sits above {@code control}, {@code plan}, {@code skill}, {@code policy}, {@code token}; uses
 * {@code http} for transport.
 */
package dev.worka.gateway.agent;
