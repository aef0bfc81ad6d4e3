package dev.worka.gateway.delivery;

import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;

/**
 * Decides whether Worka may post one of its own answers (an acknowledgement, a result or refusal):
 * the {@code delivery.post} gate, recorded allow or deny before anything is posted, one per attempt
 * to post. The rule is the one a requester expects and an attacker cannot steer: an answer goes
 * only to the place its request came from, as the run's row records it — the Slack conversation and
 * thread of a signed Slack event, the issue of a signed GitHub delivery — through the notifier of
 * the run's own source; a result only once the run has ended. No agent and no request text chooses
 * the place. It reads nothing but the run and the notification: cheap, pure.
 */
public final class DeliveryPolicy {
  /** The gate's subject: Worka itself, not an agent. */
  public static final String SUBJECT = "worka";

  private DeliveryPolicy() {}

  /** The decision, with the reason the gate records. */
  public sealed interface Decision {
    String reason();

    /** Post it. */
    record Allow(String reason) implements Decision {}

    /** Do not post it; the notification fails for good. */
    record Deny(String reason) implements Decision {}
  }

  /**
   * Decides whether {@code notification} of {@code run} may be posted now.
   *
   * @param notification the claimed notification ({@code attempts} is this attempt's number)
   * @param notifierSource the source of the notifier that would post it
   * @param place where that notifier would post it
   * @param maxAttempts the most attempts a notification gets
   */
  public static Decision decide(
      Run run,
      RunNotifications.Notification notification,
      RunSource notifierSource,
      AnswerPlace place,
      int maxAttempts) {
    String what =
        "the "
            + switch (notification.kind()) {
              case ACK -> "acknowledgement";
              case RESULT -> "result";
              case APPROVAL -> "approval request " + notification.approvalId();
              case DECISION -> "outcome of approval request " + notification.approvalId();
            };
    if (notifierSource != run.source() || notification.source() != run.source()) {
      return new Decision.Deny(
          what
              + " would go to "
              + notifierSource.sql()
              + ", but the request came from "
              + run.source().sql()
              + ": answers go only where the request came from");
    }
    if (notification.kind() == RunNotifications.Kind.RESULT && !run.status().terminal()) {
      return new Decision.Deny(
          what + " of a run that has not ended (" + run.status().sql() + ") is not posted");
    }
    return switch (place) {
      case AnswerPlace.Nowhere n -> new Decision.Deny(what + " has nowhere to go: " + n.why());
      case AnswerPlace.At at when at.source() != run.source() ->
          new Decision.Deny(
              what
                  + " would go to "
                  + at.source().sql()
                  + " "
                  + at.name()
                  + ", but the request came from "
                  + run.source().sql());
      case AnswerPlace.At at ->
          new Decision.Allow(
              what
                  + " to "
                  + at.source().sql()
                  + " "
                  + at.name()
                  + ", where the request came from (attempt "
                  + notification.attempts()
                  + " of "
                  + maxAttempts
                  + ")");
    };
  }
}
