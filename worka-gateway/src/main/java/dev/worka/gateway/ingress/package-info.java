/**
 * Where requests enter Worka and become runs. {@code ingress.api} is the operator API (DESIGN §10);
 * {@code ingress.slack} and {@code ingress.github} are Slack's and GitHub's. Ingress verifies who
 * is asking before anything else, then hands the request to the run service; it never performs side
 * effects.
 */
package dev.worka.gateway.ingress;
