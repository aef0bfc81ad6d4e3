package dev.worka.gateway.delivery;

import dev.worka.gateway.run.Run;
import java.util.Optional;

/**
 * Answers the runs of one source where they came from (a Slack thread, a GitHub issue), with the
 * Gateway's credentials for that place. Implementations must be safe to call again for the same
 * run and kind after a failure (the loop retries), and must send only cleaned text: the run's
 * stored result and error are already cleaned; anything else they add is their own wording.
 */
public interface RunNotifier {

  /** The run source this notifier answers ({@code slack}, {@code github}). */
  String source();

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
   * Tells the requester how the run ended: its cleaned result when it succeeded; otherwise what
   * was refused or failed, and why ({@link Run#status()}, {@link Run#error()}).
   *
   * @param maybeSentBefore as for {@link #acknowledge}
   * @return the upstream's reference of what was posted
   * @throws NotificationFailedException when it could not be sent, saying whether to try again
   */
  Optional<String> deliver(Run run, boolean maybeSentBefore);
}
