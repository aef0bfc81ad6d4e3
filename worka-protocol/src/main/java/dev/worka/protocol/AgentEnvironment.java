package dev.worka.protocol;

import java.util.List;

/** The environment variables a worker is started with (DESIGN §5), and nothing else. */
public final class AgentEnvironment {
  public static final String GATEWAY_URL = "WORKA_GATEWAY_URL";
  public static final String TOKEN = "WORKA_TOKEN";
  public static final String TOKEN_FILE = "WORKA_TOKEN_FILE";
  public static final String RUN_ID = "WORKA_RUN_ID";
  public static final String STEP_ID = "WORKA_STEP_ID";
  public static final String AGENT = "WORKA_AGENT";
  public static final String TRACEPARENT = "TRACEPARENT";

  /**
   * A built-in agent's Unix socket to the Gateway, in a sandbox without a network: the agent relays
   * its own connections to {@link #GATEWAY_URL}'s loopback port through it. Set only for the
   * built-in manifest's commands; other workers get a relay in front of them instead.
   */
  public static final String GATEWAY_SOCKET = "WORKA_GATEWAY_SOCKET";

  /**
   * Set to {@code stdin} in a pre-started built-in agent of the worker pool ({@code
   * WORKA_WORKER_POOL}): the process starts with no token and no step, and waits for its claim —
   * one line on its standard input, a JSON object of {@link #CLAIMED} names to values — before it
   * makes any call. Absent everywhere else.
   */
  public static final String CLAIM = "WORKA_CLAIM";

  /** The names a claim line delivers (and only these): the attempt's token and identity. */
  public static final List<String> CLAIMED = List.of(TOKEN, RUN_ID, STEP_ID, AGENT, TRACEPARENT);

  /** Every name a worker environment may contain. */
  public static final List<String> ALL =
      List.of(
          GATEWAY_URL,
          TOKEN,
          TOKEN_FILE,
          RUN_ID,
          STEP_ID,
          AGENT,
          TRACEPARENT,
          GATEWAY_SOCKET,
          CLAIM);

  private AgentEnvironment() {}
}
