package dev.worka.gateway.run;

import java.util.Locale;

/** A planning step (the run's planner agent) or a worker step (from an accepted plan). */
public enum StepRole {
  PLANNER,
  WORKER;

  public String sql() {
    return name().toLowerCase(Locale.ROOT);
  }
}
