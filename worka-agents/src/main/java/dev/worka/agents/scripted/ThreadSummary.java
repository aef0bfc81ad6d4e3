package dev.worka.agents.scripted;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.agents.model.Move;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Summarizes the output of {@code slack.read_thread} (Slack's {@code conversations.replies}: a
 * {@code messages} array of {@code {user, text, ts}}) by counting and quoting, not by
 * understanding: how many messages, who wrote them, the first line of the first message and the
 * last message, each quote cut to {@value #MAX_QUOTE} characters. User mentions are written as
 * {@code @U123} rather than {@code <@U123>}, so delivering the summary does not ping anyone.
 */
final class ThreadSummary {
  static final int MAX_QUOTE = 500;
  private static final int MAX_NAMED_PARTICIPANTS = 10;
  private static final Pattern MENTION = Pattern.compile("<@([A-Za-z0-9]+)(?:\\|[^>]*)?>");

  private ThreadSummary() {}

  static Move.Finish of(JsonNode readThreadOutput, String channel, String threadTs) {
    List<JsonNode> messages = new ArrayList<>();
    readThreadOutput.path("messages").forEach(messages::add);
    boolean dryRun = readThreadOutput.path("dry_run").asBoolean(false);

    Set<String> participants = new LinkedHashSet<>();
    messages.forEach(message -> participants.add(author(message)));

    StringBuilder summary = new StringBuilder();
    if (messages.isEmpty()) {
      summary.append(
          dryRun
              ? "Dry run: the Gateway did not read the thread from Slack, so there were no messages"
                  + " to summarize."
              : "The thread has no messages that could be read.");
    } else {
      int count = messages.size();
      summary
          .append("Slack thread with ")
          .append(plural(count, "message"))
          .append(" from ")
          .append(plural(participants.size(), "participant"))
          .append(" (")
          .append(names(participants))
          .append("). It starts: \"")
          .append(cut(firstLine(text(messages.get(0)))))
          .append('"');
      if (count > 1) {
        JsonNode last = messages.get(count - 1);
        summary
            .append(". The last message, from ")
            .append(author(last))
            .append(": \"")
            .append(cut(text(last)))
            .append('"');
      }
      summary.append('.');
      if (dryRun) {
        summary.append(" (Dry run: these may not be the thread's real messages.)");
      }
    }

    ObjectNode output = JsonNodeFactory.instance.objectNode();
    output.put("summary", summary.toString());
    output.put("messages", messages.size());
    ArrayNode who = output.putArray("participants");
    participants.forEach(who::add);
    output.put("source", "slack");
    output.put("channel", channel);
    output.put("thread_ts", threadTs);
    if (dryRun) {
      output.put("dry_run", true);
    }
    return new Move.Finish(summary.toString(), output);
  }

  private static String author(JsonNode message) {
    for (String field : List.of("user", "username", "bot_id")) {
      String value = message.path(field).asText("");
      if (!value.isBlank()) {
        return value;
      }
    }
    return "someone";
  }

  private static String text(JsonNode message) {
    return MENTION.matcher(message.path("text").asText("")).replaceAll("@$1").strip();
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline).strip();
  }

  static String cut(String text) {
    if (text.codePointCount(0, text.length()) <= MAX_QUOTE) {
      return text;
    }
    return text.substring(0, text.offsetByCodePoints(0, MAX_QUOTE - 1)) + "…";
  }

  private static String names(Set<String> participants) {
    List<String> all = List.copyOf(participants);
    if (all.size() <= MAX_NAMED_PARTICIPANTS) {
      return String.join(", ", all);
    }
    return String.join(", ", all.subList(0, MAX_NAMED_PARTICIPANTS))
        + " and "
        + (all.size() - MAX_NAMED_PARTICIPANTS)
        + " more";
  }

  static String plural(int count, String noun) {
    return count + " " + noun + (count == 1 ? "" : "s");
  }
}
