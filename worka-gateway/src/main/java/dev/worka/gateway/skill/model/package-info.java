/**
 * The model behind {@code POST /v1/agent/model/v1/messages}: {@link
 * dev.worka.gateway.skill.model.AnthropicMessages} sends a Messages API request, already decided
 * and recorded by the route above it, to {@code ANTHROPIC_BASE_URL} with the real {@code
 * ANTHROPIC_API_KEY}, and hands back the provider's status and body.
 *
 * <p>Holds the model key: it goes only into the {@code x-api-key} header of the upstream request,
 * never into a log line, an exception message or an answer (an answer that echoes it has it
 * redacted). Workers never see it; they reach this class only through the Gateway's route, with
 * their step token.
 *
 * <p>It does not touch the database, the policy, runs or steps: the route has checked the token,
 * the permission and the run's token budget, and committed the allow gate, before a request arrives
 * here.
 */
package dev.worka.gateway.skill.model;
