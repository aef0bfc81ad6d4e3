package dev.worka.gateway.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a Messages API request may hold to pass the Gateway's model route: an allowlist, deny by
 * default, of the request's fields, of the content blocks at any depth (system, messages, tool
 * results, documents of content) and of their sources. Text and inline ({@code base64}) images
 * only: a source the provider would fetch ({@code url}), look up ({@code file}, {@code file_id}) or
 * run ({@code container_upload}, server tools, MCP servers, containers) is refused, and so is any
 * type or field this list does not name — a newer API shape is refused until it is looked at, never
 * passed on unseen. A worker that could name a URL could have the provider carry its data to any
 * host.
 *
 * <p>Also counts what the request's input can cost, for the budget ({@link #inputTokenCeiling}): an
 * upper bound, never an under-count.
 */
final class MessagesAllowlist {
  /** The request fields passed on; anything else is refused. */
  static final Set<String> FIELDS =
      Set.of(
          "model",
          "max_tokens",
          "messages",
          "system",
          "tools",
          "tool_choice",
          "temperature",
          "top_p",
          "top_k",
          "stop_sequences",
          "metadata",
          "stream",
          "thinking");

  /** Image media types the provider reads inline. */
  static final Set<String> IMAGE_TYPES =
      Set.of("image/jpeg", "image/png", "image/gif", "image/webp");

  /**
   * Tokens one inline image is counted for, whatever its size. The provider scales an image down
   * before the model sees it, so an image costs at most about 1,600 tokens on earlier models and
   * about 4,800 on the newest (long edge 2,576 px); its base64 bytes say nothing about that (a
   * small PNG can be a large image), so the ceiling, with room to spare, is what is counted.
   */
  static final long IMAGE_TOKENS = 8_000;

  /**
   * Tokens counted for each call besides its bytes: the provider's own framing of a request, such
   * as the system prompt it adds when tools are given (a few hundred tokens).
   */
  static final long CALL_OVERHEAD_TOKENS = 1_024;

  private static final Set<String> FETCHED_SOURCES = Set.of("url", "file");
  private static final Set<String> CITATION_TYPES =
      Set.of("char_location", "page_location", "content_block_location");
  private static final Map<String, Set<String>> CITATION_FIELDS =
      Map.of(
          "char_location",
              Set.of(
                  "type",
                  "cited_text",
                  "document_index",
                  "document_title",
                  "start_char_index",
                  "end_char_index"),
          "page_location",
              Set.of(
                  "type",
                  "cited_text",
                  "document_index",
                  "document_title",
                  "start_page_number",
                  "end_page_number"),
          "content_block_location",
              Set.of(
                  "type",
                  "cited_text",
                  "document_index",
                  "document_title",
                  "start_block_index",
                  "end_block_index"));
  private static final int MAX_SHOWN = 10;

  /** What the walk found: what is refused (empty: passed), and the images to count. */
  record Verdict(List<String> refused, int images, long imageBytes) {
    boolean passed() {
      return refused.isEmpty();
    }
  }

  private final List<String> refused = new ArrayList<>();
  private int images;
  private long imageBytes;

  private MessagesAllowlist() {}

  /** Walks {@code request} (a JSON object); every refusal names the path and what to do instead. */
  static Verdict check(ObjectNode request) {
    MessagesAllowlist walk = new MessagesAllowlist();
    walk.request(request);
    return new Verdict(List.copyOf(walk.refused), walk.images, walk.imageBytes);
  }

  /**
   * An upper bound of the input tokens of a request whose JSON is {@code requestBytes} long: one
   * token per byte (a token of the provider's byte-level tokenizer covers at least one byte of
   * text, and the JSON around the text outweighs the provider's framing of roles and blocks), the
   * base64 of images replaced by {@link #IMAGE_TOKENS} each, plus {@link #CALL_OVERHEAD_TOKENS}.
   */
  static long inputTokenCeiling(long requestBytes, Verdict verdict) {
    return Math.max(0, requestBytes - verdict.imageBytes())
        + verdict.images() * IMAGE_TOKENS
        + CALL_OVERHEAD_TOKENS;
  }

  private void request(ObjectNode request) {
    request
        .fieldNames()
        .forEachRemaining(
            f -> {
              if (f.equals("mcp_servers") || f.equals("container")) {
                refuse(
                    f,
                    "would have the provider connect to servers or run code on the worker's behalf, outside the"
                        + " Gateway's policy; use the step's skills");
              } else if (!FIELDS.contains(f)) {
                refuse(
                    f,
                    "is not a field the Gateway passes on (allowed: "
                        + String.join(", ", new java.util.TreeSet<>(FIELDS))
                        + ")");
              }
            });
    JsonNode system = request.get("system");
    if (system != null && !system.isNull() && !system.isTextual()) {
      if (!system.isArray()) {
        refuse("system", "must be a string or an array of text blocks");
      } else {
        for (int i = 0; i < system.size(); i++) {
          block("system[" + i + "]", system.get(i), Set.of("text"));
        }
      }
    }
    JsonNode messages = request.path("messages");
    for (int i = 0; i < messages.size(); i++) {
      message("messages[" + i + "]", messages.get(i));
    }
    tools(request.get("tools"));
    toolChoice(request.get("tool_choice"));
    object(
        "metadata",
        request.get("metadata"),
        Set.of("user_id"),
        m -> scalar("metadata.user_id", m.get("user_id")));
    thinking(request.get("thinking"));
    for (String f : List.of("model", "max_tokens", "temperature", "top_p", "top_k", "stream")) {
      scalar(f, request.get(f));
    }
    JsonNode stops = request.get("stop_sequences");
    if (stops != null && !stops.isNull()) {
      if (!stops.isArray()) {
        refuse("stop_sequences", "must be an array of strings");
      } else {
        stops.forEach(
            s -> {
              if (!s.isTextual()) {
                refuse("stop_sequences", "must be an array of strings");
              }
            });
      }
    }
  }

  private void message(String path, JsonNode message) {
    if (!(message instanceof ObjectNode m)) {
      refuse(path, "must be an object with role and content");
      return;
    }
    only(path, m, Set.of("role", "content"));
    String role = m.path("role").asText("");
    if (!role.equals("user") && !role.equals("assistant")) {
      refuse(path + ".role", "must be user or assistant");
    }
    JsonNode content = m.get("content");
    if (content == null || content.isTextual()) {
      return;
    }
    if (!content.isArray()) {
      refuse(path + ".content", "must be a string or an array of content blocks");
      return;
    }
    for (int i = 0; i < content.size(); i++) {
      block(
          path + ".content[" + i + "]",
          content.get(i),
          Set.of(
              "text",
              "image",
              "document",
              "tool_use",
              "tool_result",
              "thinking",
              "redacted_thinking"));
    }
  }

  /** A content block of one of the {@code allowed} types, checked at any depth. */
  private void block(String path, JsonNode node, Set<String> allowed) {
    if (!(node instanceof ObjectNode b)) {
      refuse(path, "must be a content block (an object with a type)");
      return;
    }
    String type = b.path("type").asText("");
    if (!allowed.contains(type)) {
      refuse(path + ".type", blockTypeReason(type, allowed));
      return;
    }
    switch (type) {
      case "text" -> {
        only(path, b, Set.of("type", "text", "cache_control", "citations"));
        scalar(path + ".text", b.get("text"));
        citations(path + ".citations", b.get("citations"));
      }
      case "image" -> {
        only(path, b, Set.of("type", "source", "cache_control"));
        imageSource(path + ".source", b.get("source"));
      }
      case "document" -> {
        only(path, b, Set.of("type", "source", "cache_control", "citations", "context", "title"));
        documentSource(path + ".source", b.get("source"));
        object(
            path + ".citations",
            b.get("citations"),
            Set.of("enabled"),
            c -> scalar(path + ".citations.enabled", c.get("enabled")));
        scalar(path + ".context", b.get("context"));
        scalar(path + ".title", b.get("title"));
      }
      case "tool_use" -> {
        // input is the model's own arguments for a tool the worker runs: data, never fetched.
        only(path, b, Set.of("type", "id", "name", "input", "cache_control", "caller"));
        scalar(path + ".id", b.get("id"));
        scalar(path + ".name", b.get("name"));
        object(
            path + ".caller",
            b.get("caller"),
            Set.of("type"),
            c -> {
              if (!c.path("type").asText("").equals("direct")) {
                refuse(
                    path + ".caller.type",
                    "only a direct caller is passed on (server-side callers run code at"
                        + " the provider)");
              }
            });
      }
      case "tool_result" -> {
        only(path, b, Set.of("type", "tool_use_id", "content", "is_error", "cache_control"));
        scalar(path + ".tool_use_id", b.get("tool_use_id"));
        scalar(path + ".is_error", b.get("is_error"));
        JsonNode content = b.get("content");
        if (content != null && !content.isNull() && !content.isTextual()) {
          if (!content.isArray()) {
            refuse(path + ".content", "must be a string or an array of content blocks");
          } else {
            for (int i = 0; i < content.size(); i++) {
              block(
                  path + ".content[" + i + "]",
                  content.get(i),
                  Set.of("text", "image", "document"));
            }
          }
        }
      }
      case "thinking" -> {
        only(path, b, Set.of("type", "thinking", "signature"));
        scalar(path + ".thinking", b.get("thinking"));
        scalar(path + ".signature", b.get("signature"));
      }
      case "redacted_thinking" -> {
        only(path, b, Set.of("type", "data"));
        scalar(path + ".data", b.get("data"));
      }
      default ->
          throw new IllegalStateException("block type " + type + " is allowed but not checked");
    }
    cacheControl(path + ".cache_control", b.get("cache_control"));
  }

  private static String blockTypeReason(String type, Set<String> allowed) {
    String shown = type.isEmpty() ? "(none)" : clip(type);
    String why =
        switch (type) {
          case "container_upload" -> "would have the provider load a file into a code container";
          case "search_result" -> "is not passed on: send its text as text blocks";
          case "server_tool_use",
              "web_search_tool_result",
              "web_fetch_tool_result",
              "code_execution_tool_result",
              "bash_code_execution_tool_result",
              "text_editor_code_execution_tool_result",
              "tool_search_tool_result",
              "mcp_tool_use",
              "mcp_tool_result",
              "tool_reference",
              "browser_state" ->
              "belongs to a server tool or connector, which the Gateway does not pass on";
          default -> "is not a content block the Gateway passes on here";
        };
    return "block type "
        + shown
        + " "
        + why
        + " (allowed here: "
        + String.join(", ", new java.util.TreeSet<>(allowed))
        + ")";
  }

  private void imageSource(String path, JsonNode node) {
    if (!(node instanceof ObjectNode s)) {
      refuse(path, "must be an inline base64 source");
      return;
    }
    String type = s.path("type").asText("");
    if (fetched(path, s, type)) {
      return;
    }
    if (!type.equals("base64")) {
      refuse(
          path + ".type",
          "image sources must be base64 (type " + clip(type) + " is not passed on)");
      return;
    }
    only(path, s, Set.of("type", "media_type", "data"));
    if (!IMAGE_TYPES.contains(s.path("media_type").asText(""))) {
      refuse(
          path + ".media_type",
          "must be one of " + String.join(", ", new java.util.TreeSet<>(IMAGE_TYPES)));
    }
    JsonNode data = s.get("data");
    if (data == null || !data.isTextual()) {
      refuse(path + ".data", "must be the image as a base64 string");
      return;
    }
    images++;
    imageBytes += data.asText().length();
  }

  private void documentSource(String path, JsonNode node) {
    if (!(node instanceof ObjectNode s)) {
      refuse(path, "must be a text or content source");
      return;
    }
    String type = s.path("type").asText("");
    if (fetched(path, s, type)) {
      return;
    }
    switch (type) {
      case "text" -> {
        only(path, s, Set.of("type", "media_type", "data"));
        if (!s.path("media_type").asText("").equals("text/plain")) {
          refuse(path + ".media_type", "a text source is text/plain");
        }
        scalar(path + ".data", s.get("data"));
      }
      case "content" -> {
        only(path, s, Set.of("type", "content"));
        JsonNode content = s.get("content");
        if (content != null && content.isArray()) {
          for (int i = 0; i < content.size(); i++) {
            block(path + ".content[" + i + "]", content.get(i), Set.of("text", "image"));
          }
        } else if (content == null || !content.isTextual()) {
          refuse(path + ".content", "must be a string or an array of text and image blocks");
        }
      }
      case "base64" ->
          refuse(
              path + ".type",
              "PDF documents are not passed on: their cost (text plus an image"
                  + " of every page) cannot be bounded before the provider reads them; send the text as a text source");
      default ->
          refuse(
              path + ".type",
              "document sources must be text or content (type "
                  + clip(type)
                  + " is not passed on)");
    }
  }

  /** Refuses a source the provider would fetch or look up; true if it was one. */
  private boolean fetched(String path, ObjectNode source, String type) {
    if (FETCHED_SOURCES.contains(type) || source.has("url") || source.has("file_id")) {
      refuse(
          path,
          "source "
              + (type.isEmpty() ? "with a url or file_id" : "type " + clip(type))
              + " would have the provider fetch the content from elsewhere: only inline content is passed on (an image"
              + " as base64, a document as text)");
      return true;
    }
    return false;
  }

  private void tools(JsonNode tools) {
    if (tools == null || tools.isNull()) {
      return;
    }
    if (!tools.isArray()) {
      refuse("tools", "must be an array");
      return;
    }
    for (int i = 0; i < tools.size(); i++) {
      String path = "tools[" + i + "]";
      if (!(tools.get(i) instanceof ObjectNode t)) {
        refuse(path, "must be a tool object");
        continue;
      }
      JsonNode type = t.get("type");
      if (type != null && !type.isNull() && !type.asText().equals("custom")) {
        refuse(
            path,
            "is a server tool (type "
                + clip(type.asText())
                + "): the provider would act (search, fetch,"
                + " run code) outside the Gateway's policy; only custom tools are passed on");
        continue;
      }
      only(
          path,
          t,
          Set.of("type", "name", "description", "input_schema", "cache_control", "strict"));
      scalar(path + ".name", t.get("name"));
      scalar(path + ".description", t.get("description"));
      scalar(path + ".strict", t.get("strict"));
      if (!t.path("input_schema").isObject()) {
        refuse(path + ".input_schema", "must be a JSON Schema object");
      }
      cacheControl(path + ".cache_control", t.get("cache_control"));
    }
  }

  private void toolChoice(JsonNode choice) {
    object(
        "tool_choice",
        choice,
        Set.of("type", "name", "disable_parallel_tool_use"),
        c -> {
          if (!Set.of("auto", "any", "tool", "none").contains(c.path("type").asText(""))) {
            refuse("tool_choice.type", "must be auto, any, tool or none");
          }
          scalar("tool_choice.name", c.get("name"));
          scalar("tool_choice.disable_parallel_tool_use", c.get("disable_parallel_tool_use"));
        });
  }

  private void thinking(JsonNode thinking) {
    object(
        "thinking",
        thinking,
        Set.of("type", "budget_tokens", "display"),
        t -> {
          if (!Set.of("enabled", "disabled", "adaptive").contains(t.path("type").asText(""))) {
            refuse("thinking.type", "must be enabled, disabled or adaptive");
          }
          scalar("thinking.budget_tokens", t.get("budget_tokens"));
          scalar("thinking.display", t.get("display"));
        });
  }

  private void cacheControl(String path, JsonNode node) {
    object(
        path,
        node,
        Set.of("type", "ttl"),
        c -> {
          if (!c.path("type").asText("").equals("ephemeral")) {
            refuse(path + ".type", "must be ephemeral");
          }
          scalar(path + ".ttl", c.get("ttl"));
        });
  }

  private void citations(String path, JsonNode node) {
    if (node == null || node.isNull()) {
      return;
    }
    if (!node.isArray()) {
      refuse(path, "must be an array of document citations");
      return;
    }
    for (int i = 0; i < node.size(); i++) {
      String at = path + "[" + i + "]";
      if (!(node.get(i) instanceof ObjectNode c)
          || !CITATION_TYPES.contains(c.path("type").asText(""))) {
        refuse(
            at,
            "only citations of documents in the request are passed on (char_location, page_location,"
                + " content_block_location)");
        continue;
      }
      only(at, c, CITATION_FIELDS.get(c.path("type").asText()));
      c.properties().forEach(e -> scalar(at + "." + e.getKey(), e.getValue()));
    }
  }

  /** An optional object of only {@code fields}; {@code then} checks its values. */
  private void object(
      String path,
      JsonNode node,
      Set<String> fields,
      java.util.function.Consumer<ObjectNode> then) {
    if (node == null || node.isNull()) {
      return;
    }
    if (!(node instanceof ObjectNode o)) {
      refuse(path, "must be an object");
      return;
    }
    only(path, o, fields);
    then.accept(o);
  }

  private void only(String path, ObjectNode node, Set<String> fields) {
    node.fieldNames()
        .forEachRemaining(
            f -> {
              if (!fields.contains(f)) {
                refuse(
                    path + "." + clip(f),
                    "is not a field the Gateway passes on here (allowed: "
                        + String.join(", ", new java.util.TreeSet<>(fields))
                        + ")");
              }
            });
  }

  /** An optional value that must be a string, number, boolean or null — never a nested shape. */
  private void scalar(String path, JsonNode node) {
    if (node != null && node.isContainerNode()) {
      refuse(path, "must be a plain value, not " + (node.isArray() ? "an array" : "an object"));
    }
  }

  private void refuse(String path, String why) {
    if (refused.size() < MAX_SHOWN) {
      refused.add(path + ": " + why);
    } else if (refused.size() == MAX_SHOWN) {
      refused.add("(more refused parts not listed)");
    }
  }

  private static String clip(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "…" : s;
  }
}
