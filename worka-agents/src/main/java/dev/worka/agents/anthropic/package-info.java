/**
 * The Anthropic model: {@link dev.worka.agents.anthropic.AnthropicModel} decides with Claude
 * through the official Anthropic Java SDK, pointed at the Gateway's model route ({@code
 * $WORKA_GATEWAY_URL/v1/agent/model}) with the step token as its key. The worker holds no model
 * key; the Gateway checks the token and the policy, adds the real key and counts the tokens.
 *
 * <p>Hari's plan comes from one call whose only tool, {@code submit_plan}, takes the plan schema as
 * its input schema; Ernest's and Daneel's moves come from a bounded tool-use conversation whose
 * tools are exactly the step's accepted skills plus {@code submit_result}. What the model proposes
 * is still only a proposal: the agent carries it out through the Gateway, which decides.
 *
 * <p>May use the protocol records, the {@link dev.worka.agents.model} seam and the SDK; never the
 * Gateway's code (this module must not depend on it).
 */
package dev.worka.agents.anthropic;
