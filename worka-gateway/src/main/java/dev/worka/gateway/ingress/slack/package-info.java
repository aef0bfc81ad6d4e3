/**
 * Slack ingress (DESIGN §1): Events API ({@code app_mention}, direct messages), slash commands and
 * interactivity, through Slack's official SDK (Bolt), over HTTP on the Gateway's own routes (each
 * request's v0 signature checked over the raw body, in constant time, within five minutes, before
 * anything else) or over Socket Mode. A request becomes a run through the run service, once per
 * Slack event id, and nothing slow happens while Slack waits for its acknowledgement.
 *
 * <p>It does not post to Slack (answers are {@code delivery.slack.SlackNotifier}'s, sent by the
 * notification loop), perform side effects, or touch the database other than through the run
 * service.
 */
package dev.worka.gateway.ingress.slack;
