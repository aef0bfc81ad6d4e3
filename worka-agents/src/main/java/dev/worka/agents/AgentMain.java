package dev.worka.agents;

/**
 * Entry point of {@code bin/worka-agent NAME}: runs one step attempt of the built-in agent NAME
 * ({@code hari}, {@code ernest} or {@code daneel}; {@code WORKA_AGENT} when NAME is absent) and
 * exits with {@code 0} once a result was accepted by the Gateway (even a failed one), {@code 1}
 * when no result could be delivered, and {@code 2} when the environment or arguments are unusable.
 */
public final class AgentMain {
  public static void main(String[] args) {
    System.exit(AgentRunner.standard(System.err).run(System.getenv(), args));
  }

  private AgentMain() {}
}
