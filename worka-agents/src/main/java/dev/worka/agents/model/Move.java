package dev.worka.agents.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/** A worker's next move, as its model chooses it. */
public sealed interface Move {

  /** Ask the Gateway to run {@code skill} with {@code input} (an object). */
  record CallSkill(String skill, ObjectNode input) implements Move {
    public CallSkill {
      if (skill == null || skill.isBlank()) {
        throw new IllegalArgumentException("skill must be named, got '" + skill + "'");
      }
      Objects.requireNonNull(input, "input");
    }
  }

  /** The step is done: {@code summary} for people, {@code output} for dependent steps. */
  record Finish(String summary, ObjectNode output) implements Move {
    public Finish {
      Objects.requireNonNull(summary, "summary");
      Objects.requireNonNull(output, "output");
    }
  }

  /**
   * The step cannot be done as asked; {@code error} says why in words a person can act on. Not
   * retryable: asking the same model the same thing again gives the same answer.
   */
  record GiveUp(String error) implements Move {
    public GiveUp {
      Objects.requireNonNull(error, "error");
    }
  }
}
