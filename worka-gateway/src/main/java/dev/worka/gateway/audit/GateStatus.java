package dev.worka.gateway.audit;

/** The outcome of a decision. */
public enum GateStatus {
  ALLOW,
  DENY;

  public String sql() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
