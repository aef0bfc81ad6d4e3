/**
 * The agent runner: the untrusted side of the agent protocol (DESIGN §5). {@link
 * dev.worka.agents.AgentMain} reads the scrubbed worker environment, fetches the step envelope,
 * runs one built-in agent (Hari the planner, and the workers Ernest for GitHub and Daneel for
 * Slack), sends heartbeats while it works, and posts exactly one result.
 *
 * <p>What lives here: {@code AgentRunner} (one step attempt, start to exit code), {@code
 * GatewayClient} (the only code that speaks the JSON protocol; every expected answer — a denial, a
 * rejected plan, an unreachable Gateway — comes back as a sealed outcome value, never as an
 * exception), {@code HeartbeatLoop}, {@code StepSpans} and {@code SpanExport} (the attempt's own
 * spans, noted in memory and sent once to the Gateway's span route before the result, with the
 * OpenTelemetry SDK loaded only then), and the agents themselves ({@code Hari}, and {@code
 * SkillLoop}, which Ernest and Daneel both run). The agents decide what to do through the {@link
 * dev.worka.agents.model.Model} seam; today the only model is {@link
 * dev.worka.agents.scripted.ScriptedModel}.
 *
 * <p>What it may touch: the Gateway's {@code /v1/agent/*} endpoints with the step token, stderr for
 * progress lines (they become burn diagnostics), and nothing else — no upstream credentials, no
 * database, no policy, no files except the token file. It must never depend on {@code
 * worka-gateway}, never print the token, and never treat its own checks as authority: the Gateway
 * decides; a worker only asks.
 */
package dev.worka.agents;
