package dev.worka.gateway.mediation;

import dev.worka.gateway.audit.Gate;

/**
 * A deny gate recorded in its own transaction ({@link Attempts#deny}), or the refusal of an attempt
 * that ended meanwhile (nothing recorded for it but the ended token's own gate).
 */
public sealed interface Denial permits Denial.Recorded, Refusal.AttemptEnded {

  /** The deny gate, committed. */
  record Recorded(Gate gate) implements Denial {}
}
