package dev.worka.gateway.delivery;

import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import java.util.Optional;
import java.util.UUID;

/**
 * Answers the runs of one source where they came from (a Slack thread, a GitHub issue), with the
 * Gateway's credentials for that place. The loop calls it only after a {@code delivery.post} gate
 * allowed the post ({@link DeliveryPolicy}). Implementations must be safe to call again for the
 * same run and kind after a failure (the loop retries), and must post only harmless text: a
 * failure's reason as {@link PublicReason} gives it (never the run's whole error), and everything
 * made inert for the platform (no mention, no disguised link).
 */
public interface RunNotifier {

  /** The run source this notifier answers (Slack, GitHub). */
  RunSource source();

  /**
   * Where this notifier would post {@code run}'s answers: the place the run's row records (its
   * Slack conversation and thread, its GitHub issue), or why there is none. Pure: reads only the
   * run. The {@code delivery.post} gate names it, and {@link #acknowledge}/{@link #deliver} post
   * exactly there.
   */
  AnswerPlace place(Run run);

  /**
   * Tells the requester the run was accepted (e.g. its id, and that work is under way).
   *
   * @param maybeSentBefore an earlier attempt may have posted it (it failed, perhaps after the
   *     upstream took it, or its Gateway died while sending): look for it before posting again,
   *     where the upstream allows
   * @return the upstream's reference of what was posted (a message timestamp, a comment URL)
   * @throws NotificationFailedException when it could not be sent, saying whether to try again
   */
  Optional<String> acknowledge(Run run, boolean maybeSentBefore);

  /**
   * Tells the requester how the run ended: its cleaned result when it succeeded; otherwise what was
   * refused or failed, and why ({@link Run#status()}, {@link Run#error()}).
   *
   * @param maybeSentBefore as for {@link #acknowledge}
   * @return the upstream's reference of what was posted
   * @throws NotificationFailedException when it could not be sent, saying whether to try again
   */
  Optional<String> deliver(Run run, boolean maybeSentBefore);

  /**
   * Asks the approvers of approval {@code approvalId}, a call of {@code run} held for approval
   * (Slack: a message with Approve/Deny buttons in the run's thread; GitHub: a comment on the run's
   * issue saying how to answer). Nothing when the request is no longer pending.
   *
   * @param maybeSentBefore as for {@link #acknowledge}
   * @return the upstream's reference of what was posted
   * @throws NotificationFailedException when it could not be sent, saying whether to try again
   */
  default Optional<String> askApproval(Run run, UUID approvalId, boolean maybeSentBefore) {
    throw new NotificationFailedException(
        "answers to " + source().sql() + " cannot ask for approvals", false);
  }

  /**
   * Tells the message that asked the approvers of approval {@code approvalId} its outcome (Slack:
   * the message is replaced by who decided, and where, or that it expired; its buttons removed).
   * Safe to repeat (the loop retries).
   *
   * @param askedAt the upstream's reference of the message that asked ({@link #askApproval}'s),
   *     never null
   * @return the upstream's reference of what was updated
   * @throws NotificationFailedException when it could not be sent, saying whether to try again
   */
  default Optional<String> approvalOutcome(Run run, UUID approvalId, String askedAt) {
    throw new NotificationFailedException(
        "answers to " + source().sql() + " cannot tell an approval's outcome", false);
  }
}
