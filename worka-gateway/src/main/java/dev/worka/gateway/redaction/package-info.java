/**
 * What is removed from what comes from outside before the Gateway stores or posts it. {@link
 * dev.worka.gateway.redaction.Redactor}: the Gateway's own configured credentials wherever they
 * appear, and tokens of the formats it knows (Slack, GitHub, Anthropic/OpenAI, AWS, JWTs, Worka
 * operator tokens, PEM private keys), found even when glued to other characters. {@link
 * dev.worka.gateway.redaction.OutputCleaner}: every string and key of an untrusted output (a
 * worker's result, a skill's or a reconciliation's answer, an upstream's error words) stripped of
 * invisible characters, Slack broadcasts neutralized, then redacted, with what it changed counted
 * by kind (DESIGN §2.6).
 *
 * <p>Used by {@code mediation} (results and skill outputs), {@code invocation} (outputs found by
 * reconciliation), {@code agent} (the model route's upstream errors) and by what Worka posts
 * ({@code delivery}). Depends on nothing of the Gateway; pure functions over strings and JSON
 * values.
 */
package dev.worka.gateway.redaction;
