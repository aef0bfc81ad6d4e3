package dev.worka.agents;

import dev.worka.protocol.AgentEnvironment;
import java.io.IOException;

/**
 * Entry point of {@code bin/worka-agent NAME}: runs one step attempt of the built-in agent NAME
 * ({@code hari}, {@code ernest} or {@code daneel}; {@code WORKA_AGENT} when NAME is absent) and
 * exits with {@code 0} once a result was accepted by the Gateway (even a failed one), {@code 1}
 * when no result could be delivered, and {@code 2} when the environment or arguments are unusable.
 *
 * <p>In a sandbox without a network, the Gateway passes {@code WORKA_GATEWAY_SOCKET}: the agent
 * then carries its own connections to the Gateway ({@link SandboxRelay}) — no relay JVM in front of
 * it.
 */
public final class AgentMain {
  public static void main(String[] args) {
    SandboxRelay relay;
    try {
      relay =
          SandboxRelay.start(
              System.getenv(SandboxRelay.SOCKET_VARIABLE),
              System.getenv(AgentEnvironment.GATEWAY_URL));
    } catch (IOException e) {
      System.err.println(
          "worka-agent: cannot relay to the Gateway from this sandbox ("
              + SandboxRelay.SOCKET_VARIABLE
              + "): "
              + e.getMessage());
      System.exit(AgentRunner.RESULT_NOT_DELIVERED);
      return;
    }
    int code = AgentRunner.standard(System.err).run(System.getenv(), args);
    if (relay != null) {
      relay.close();
    }
    System.exit(code);
  }

  private AgentMain() {}
}
