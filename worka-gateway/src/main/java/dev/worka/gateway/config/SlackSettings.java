package dev.worka.gateway.config;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Slack connection (DESIGN §9): {@code SLACK_BOT_TOKEN} (the Web API token the Gateway answers,
 * reads threads and posts with), {@code SLACK_SIGNING_SECRET} (verifies the Events API, slash
 * command and interactivity requests Slack sends over HTTP), {@code SLACK_APP_TOKEN} (an app-level
 * {@code xapp-} token: Socket Mode instead of HTTP, so no public URL is needed) and {@code
 * SLACK_API_URL} (the Web API's base URL; default {@code https://slack.com/api/}). All unset means
 * Slack is off. Validated once, with messages naming the variable; {@link #toString()} shows no
 * secret.
 */
public record SlackSettings(
    Optional<String> botToken,
    Optional<String> signingSecret,
    Optional<String> appToken,
    URI apiUrl) {

  public static final String DEFAULT_API_URL = "https://slack.com/api/";

  /** How Slack's requests reach the Gateway. */
  public enum Ingress {
    /** Slack does not send requests to this Gateway (it may still answer and serve the skills). */
    NONE,
    /**
     * Slack POSTs to {@code /slack/events}, {@code /slack/commands}, {@code /slack/interactivity}.
     */
    HTTP,
    /** The Gateway holds a Socket Mode WebSocket open to Slack ({@code SLACK_APP_TOKEN}). */
    SOCKET_MODE
  }

  public SlackSettings {
    botToken = botToken.filter(s -> !s.isBlank());
    signingSecret = signingSecret.filter(s -> !s.isBlank());
    appToken = appToken.filter(s -> !s.isBlank());
    if (apiUrl == null) {
      throw new IllegalArgumentException("apiUrl must not be null");
    }
  }

  /**
   * The settings in {@code environment}.
   *
   * @throws ConfigException naming each variable that is wrong and what to set instead
   */
  public static SlackSettings fromEnvironment(Map<String, String> environment) {
    Optional<String> bot = value(environment, "SLACK_BOT_TOKEN");
    Optional<String> secret = value(environment, "SLACK_SIGNING_SECRET");
    Optional<String> app = value(environment, "SLACK_APP_TOKEN");
    String url = value(environment, "SLACK_API_URL").orElse(DEFAULT_API_URL);
    List<String> problems = new ArrayList<>();
    URI api = URI.create(DEFAULT_API_URL);
    try {
      api = URI.create(url.endsWith("/") ? url : url + "/");
      if (!("https".equals(api.getScheme()) || "http".equals(api.getScheme()))
          || api.getHost() == null) {
        problems.add("SLACK_API_URL=" + url + " must be an http(s) URL such as " + DEFAULT_API_URL);
      }
    } catch (IllegalArgumentException e) {
      problems.add("SLACK_API_URL=" + url + " is not a URL; use e.g. " + DEFAULT_API_URL);
    }
    if (bot.isEmpty() && (secret.isPresent() || app.isPresent())) {
      problems.add(
          (secret.isPresent() ? "SLACK_SIGNING_SECRET" : "SLACK_APP_TOKEN")
              + " is set but SLACK_BOT_TOKEN is not: Worka needs the bot token (xoxb-…) to answer in Slack;"
              + " set it, or unset the other Slack variables");
    }
    if (app.isPresent() && !app.get().startsWith("xapp-")) {
      problems.add(
          "SLACK_APP_TOKEN must be an app-level token (it starts with xapp-, from the app's Basic"
              + " Information page, with the connections:write scope); it does not look like one");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new SlackSettings(bot, secret, app, api);
  }

  /** Whether Worka talks to Slack at all (answers, skills). */
  public boolean configured() {
    return botToken.isPresent();
  }

  /**
   * How Slack's requests reach this Gateway: Socket Mode wins when {@code SLACK_APP_TOKEN} is set.
   */
  public Ingress ingress() {
    if (botToken.isEmpty()) {
      return Ingress.NONE;
    }
    if (appToken.isPresent()) {
      return Ingress.SOCKET_MODE;
    }
    return signingSecret.isPresent() ? Ingress.HTTP : Ingress.NONE;
  }

  private static Optional<String> value(Map<String, String> environment, String name) {
    String v = environment.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.strip());
  }

  @Override
  public String toString() {
    return "SlackSettings[bot token "
        + (botToken.isPresent() ? "set" : "unset")
        + ", signing secret "
        + (signingSecret.isPresent() ? "set" : "unset")
        + ", app token "
        + (appToken.isPresent() ? "set" : "unset")
        + ", api "
        + apiUrl
        + ", ingress "
        + ingress()
        + "]";
  }
}
