package dev.worka.agents;

import java.io.PrintStream;

/**
 * Progress lines on stderr, one event per line, prefixed with the agent's name. The runtime keeps
 * the last lines as burn diagnostics, so each line says what happened in words a person can act on.
 * Callers never pass the token; line breaks inside a message are flattened so one event stays one
 * line.
 */
final class ProgressLog {
  private static final int MAX_LINE = 2000;
  private final PrintStream out;
  private final String prefix;

  ProgressLog(PrintStream out, String agent) {
    this.out = out;
    this.prefix = "worka-agent " + agent + ": ";
  }

  void line(String message) {
    String flat = message.replaceAll("[\\r\\n]+", " ");
    if (flat.length() > MAX_LINE) {
      flat = flat.substring(0, MAX_LINE) + "…";
    }
    out.println(prefix + flat);
    out.flush();
  }
}
