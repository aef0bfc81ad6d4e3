package dev.worka.gateway.run;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.UUID;

/**
 * What a run owes the place its request came from, written by {@link RunStore} on the connection
 * that creates or ends the run, so the debt commits with the run's move and is never lost. The
 * delivery outbox ({@code delivery.RunNotifications}) implements it: an acknowledgement is owed
 * from the moment a run is created, its result from the moment it ends — when its source is one
 * Worka answers.
 */
public interface RunOutbox {

  /** Run {@code runId} from {@code source} was just created on {@code c}. */
  void created(Connection c, UUID runId, RunSource source, Instant now) throws SQLException;

  /** Run {@code runId} from {@code source} just ended (a terminal status) on {@code c}. */
  void ended(Connection c, UUID runId, RunSource source, Instant now) throws SQLException;

  /**
   * A call of run {@code runId} from {@code source} was just held for approval {@code approvalId}
   * on {@code c}: where its approvers can answer in the run's place (Slack buttons, a GitHub
   * comment), the request is owed a message asking them.
   */
  default void approvalRequested(
      Connection c, UUID runId, UUID approvalId, RunSource source, Instant now)
      throws SQLException {}

  /**
   * Approval {@code approvalId} of run {@code runId} was just closed on {@code c} — approved,
   * denied or expired, wherever that happened: where its request was asked with a message (Slack),
   * that message is owed the outcome.
   */
  default void approvalClosed(Connection c, UUID runId, UUID approvalId, Instant now)
      throws SQLException {}
}
