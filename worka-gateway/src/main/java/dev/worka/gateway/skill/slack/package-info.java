/**
 * The live Slack skills and answers: {@link dev.worka.gateway.skill.slack.SlackProvider} serves
 * {@code slack.read_thread} ({@code conversations.replies}) and {@code slack.post_message} ({@code
 * chat.postMessage}) through Slack's Web API with the official SDK's client, and {@link
 * dev.worka.gateway.delivery.slack.SlackNotifier} answers runs that came from Slack in their
 * thread. The Web API's URL is {@code SLACK_API_URL} (a local stand-in in tests).
 *
 * <p>Holds the bot token only inside the SDK client it is given (the {@code Authorization} header);
 * never in a log line, an exception message or an output. Whatever it posts is inert: no
 * broadcasts, no mentions by name, no unfurls. A posted message carries its invocation in Slack's
 * message metadata so an effect whose outcome was never recorded can be found again.
 *
 * <p>May touch: {@code skill} (the provider contract), {@code delivery} (the notifier contract),
 * {@code run} (the run it answers), {@code protocol} and the Slack SDK. Must not touch the
 * database, the policy or steps.
 */
package dev.worka.gateway.skill.slack;
