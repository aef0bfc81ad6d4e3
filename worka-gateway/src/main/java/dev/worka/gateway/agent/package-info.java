/**
 * The Gateway's side of the agent protocol over its transports (DESIGN §5): the adapters. {@code
 * AgentApi} serves {@code /v1/agent/context}, {@code plan}, {@code skills/{skill}}, {@code result}
 * and {@code heartbeat} over REST; {@code McpSkillServer} serves {@code mcp}, the step's skills as
 * an MCP server whose tool calls take the same decision as {@code skills/{skill}}; {@code
 * ModelProxy} serves {@code model/v1/messages}, the Messages API proxied to {@code skill.model}
 * with the Gateway's key, gated by {@code model.invoke} and the run's token budget. {@code
 * Authenticator} reads and verifies a request's step token ({@code 401}) and makes the {@code
 * Caller}; {@code GatewayNames} is the MCP route's {@code Host}/{@code Origin} check.
 *
 * <p>Adapters translate, decisions decide: a route authenticates, parses, calls one decision of
 * {@code mediation} ({@code AcceptPlan}, {@code AcceptResult}, {@code SkillMediator}) and answers
 * its sealed outcome with one exhaustive switch; refusals are answered through {@code AgentErrors},
 * the one mapping of a {@code Refusal} to a status and error body, shared by REST and MCP. No route
 * here moves a run or a step or decides a policy question itself. The exception is the model route,
 * which keeps its decision (permission, content, calls under way, the token budget, in one
 * transaction through {@code Attempts#decide}) inside the adapter; splitting it out is left for
 * later.
 */
package dev.worka.gateway.agent;
