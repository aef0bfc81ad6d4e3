/**
 * Redaction of secrets from text that leaves the Gateway: the Gateway's own configured credentials
 * wherever they appear, and tokens of the formats it knows (Slack, GitHub, Anthropic/OpenAI, AWS,
 * JWTs, Worka operator tokens, PEM private keys), found even when glued to other characters. Used
 * by the output cleaner ({@code agent}) and by what Worka posts ({@code delivery}). Depends on
 * nothing of the Gateway; pure functions over strings.
 */
package dev.worka.gateway.redaction;
