package dev.worka.gateway.delivery;

import dev.worka.gateway.run.RunSource;

/**
 * Where a {@link RunNotifier} would post a run's answers, read from the run's row (which its
 * verified ingress wrote): a place, named for the {@code delivery.post} gate, or why there is none.
 */
public sealed interface AnswerPlace {

  /**
   * A place on {@code source}: {@code name} says which ({@code channel C0DEV, thread
   * 1700000001.000100}, {@code acme/widgets#12}).
   */
  record At(RunSource source, String name) implements AnswerPlace {}

  /** The run records no place the notifier could post to, or one that is not well formed. */
  record Nowhere(String why) implements AnswerPlace {}
}
