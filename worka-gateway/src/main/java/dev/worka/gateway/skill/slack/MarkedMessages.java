package dev.worka.gateway.skill.slack;

import com.slack.api.methods.MethodsClient;
import com.slack.api.methods.response.conversations.ConversationsHistoryResponse;
import com.slack.api.methods.response.conversations.ConversationsRepliesResponse;
import com.slack.api.model.Message;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Worka's marks on the messages it posts (Slack message metadata: an {@code event_type} and an
 * {@code event_payload}), and the read-only search for a marked message: in the thread it was
 * posted to ({@code conversations.replies}, oldest first) or, for a top-level post, among the
 * conversation's newest messages ({@code conversations.history}), with {@code
 * include_all_metadata}; at most {@link #PAGES} pages of {@link #PAGE_SIZE}. That is how a post
 * whose outcome was never recorded (the Gateway died, or Slack's answer was lost) is found again
 * instead of being posted twice.
 */
public final class MarkedMessages {
  private MarkedMessages() {}

  static final int PAGE_SIZE = 200;

  /** How many pages a search reads at most. */
  static final int PAGES = 5;

  /** What a search came to. */
  public sealed interface Search {}

  /** The marked message. */
  public record Found(Message message) implements Search {}

  /** Every message of the place was read ({@code seen}); none is marked. */
  public record Absent(int seen) implements Search {}

  /** The {@code seen} messages read are not marked and there are more that were not read. */
  public record NotAllRead(int seen) implements Search {}

  public static Message.Metadata mark(String eventType, Map<String, ?> payload) {
    return Message.Metadata.builder()
        .eventType(eventType)
        .eventPayload(Map.copyOf(payload))
        .build();
  }

  /**
   * Whether {@code m} carries the mark {@code eventType} with {@code field} = {@code value} in its
   * payload.
   */
  public static boolean marked(Message m, String eventType, String field, String value) {
    Message.Metadata metadata = m.getMetadata();
    return metadata != null
        && eventType.equals(metadata.getEventType())
        && metadata.getEventPayload() != null
        && value.equals(String.valueOf(metadata.getEventPayload().get(field)));
  }

  /**
   * Looks for a message for which {@code marked} holds in thread {@code threadTs} of {@code
   * channel}, or among the channel's newest messages when {@code threadTs} is null.
   *
   * @throws SlackErrors.Failed when Slack could not be asked
   */
  public static Search search(
      MethodsClient methods, String channel, String threadTs, Predicate<Message> marked) {
    String cursor = null;
    int seen = 0;
    for (int page = 0; page < PAGES; page++) {
      String pageCursor = cursor;
      List<Message> messages;
      boolean more;
      String next;
      if (threadTs != null) {
        ConversationsRepliesResponse r =
            SlackErrors.ok(
                () ->
                    methods.conversationsReplies(
                        b ->
                            b.channel(channel)
                                .ts(threadTs)
                                .limit(PAGE_SIZE)
                                .cursor(pageCursor)
                                .includeAllMetadata(true)));
        messages = r.getMessages();
        more = r.isHasMore();
        next = r.getResponseMetadata() == null ? null : r.getResponseMetadata().getNextCursor();
      } else {
        ConversationsHistoryResponse r =
            SlackErrors.ok(
                () ->
                    methods.conversationsHistory(
                        b ->
                            b.channel(channel)
                                .limit(PAGE_SIZE)
                                .cursor(pageCursor)
                                .includeAllMetadata(true)));
        messages = r.getMessages();
        more = r.isHasMore();
        next = r.getResponseMetadata() == null ? null : r.getResponseMetadata().getNextCursor();
      }
      for (Message m : messages == null ? List.<Message>of() : messages) {
        seen++;
        if (marked.test(m)) {
          return new Found(m);
        }
      }
      if (!more || next == null || next.isEmpty()) {
        return new Absent(seen);
      }
      cursor = next;
    }
    return new NotAllRead(seen);
  }

  public static String where(String channel, String threadTs) {
    return threadTs == null ? "channel " + channel : "thread " + threadTs + " of " + channel;
  }
}
