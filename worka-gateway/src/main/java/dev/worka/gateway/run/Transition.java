package dev.worka.gateway.run;

/** The outcome of a compare-and-set transition. */
public sealed interface Transition {
  /** The row moved and its event was written. */
  record Applied(long eventId) implements Transition {}

  /** The row was no longer in the expected state (someone else moved it first). */
  record LostRace(String actualStatus) implements Transition {}

  /** The state machine does not declare this move; nothing was written. */
  record Illegal(String from, String to) implements Transition {}

  default boolean applied() {
    return this instanceof Applied;
  }
}
