package dev.worka.gateway.ingress.slack;

import com.slack.api.methods.MethodsClient;
import com.slack.api.methods.response.users.UsersInfoResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Whether a Slack user is a guest of their workspace, from Slack's Web API ({@code users.info} with
 * the bot token, scope {@code users:read}): {@code is_restricted} (a multi-channel guest) or {@code
 * is_ultra_restricted} (a single-channel guest). A guest belongs to the workspace, so its team id
 * does not tell it apart; {@code ingress.slack} lets a guest ask only when it is listed in {@code
 * users}. Answers are kept for {@link #KEEP} per user (at most {@link #MAX_KEPT} users), so a flood
 * from one user costs one lookup; a failed lookup is not kept, and its requester is refused.
 */
final class SlackGuests {
  static final Duration KEEP = Duration.ofMinutes(5);
  static final int MAX_KEPT = 10_000;

  private final InstantSource clock;
  private final Map<String, Known> kept = new ConcurrentHashMap<>();

  SlackGuests(InstantSource clock) {
    this.clock = clock;
  }

  /**
   * What a lookup found: whether the user is a guest (null: Slack could not be asked; {@code why}
   * says).
   */
  record Guest(Boolean guest, String why) {}

  private record Known(boolean guest, Instant until) {}

  Guest lookup(MethodsClient client, String user) {
    Instant now = clock.instant();
    Known known = kept.get(user);
    if (known != null && now.isBefore(known.until())) {
      return new Guest(known.guest(), null);
    }
    UsersInfoResponse answer;
    try {
      answer = client.usersInfo(r -> r.user(user));
    } catch (Exception e) {
      return new Guest(null, "users.info failed: " + e.getClass().getSimpleName());
    }
    if (!answer.isOk() || answer.getUser() == null) {
      String error = answer.getError() == null ? "no user in the answer" : answer.getError();
      return new Guest(
          null,
          "users.info answered "
              + error
              + ("missing_scope".equals(error)
                  ? " (give the app the users:read scope and reinstall it)"
                  : ""));
    }
    boolean guest = answer.getUser().isRestricted() || answer.getUser().isUltraRestricted();
    if (kept.size() >= MAX_KEPT) {
      kept.clear();
    }
    kept.put(user, new Known(guest, now.plus(KEEP)));
    return new Guest(guest, null);
  }
}
