/**
 * Answers runs that came from Slack in the conversation and thread they came from: {@link
 * dev.worka.gateway.delivery.slack.SlackNotifier} is the {@code slack} {@link
 * dev.worka.gateway.delivery.RunNotifier}, posting through Slack's Web API with the official SDK's
 * client and the bot token, inert text and a mark on each answer so it is posted once.
 */
package dev.worka.gateway.delivery.slack;
