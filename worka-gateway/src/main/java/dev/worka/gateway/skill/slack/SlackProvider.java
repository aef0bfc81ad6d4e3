package dev.worka.gateway.skill.slack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.slack.api.methods.MethodsClient;
import com.slack.api.methods.SlackApiTextResponse;
import com.slack.api.methods.response.chat.ChatPostMessageResponse;
import com.slack.api.methods.response.conversations.ConversationsRepliesResponse;
import com.slack.api.model.Message;
import dev.worka.gateway.skill.Availability;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillOutcomeUnknownException;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.protocol.Json;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code slack.*} skills, live, through Slack's Web API with the official SDK's {@link
 * MethodsClient} and the Gateway's bot token (which goes only into the client's {@code
 * Authorization} header, never into a message or an output):
 *
 * <ul>
 *   <li>{@code slack.read_thread} → {@code conversations.replies}: the thread's messages (parent
 *       first), paged up to {@code limit} (default {@link #DEFAULT_READ_LIMIT}); output {@code
 *       {"messages": [{ts, thread_ts, user, username, bot_id, subtype, text}], "has_more"}}.
 *   <li>{@code slack.post_message} → {@code chat.postMessage} with {@code link_names=false}, {@code
 *       parse=none}, no unfurls, and the text made inert ({@link SlackText#inert}: broadcasts and
 *       user-group mentions become plain {@code @\u200bname}, every other markup — {@code <@U…>},
 *       {@code <#C…>}, {@code <url|label>} — is escaped and shows as written); output {@code
 *       {"channel", "ts", "message": {ts, thread_ts, text}}}. The message carries the invocation in
 *       its metadata ({@code event_type} {@value #METADATA_EVENT_TYPE}, {@code event_payload:
 *       {"invocation": id}}), so {@link #reconcile} can find it in the conversation's history after
 *       a crash.
 * </ul>
 *
 * <p>Failures say whether to try again ({@link SlackErrors}): a post whose answer was lost, or that
 * Slack says may have partly happened, is {@link SkillOutcomeUnknownException}.
 */
public final class SlackProvider implements SkillProvider {
  public static final String PROVIDER = "slack";
  public static final String METADATA_EVENT_TYPE = "worka_invocation";

  static final int DEFAULT_READ_LIMIT = 1000;
  static final int PAGE_SIZE = MarkedMessages.PAGE_SIZE;

  private final SkillProvider catalog;
  private final MethodsClient methods;
  private final Duration callTimeout;

  /**
   * @param catalog the catalog-only Slack provider whose skills this one offers live
   * @param methods the Web API client, bound to the bot token (and {@code SLACK_API_URL})
   * @param callTimeout how long one call may take (the client's own timeout)
   */
  public SlackProvider(SkillProvider catalog, MethodsClient methods, Duration callTimeout) {
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    if (!PROVIDER.equals(catalog.name())) {
      throw new IllegalArgumentException(
          "the catalog must be the slack one, was " + catalog.name());
    }
    this.methods = Objects.requireNonNull(methods, "methods");
    this.callTimeout = Objects.requireNonNull(callTimeout, "callTimeout");
  }

  @Override
  public String name() {
    return PROVIDER;
  }

  @Override
  public String upstream() {
    return "Slack";
  }

  @Override
  public List<SkillDefinition> skills() {
    return catalog.skills();
  }

  @Override
  public JsonNode dryRunShape(SkillDefinition skill) {
    return catalog.dryRunShape(skill);
  }

  @Override
  public Availability availability() {
    return new Availability.Available();
  }

  @Override
  public Duration callTimeout() {
    return callTimeout;
  }

  @Override
  public JsonNode invoke(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    Objects.requireNonNull(ctx, "ctx");
    return switch (action(skill)) {
      case "read_thread" -> readThread(skill, input);
      case "post_message" -> postMessage(skill, input, ctx);
      default ->
          throw new SkillUnavailableException(
              skill.name(), "Worka's Slack client has no " + skill.name());
    };
  }

  @Override
  public Optional<String> upstreamRef(SkillDefinition skill, JsonNode output) {
    if (output != null && output.path("channel").isTextual() && output.path("ts").isTextual()) {
      return Optional.of(output.get("channel").asText() + "/" + output.get("ts").asText());
    }
    return Optional.empty();
  }

  // ---------------------------------------------------------------------------------------------
  // read_thread

  private JsonNode readThread(SkillDefinition skill, JsonNode input) {
    String channel = input.path("channel").asText();
    String ts = input.path("ts").asText();
    int limit =
        input.path("limit").canConvertToInt() ? input.get("limit").asInt() : DEFAULT_READ_LIMIT;
    ObjectNode output = Json.STRICT.createObjectNode();
    ArrayNode messages = output.putArray("messages");
    String cursor = null;
    boolean more;
    do {
      String page = cursor;
      int size = Math.min(PAGE_SIZE, limit - messages.size());
      ConversationsRepliesResponse r =
          call(
              skill,
              false,
              () ->
                  methods.conversationsReplies(
                      b -> b.channel(channel).ts(ts).limit(size).cursor(page)));
      for (Message m : r.getMessages() == null ? List.<Message>of() : r.getMessages()) {
        if (messages.size() < limit) {
          messages.add(message(m));
        }
      }
      cursor = r.getResponseMetadata() == null ? null : r.getResponseMetadata().getNextCursor();
      more = r.isHasMore() && cursor != null && !cursor.isEmpty();
    } while (more && messages.size() < limit);
    output.put("has_more", more);
    return output;
  }

  private static ObjectNode message(Message m) {
    ObjectNode node = Json.STRICT.createObjectNode();
    putIfSet(node, "ts", m.getTs());
    putIfSet(node, "thread_ts", m.getThreadTs());
    putIfSet(node, "user", m.getUser());
    putIfSet(node, "username", m.getUsername());
    putIfSet(node, "bot_id", m.getBotId());
    putIfSet(node, "subtype", m.getSubtype());
    node.put("text", m.getText() == null ? "" : m.getText());
    return node;
  }

  // ---------------------------------------------------------------------------------------------
  // post_message

  private JsonNode postMessage(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    String channel = input.path("channel").asText();
    String threadTs = input.path("thread_ts").isTextual() ? input.get("thread_ts").asText() : null;
    String text = SlackText.inert(input.path("text").asText());
    ChatPostMessageResponse r =
        call(
            skill,
            true,
            () ->
                methods.chatPostMessage(
                    b ->
                        b.channel(channel)
                            .threadTs(threadTs)
                            .text(text)
                            .parse("none")
                            .linkNames(false)
                            .unfurlLinks(false)
                            .unfurlMedia(false)
                            .metadata(
                                MarkedMessages.mark(
                                    METADATA_EVENT_TYPE,
                                    Map.of("invocation", ctx.invocationId().toString())))));
    return posted(
        r.getChannel() != null ? r.getChannel() : channel,
        r.getTs(),
        r.getMessage(),
        threadTs,
        text);
  }

  private static ObjectNode posted(
      String channel, String ts, Message message, String threadTs, String text) {
    ObjectNode output = Json.STRICT.createObjectNode();
    output.put("channel", channel);
    putIfSet(output, "ts", ts);
    ObjectNode m = output.putObject("message");
    putIfSet(m, "ts", message != null && message.getTs() != null ? message.getTs() : ts);
    putIfSet(
        m,
        "thread_ts",
        message != null && message.getThreadTs() != null ? message.getThreadTs() : threadTs);
    m.put("text", message != null && message.getText() != null ? message.getText() : text);
    return output;
  }

  // ---------------------------------------------------------------------------------------------
  // reconcile

  /**
   * Looks, read-only, for the message an earlier {@code slack.post_message} under {@code ctx}
   * posted: a message whose metadata names the invocation, in the thread it was posted to ({@code
   * conversations.replies}, oldest first) or, for a top-level post, among the channel's newest
   * messages ({@code conversations.history}), with {@code include_all_metadata}. Reads need no
   * reconciling: repeating them is harmless.
   */
  @Override
  public Reconciliation reconcile(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    if (!skill.sideEffect()) {
      return new Reconciliation.NotPerformed(
          skill.name() + " has no side effect upstream: repeating it is harmless");
    }
    if (!action(skill).equals("post_message")) {
      return new Reconciliation.Unknown(skill.name() + " leaves no marker in Slack to look for");
    }
    String channel = input.path("channel").asText();
    String threadTs = input.path("thread_ts").isTextual() ? input.get("thread_ts").asText() : null;
    String invocation = ctx.invocationId().toString();
    String where = MarkedMessages.where(channel, threadTs);
    MarkedMessages.Search search;
    try {
      search =
          MarkedMessages.search(
              methods,
              channel,
              threadTs,
              m -> MarkedMessages.marked(m, METADATA_EVENT_TYPE, "invocation", invocation));
    } catch (SlackErrors.Failed e) {
      return new Reconciliation.Unknown(
          "Slack could not be asked: " + skill.name() + ": " + e.getMessage());
    }
    return switch (search) {
      case MarkedMessages.Found f ->
          new Reconciliation.Performed(
              posted(channel, f.message().getTs(), f.message(), threadTs, f.message().getText()),
              channel + "/" + f.message().getTs());
      case MarkedMessages.Absent a ->
          new Reconciliation.NotPerformed(
              "no message in "
                  + where
                  + " carries invocation "
                  + invocation
                  + " in its metadata (all "
                  + a.seen()
                  + " read)");
      case MarkedMessages.NotAllRead n ->
          new Reconciliation.Unknown(
              where
                  + " has more than "
                  + n.seen()
                  + " messages; the "
                  + n.seen()
                  + " read do not carry invocation "
                  + invocation
                  + " and the rest were not read");
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Calls

  /**
   * Makes one Web API call; a failure says whether to retry and, for a side effect, if it may have
   * happened.
   */
  private <T extends SlackApiTextResponse> T call(
      SkillDefinition skill, boolean effect, SlackErrors.Call<T> call) {
    try {
      return SlackErrors.ok(call);
    } catch (SlackErrors.Failed f) {
      if (effect && f.kind == SlackErrors.Kind.MAYBE_DONE) {
        throw new SkillOutcomeUnknownException(
            skill.name(),
            f.getMessage() + "; the message may or may not have been posted",
            f.getCause());
      }
      throw new SkillFailedException(
          skill.name(), f.getMessage(), f.kind != SlackErrors.Kind.PERMANENT, f.getCause());
    }
  }

  private static String action(SkillDefinition skill) {
    return skill.name().substring(skill.name().indexOf('.') + 1);
  }

  private static void putIfSet(ObjectNode node, String field, String value) {
    if (value != null) {
      node.put(field, value);
    }
  }

  @Override
  public String toString() {
    return "SlackProvider[live]";
  }
}
