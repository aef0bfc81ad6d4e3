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
 *
 * <p>With {@code WORKA_CLAIM=stdin} (a pre-started agent of the Gateway's worker pool), it starts
 * its relay, warms up ({@link Warmup}) and then waits for its claim ({@link Claim}): the token and
 * the step arrive as one line on standard input, and only then does the attempt begin.
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
    java.util.Map<String, String> env = System.getenv();
    AgentRunner runner = AgentRunner.standard(System.err);
    if (Claim.expected(env)) {
      Warmup.run();
      try {
        env = Claim.await(env, System.in);
      } catch (IOException e) {
        System.err.println("worka-agent: not claimed: " + e.getMessage());
        if (relay != null) {
          relay.close();
        }
        System.exit(AgentRunner.UNUSABLE_ENVIRONMENT);
        return;
      }
    }
    int code = runner.run(env, args);
    if (relay != null) {
      relay.close();
    }
    System.exit(code);
  }

  private AgentMain() {}
}
