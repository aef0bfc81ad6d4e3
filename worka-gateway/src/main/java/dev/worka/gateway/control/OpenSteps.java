package dev.worka.gateway.control;

import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Ends the steps a run leaves open when it ends, so no step outlives its run. */
final class OpenSteps {
  private OpenSteps() {}

  /**
   * Cancels every non-terminal step among {@code steps} on the caller's transaction; returns the
   * ids of those that were running, whose workers the caller stops after commit.
   */
  static List<UUID> cancel(
      Connection c, StepStore store, List<Step> steps, String why, String actor)
      throws SQLException {
    List<UUID> wereRunning = new ArrayList<>();
    for (Step s : steps) {
      if (!s.status().terminal()) {
        if (s.status() == StepStatus.RUNNING) {
          wereRunning.add(s.id());
        }
        // Steps are not row-locked here: one that ended on its own meanwhile (its worker's
        // result, a deny flood) is no longer open, which is all cancelling wants.
        store
            .transition(
                c,
                s.id(),
                s.status(),
                StepStatus.CANCELLED,
                null,
                StepStore.Change.error(why),
                actor,
                why)
            .acceptLostRace();
      }
    }
    return wereRunning;
  }
}
