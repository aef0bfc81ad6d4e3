package dev.worka.gateway.run;

import com.google.errorprone.annotations.CheckReturnValue;

/**
 * The outcome of a compare-and-set transition ({@link RunStore#transition}, {@link
 * StepStore#transition}). Every caller handles it — the compiler holds them to it (error-prone's
 * {@code CheckReturnValue}) — in one of three ways:
 *
 * <ul>
 *   <li>{@link #applied()}: the move may lose a race and the caller acts on which happened;
 *   <li>{@link #requireApplied}: the move cannot lose (its transaction holds the run's row lock and
 *       read the state it moves from under that lock), so a lost race is a bug;
 *   <li>{@link #acceptLostRace()}: the move may lose, and losing needs nothing done (the call site
 *       says why).
 * </ul>
 *
 * An {@link Illegal} move (one the state machine does not declare) is a bug in the caller: each of
 * the three throws for it.
 */
public sealed interface Transition {
  /** The row moved and its event was written. */
  record Applied(long eventId) implements Transition {}

  /** The row was no longer in the expected state (someone else moved it first). */
  record LostRace(String actualStatus) implements Transition {}

  /** The state machine does not declare this move; nothing was written. */
  record Illegal(String from, String to) implements Transition {}

  /**
   * Whether the row moved: false when another transaction moved it first.
   *
   * @throws IllegalStateException for an undeclared move
   */
  @CheckReturnValue
  default boolean applied() {
    return switch (this) {
      case Applied a -> true;
      case LostRace l -> false;
      case Illegal i -> throw undeclared(i);
    };
  }

  /**
   * For a move that cannot lose a race: returns if it was applied.
   *
   * @param what the row that moved, for the message (e.g. {@code "run " + id})
   * @throws IllegalStateException when it lost a race (a broken lock invariant) or was undeclared
   */
  default void requireApplied(String what) {
    switch (this) {
      case Applied a -> {}
      case LostRace l -> throw new IllegalStateException(what + " moved while locked: " + l);
      case Illegal i -> throw undeclared(i);
    }
  }

  /**
   * For a move whose lost race needs nothing done: another transaction moved the row first, to
   * where this move would have taken it or past it.
   *
   * @throws IllegalStateException for an undeclared move
   */
  default void acceptLostRace() {
    if (this instanceof Illegal i) {
      throw undeclared(i);
    }
  }

  private static IllegalStateException undeclared(Illegal i) {
    return new IllegalStateException(
        "the state machine does not declare " + i.from() + " -> " + i.to() + ": a caller bug");
  }
}
