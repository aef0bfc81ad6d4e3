package dev.worka.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Slack variables: which ingress they select, what is refused at start, and no secret in
 * toString.
 */
class SlackSettingsTest {

  @Test
  void theVariablesSelectTheIngressAndSocketModeWins() {
    assertEquals(SlackSettings.Ingress.NONE, SlackSettings.fromEnvironment(Map.of()).ingress());
    assertFalse(SlackSettings.fromEnvironment(Map.of()).configured());
    assertEquals(
        SlackSettings.Ingress.NONE,
        SlackSettings.fromEnvironment(Map.of("SLACK_BOT_TOKEN", "xoxb-1")).ingress(),
        "answers and skills only");
    assertEquals(
        SlackSettings.Ingress.HTTP,
        SlackSettings.fromEnvironment(
                Map.of("SLACK_BOT_TOKEN", "xoxb-1", "SLACK_SIGNING_SECRET", "s"))
            .ingress());
    SlackSettings socket =
        SlackSettings.fromEnvironment(
            Map.of(
                "SLACK_BOT_TOKEN",
                "xoxb-1",
                "SLACK_SIGNING_SECRET",
                "s",
                "SLACK_APP_TOKEN",
                "xapp-1-Secret"));
    assertEquals(SlackSettings.Ingress.SOCKET_MODE, socket.ingress());
    assertEquals("https://slack.com/api/", socket.apiUrl().toString());
    assertFalse(
        socket.toString().contains("xoxb-1") || socket.toString().contains("xapp-1-Secret"),
        socket.toString());
    assertEquals(
        "http://127.0.0.1:9/api/",
        SlackSettings.fromEnvironment(
                Map.of("SLACK_BOT_TOKEN", "xoxb-1", "SLACK_API_URL", "http://127.0.0.1:9/api"))
            .apiUrl()
            .toString());
  }

  @Test
  void inconsistentSettingsAreRefusedNamingTheVariable() {
    ConfigException noBot =
        assertThrows(
            ConfigException.class,
            () -> SlackSettings.fromEnvironment(Map.of("SLACK_SIGNING_SECRET", "s")));
    assertTrue(noBot.getMessage().contains("SLACK_BOT_TOKEN"), noBot.getMessage());
    ConfigException wrongApp =
        assertThrows(
            ConfigException.class,
            () ->
                SlackSettings.fromEnvironment(
                    Map.of("SLACK_BOT_TOKEN", "xoxb-1", "SLACK_APP_TOKEN", "xoxb-2-Secret")));
    assertTrue(wrongApp.getMessage().contains("xapp-"), wrongApp.getMessage());
    assertFalse(wrongApp.getMessage().contains("xoxb-2-Secret"));
    assertThrows(
        ConfigException.class,
        () ->
            SlackSettings.fromEnvironment(
                Map.of("SLACK_BOT_TOKEN", "xoxb-1", "SLACK_API_URL", "ftp://x/")));
  }
}
