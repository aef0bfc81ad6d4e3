package dev.worka.agents;

/** How a policy denial is put in words, the same way in results and in progress lines. */
final class Denials {
  private Denials() {}

  static String describe(String reason, String gateId) {
    return "denied by policy: "
        + (reason == null || reason.isBlank() ? "no reason given" : reason)
        + (gateId == null ? "" : " (gate " + gateId + ")");
  }
}
