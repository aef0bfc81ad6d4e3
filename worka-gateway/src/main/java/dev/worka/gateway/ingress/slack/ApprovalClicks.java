package dev.worka.gateway.ingress.slack;

import com.slack.api.app_backend.interactive_components.payload.BlockActionPayload;
import com.slack.api.methods.MethodsClient;
import dev.worka.gateway.mediation.Approvals;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A click on the Approve or Deny button of a Worka approval message ({@code action_id} {@value
 * #APPROVE} / {@value #DENY}, {@code value} the approval id), from a request whose Slack signature
 * was checked before Bolt saw it. The decider is {@code slack:<user.id>} of the signed payload; it
 * counts only when the user belongs to this bot's own workspace (the payload's {@code
 * user.team_id}, else {@code team.id}) — a Slack Connect user of another company is never an
 * approver here — and then it decides through {@link Approvals} like the operator API: only the
 * request's named approvers count (anyone else's click is a deny gate there and changes nothing), a
 * second decision and one after expiry are refused.
 *
 * <p>Afterwards the clicked message is updated ({@code chat.update}: who decided, buttons removed)
 * when the click decided it (or found it expired); the clicker alone is told ({@code
 * chat.postEphemeral}) when it did not: not an approver, already decided, no such request.
 */
final class ApprovalClicks {
  private static final Logger log = LoggerFactory.getLogger(ApprovalClicks.class);

  static final String APPROVE = "worka_approval_approve";
  static final String DENY = "worka_approval_deny";

  private static final Pattern USER = Pattern.compile("[UW][A-Z0-9]{2,20}");
  private static final Pattern CHANNEL = Pattern.compile("[CDG][A-Z0-9]{2,20}");
  private static final Pattern TS = Pattern.compile("[0-9]{1,12}\\.[0-9]{1,9}");
  private static final Pattern UUID_TEXT =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  private ApprovalClicks() {}

  /** Whether these actions are a Worka approval click. */
  static boolean concerns(List<String> actionIds) {
    return actionIds.contains(APPROVE) || actionIds.contains(DENY);
  }

  /** One click, read from the signed payload, to be decided off Slack's acknowledging thread. */
  record Click(
      String action,
      String value,
      String user,
      String userTeam,
      String botTeam,
      String channel,
      String messageTs,
      String threadTs,
      MethodsClient client,
      Approvals approvals) {

    /** Decides and answers in Slack; never throws. */
    void decide() {
      try {
        Optional<String> refused = refusal();
        if (refused.isPresent()) {
          log.warn(
              "slack: approval click {} {} by {} (workspace {}) refused: {}",
              action,
              clipped(value),
              clipped(user),
              clipped(userTeam),
              refused.get());
          tell(refused.get());
          return;
        }
        UUID id = UUID.fromString(value);
        String identity = "slack:" + user;
        Approvals.Decided decided =
            APPROVE.equals(action)
                ? approvals.approve(id, identity)
                : approvals.deny(id, identity, "denied in Slack");
        log.info("slack: approval {} clicked {} by {}: {}", id, action, identity, name(decided));
        switch (decided) {
          case Approvals.Decided.Approved a -> update(id, "approved by `" + identity + "`");
          case Approvals.Decided.Denied d -> update(id, "denied by `" + identity + "`");
          case Approvals.Decided.Expired e ->
              update(id, "expired at " + e.approval().expiresAt() + " before anyone decided");
          case Approvals.Decided.AlreadyDecided a ->
              tell(
                  "This request was already "
                      + a.approval().status()
                      + (a.approval().decidedBy() == null
                          ? ""
                          : " by `" + a.approval().decidedBy() + "`")
                      + "; your click changed nothing.");
          case Approvals.Decided.NotAnApprover n ->
              tell(
                  "You are not one of the approvers of this request, so your click did not"
                      + " decide it.");
          case Approvals.Decided.NotFound n ->
              tell("Worka has no approval request " + id + "; your click decided nothing.");
          case Approvals.Decided.StepNotWaiting s ->
              tell("This request no longer waits (its run ended); your click decided nothing.");
        }
      } catch (RuntimeException e) {
        log.warn("slack: approval click {} {} failed: {}", action, clipped(value), e.toString());
        tell("Worka could not record your decision; try again, or decide with `worka approvals`.");
      }
    }

    /** Why this click cannot decide at all (before any decision code runs), if so. */
    private Optional<String> refusal() {
      if (approvals == null) {
        return Optional.of(
            "This Gateway does not take approvals from Slack; your click decided" + " nothing.");
      }
      if (user == null || !USER.matcher(user).matches()) {
        return Optional.of("Worka could not tell who clicked; nothing was decided.");
      }
      if (botTeam == null || userTeam == null || !botTeam.equals(userTeam)) {
        return Optional.of(
            "Approvals are taken only from members of Worka's own workspace; nothing was"
                + " decided.");
      }
      if (value == null || !UUID_TEXT.matcher(value).matches()) {
        return Optional.of("That button does not name a Worka approval; nothing was decided.");
      }
      return Optional.empty();
    }

    /** Replaces the clicked message: what happened, no buttons. */
    private void update(UUID id, String what) {
      if (!where()) {
        return;
      }
      String text = "Approval `" + id + "`: " + what + ".";
      try {
        var r =
            client.chatUpdate(
                b ->
                    b.channel(channel)
                        .ts(messageTs)
                        .text(text)
                        .blocksAsString("[]")
                        .parse("none")
                        .linkNames(false));
        if (!r.isOk()) {
          log.warn("slack: could not update approval message {}: {}", id, r.getError());
        }
      } catch (Exception e) {
        log.warn("slack: could not update approval message {}: {}", id, e.toString());
      }
    }

    /** Tells the clicker alone. */
    private void tell(String text) {
      if (!where() || user == null || !USER.matcher(user).matches()) {
        return;
      }
      try {
        var r =
            client.chatPostEphemeral(
                b -> b.channel(channel).user(user).threadTs(threadTs).text(text));
        if (!r.isOk()) {
          log.warn("slack: could not answer {}'s approval click: {}", user, r.getError());
        }
      } catch (Exception e) {
        log.warn("slack: could not answer {}'s approval click: {}", user, e.toString());
      }
    }

    private boolean where() {
      return channel != null
          && CHANNEL.matcher(channel).matches()
          && messageTs != null
          && TS.matcher(messageTs).matches();
    }
  }

  /** The click in {@code p} (its first approval action), with the bot's workspace. */
  static Click click(
      BlockActionPayload p, String botTeam, MethodsClient client, Approvals approvals) {
    BlockActionPayload.Action action =
        p.getActions().stream()
            .filter(a -> APPROVE.equals(a.getActionId()) || DENY.equals(a.getActionId()))
            .findFirst()
            .orElseThrow();
    String user = p.getUser() == null ? null : p.getUser().getId();
    String userTeam =
        p.getUser() != null && p.getUser().getTeamId() != null
            ? p.getUser().getTeamId()
            : p.getTeam() == null ? null : p.getTeam().getId();
    String channel =
        p.getContainer() != null && p.getContainer().getChannelId() != null
            ? p.getContainer().getChannelId()
            : p.getChannel() == null ? null : p.getChannel().getId();
    String ts =
        p.getContainer() != null && p.getContainer().getMessageTs() != null
            ? p.getContainer().getMessageTs()
            : p.getMessage() == null ? null : p.getMessage().getTs();
    String thread =
        p.getContainer() != null && p.getContainer().getThreadTs() != null
            ? p.getContainer().getThreadTs()
            : p.getMessage() == null ? null : p.getMessage().getThreadTs();
    return new Click(
        action.getActionId(),
        action.getValue(),
        user,
        userTeam,
        botTeam,
        channel,
        ts,
        thread != null && TS.matcher(thread).matches() ? thread : null,
        client,
        approvals);
  }

  private static String name(Approvals.Decided d) {
    return d.getClass().getSimpleName();
  }

  private static String clipped(String s) {
    return s == null ? "none" : s.length() <= 40 ? s : s.substring(0, 40) + "…";
  }
}
