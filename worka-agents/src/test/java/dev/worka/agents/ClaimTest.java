package dev.worka.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.protocol.AgentEnvironment;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A pooled agent's claim ({@code WORKA_CLAIM=stdin}): one line delivers the attempt's token and
 * identity, nothing else can be changed through it, and nothing after the line is read.
 */
class ClaimTest {
  private static final Map<String, String> POOLED =
      Map.of(
          AgentEnvironment.GATEWAY_URL, "http://127.0.0.1:8080",
          AgentEnvironment.GATEWAY_SOCKET, "/tmp/x/gateway.sock",
          AgentEnvironment.AGENT, "ernest",
          AgentEnvironment.CLAIM, "stdin");

  private static InputStream input(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void theLineCompletesTheEnvironmentAndNothingAfterItIsRead() throws IOException {
    String first = "{\"WORKA_TOKEN\":\"t.o.k\",\"WORKA_RUN_ID\":\"r\",\"WORKA_STEP_ID\":\"s\"}";
    InputStream in = input(first + "\n" + "{\"WORKA_TOKEN\":\"second\"}\n");
    Map<String, String> env = Claim.await(POOLED, in);
    assertEquals("t.o.k", env.get(AgentEnvironment.TOKEN));
    assertEquals("r", env.get(AgentEnvironment.RUN_ID));
    assertEquals("s", env.get(AgentEnvironment.STEP_ID));
    assertEquals("http://127.0.0.1:8080", env.get(AgentEnvironment.GATEWAY_URL));
    assertFalse(env.containsKey(AgentEnvironment.CLAIM));
    // The second line is still unread: a claimed process never takes another attempt's token.
    assertEquals('{', in.read());
    assertTrue(Claim.expected(POOLED));
    assertFalse(Claim.expected(Map.of()));
  }

  @Test
  void aClaimCannotRedirectTheAgentNorSmuggleOtherNames() {
    IOException url =
        assertThrows(
            IOException.class,
            () ->
                Claim.await(
                    POOLED, input("{\"WORKA_TOKEN\":\"t\",\"WORKA_GATEWAY_URL\":\"http://x\"}\n")));
    assertTrue(url.getMessage().contains("WORKA_GATEWAY_URL"), url.getMessage());
    assertThrows(
        IOException.class, () -> Claim.await(POOLED, input("{\"WORKA_TOKEN_FILE\":\"/etc\"}\n")));
    assertThrows(IOException.class, () -> Claim.await(POOLED, input("{\"WORKA_TOKEN\":1}\n")));
    assertThrows(IOException.class, () -> Claim.await(POOLED, input("[\"WORKA_TOKEN\"]\n")));
    assertThrows(IOException.class, () -> Claim.await(POOLED, input("not json\n")));
  }

  @Test
  void anEndedInputOrAnotherWayIsNotAClaim() {
    IOException ended =
        assertThrows(IOException.class, () -> Claim.await(POOLED, input("{\"WORKA_TOK")));
    assertTrue(ended.getMessage().contains("retired unclaimed"), ended.getMessage());
    Map<String, String> other = new java.util.HashMap<>(POOLED);
    other.put(AgentEnvironment.CLAIM, "file");
    assertThrows(IOException.class, () -> Claim.await(other, input("{}\n")));
    byte[] huge = new byte[Claim.MAX_LINE + 10];
    java.util.Arrays.fill(huge, (byte) 'a');
    assertThrows(IOException.class, () -> Claim.await(POOLED, new ByteArrayInputStream(huge)));
  }
}
