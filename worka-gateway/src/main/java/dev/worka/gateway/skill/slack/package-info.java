/**
 * The live Slack skills: {@link dev.worka.gateway.skill.slack.SlackProvider} serves {@code
 * slack.read_thread} ({@code conversations.replies}) and {@code slack.post_message} ({@code
 * chat.postMessage}) through Slack's Web API with the official SDK's client, at {@code
 * SLACK_API_URL} (a local stand-in in tests). Its Web API helpers — inert text ({@code SlackText}),
 * marked messages and their search ({@code MarkedMessages}), what an error means for trying again
 * ({@code SlackErrors}) — are shared with {@code delivery.slack}, which answers runs that came from
 * Slack.
 *
 * <p>Holds the bot token only inside the SDK client it is given (the {@code Authorization} header);
 * never in a log line, an exception message or an output. Whatever it posts is inert: no
 * broadcasts, no mentions by name, no unfurls. A posted message carries its invocation in Slack's
 * message metadata so an effect whose outcome was never recorded can be found again. It does not
 * touch the database, the policy or steps.
 */
package dev.worka.gateway.skill.slack;
