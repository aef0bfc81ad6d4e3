/**
 * GitHub ingress: {@link dev.worka.gateway.ingress.github.GithubWebhook} takes GitHub's webhook
 * deliveries on the Gateway's own route, checks their signature over the raw body before anything
 * else, and turns a comment that mentions Worka into a run through the run service, once per
 * comment however often it is delivered. It answers GitHub only with the delivery's status; the
 * run's answers are posted as comments by {@code delivery.github}.
 */
package dev.worka.gateway.ingress.github;
