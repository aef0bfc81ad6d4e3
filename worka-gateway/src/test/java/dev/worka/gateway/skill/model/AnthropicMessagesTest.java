package dev.worka.gateway.skill.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.config.AnthropicSettings;
import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.config.WorkaConfig;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model client's settings, and what it says when the provider cannot be reached. */
class AnthropicMessagesTest {
  static final String KEY = "sk-ant-test-real-key-0123456789abcdef";
  @TempDir Path home;

  private Map<String, String> env(String callsPerStep) {
    Map<String, String> env =
        new HashMap<>(
            Map.of(
                "WORKA_HOME",
                home.toString(),
                "WORKA_MODEL",
                "anthropic",
                "ANTHROPIC_API_KEY",
                KEY));
    if (callsPerStep != null) {
      env.put("WORKA_MODEL_CALLS_PER_STEP", callsPerStep);
    }
    return env;
  }

  @Test
  void callsPerStepDefaultsToTwoAndIsBoundedAtStart() {
    assertEquals(
        AnthropicMessages.DEFAULT_CALLS_PER_STEP,
        AnthropicSettings.fromEnvironment(env(null), "anthropic").orElseThrow().callsPerStep());
    assertEquals(
        5, AnthropicSettings.fromEnvironment(env("5"), "anthropic").orElseThrow().callsPerStep());
    for (String bad : new String[] {"0", "17", "two", "-1"}) {
      ConfigException e =
          assertThrows(ConfigException.class, () -> WorkaConfig.fromEnvironment(env(bad)), bad);
      assertTrue(e.getMessage().contains("WORKA_MODEL_CALLS_PER_STEP=" + bad), e.getMessage());
      ConfigException settings =
          assertThrows(
              ConfigException.class,
              () -> AnthropicSettings.fromEnvironment(env(bad), "anthropic"));
      assertTrue(
          settings.getMessage().contains("WORKA_MODEL_CALLS_PER_STEP=" + bad),
          settings.getMessage());
    }
  }

  @Test
  void anUnreachableProviderIsToldWithoutTheCredentialsOfItsUrl() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    AnthropicMessages client =
        new AnthropicMessages("http://admin:hunter2@127.0.0.1:" + closed, KEY, "m");
    assertFalse(client.endpoint().contains("hunter2"), client.endpoint());
    assertFalse(client.toString().contains("hunter2"), client.toString());
    AnthropicMessages.Answer answer = client.send("{}".getBytes(StandardCharsets.UTF_8), null);
    AnthropicMessages.Answer.Unreachable u = (AnthropicMessages.Answer.Unreachable) answer;
    assertFalse(u.maybeSent(), "a refused connection sent nothing");
    assertTrue(u.why().contains("connection refused"), u.why());
    assertFalse(
        u.why().contains("hunter2") || u.why().contains("admin") || u.why().contains(KEY), u.why());
  }
}
