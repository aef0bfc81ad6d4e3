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
 * <p>Pure functions over strings and JSON values, applied to what the Gateway stores (results,
 * skill outputs, reconciled outputs, upstream errors) and to what it posts.
 */
package dev.worka.gateway.redaction;
