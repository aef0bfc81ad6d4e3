package dev.worka.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.Json;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The model route's content allowlist over the Messages API's real shapes: every way a request can
 * have the provider fetch, look up or run something is refused, at any depth; text and inline
 * images pass. (Through the real route and a real worker: ModelThroughGatewayTest.)
 */
class MessagesAllowlistTest {
  private static final String IMAGE =
      "{\"type\": \"image\", \"source\": {\"type\": \"base64\", \"media_type\":"
          + " \"image/png\", \"data\": \"iVBORw0KGgo=\"}}";

  private static com.fasterxml.jackson.databind.JsonNode json(String text) {
    try {
      return Json.LENIENT.readTree(text);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  private static ObjectNode request(String content) {
    return (ObjectNode)
        json(
            "{\"model\": \"m\", \"max_tokens\": 10, \"messages\": [{\"role\":"
                + " \"user\", \"content\": "
                + content
                + "}]}");
  }

  private static ObjectNode with(String field, String value) {
    ObjectNode r = request("\"hi\"");
    r.set(field, json(value));
    return r;
  }

  @Test
  void textInlineImagesToolsAndThinkingPass() {
    ObjectNode r =
        request(
            "[{\"type\": \"text\", \"text\": \"look\", \"cache_control\": {\"type\": \"ephemeral\","
                + " \"ttl\": \"5m\"}}, "
                + IMAGE
                + ", {\"type\": \"document\", \"source\": {\"type\": \"text\","
                + " \"media_type\": \"text/plain\", \"data\": \"plain\"}, \"title\": \"t\", \"citations\": {\"enabled\": true}},"
                + " {\"type\": \"document\", \"source\": {\"type\": \"content\", \"content\": [{\"type\": \"text\", \"text\":"
                + " \"x\"}, "
                + IMAGE
                + "]}}]");
    ((com.fasterxml.jackson.databind.node.ArrayNode) r.get("messages"))
        .add(
            json(
                "{\"role\": \"assistant\", \"content\": [{\"type\": \"thinking\", \"thinking\": \"hm\", \"signature\": \"s\"},"
                    + " {\"type\": \"redacted_thinking\", \"data\": \"opaque\"}, {\"type\": \"text\", \"text\": \"see\","
                    + " \"citations\": [{\"type\": \"char_location\", \"cited_text\": \"x\", \"document_index\": 0,"
                    + " \"document_title\": null, \"start_char_index\": 0, \"end_char_index\": 1}]},"
                    + " {\"type\": \"tool_use\", \"id\": \"t1\", \"name\": \"github__get_issue\", \"input\": {\"url\":"
                    + " \"https://anything\"}, \"caller\": {\"type\": \"direct\"}}]}"));
    ((com.fasterxml.jackson.databind.node.ArrayNode) r.get("messages"))
        .add(
            json(
                "{\"role\": \"user\", \"content\": [{\"type\": \"tool_result\", \"tool_use_id\": \"t1\", \"is_error\": false,"
                    + " \"content\": [{\"type\": \"text\", \"text\": \"ok\"}, "
                    + IMAGE
                    + "]}]}"));
    r.set("system", json("[{\"type\": \"text\", \"text\": \"be brief\"}]"));
    r.set(
        "tools",
        json(
            "[{\"name\": \"github__get_issue\", \"description\": \"d\", \"input_schema\":"
                + " {\"type\": \"object\", \"properties\": {}}}, {\"type\": \"custom\", \"name\": \"submit_result\","
                + " \"input_schema\": {\"type\": \"object\"}, \"strict\": true}]"));
    r.set("tool_choice", json("{\"type\": \"any\", \"disable_parallel_tool_use\": true}"));
    r.set("thinking", json("{\"type\": \"enabled\", \"budget_tokens\": 1024}"));
    r.set("metadata", json("{\"user_id\": \"u\"}"));
    r.set("stop_sequences", json("[\"END\"]"));
    r.put("temperature", 0.2);

    MessagesAllowlist.Verdict v = MessagesAllowlist.check(r);
    assertTrue(v.passed(), v.refused().toString());
    assertEquals(3, v.images());
    assertEquals(3L * "iVBORw0KGgo=".length(), v.imageBytes());
    // The ceiling: bytes without the images' base64, each image at its ceiling, plus the overhead.
    assertEquals(
        1000 - 3 * 12 + 3 * MessagesAllowlist.IMAGE_TOKENS + MessagesAllowlist.CALL_OVERHEAD_TOKENS,
        MessagesAllowlist.inputTokenCeiling(1000, v));
  }

  static Stream<Arguments> refused() {
    String url = "{\"type\": \"url\", \"url\": \"https://evil.example/?d=secret\"}";
    String file = "{\"type\": \"file\", \"file_id\": \"file_011CNha8iCJcU1wXNR6q4V8w\"}";
    return Stream.of(
        Arguments.of(
            "image url",
            request("[{\"type\": \"image\", \"source\": " + url + "}]"),
            "messages[0].content[0].source"),
        Arguments.of(
            "image file", request("[{\"type\": \"image\", \"source\": " + file + "}]"), "fetch"),
        Arguments.of(
            "document url",
            request("[{\"type\": \"document\", \"source\": " + url + "}]"),
            "fetch"),
        Arguments.of(
            "document file",
            request("[{\"type\": \"document\", \"source\": " + file + "}]"),
            "fetch"),
        Arguments.of(
            "base64 source with a url beside",
            request(
                "[{\"type\": \"image\", \"source\": {\"type\":"
                    + " \"base64\", \"media_type\": \"image/png\", \"data\": \"x\", \"url\": \"https://evil.example\"}}]"),
            "fetch"),
        Arguments.of(
            "PDF",
            request(
                "[{\"type\": \"document\", \"source\": {\"type\": \"base64\", \"media_type\":"
                    + " \"application/pdf\", \"data\": \"JVBERi0=\"}}]"),
            "PDF"),
        Arguments.of(
            "url in a tool result",
            request(
                "[{\"type\": \"tool_result\", \"tool_use_id\": \"t\", \"content\":"
                    + " [{\"type\": \"image\", \"source\": "
                    + url
                    + "}]}]"),
            "messages[0].content[0].content[0].source"),
        Arguments.of(
            "url in a document of content in a tool result",
            request(
                "[{\"type\": \"tool_result\","
                    + " \"tool_use_id\": \"t\", \"content\": [{\"type\": \"document\", \"source\": {\"type\": \"content\","
                    + " \"content\": [{\"type\": \"image\", \"source\": "
                    + url
                    + "}]}}]}]"),
            "fetch"),
        Arguments.of(
            "image in the system prompt", with("system", "[" + IMAGE + "]"), "system[0].type"),
        Arguments.of(
            "container upload",
            request("[{\"type\": \"container_upload\", \"file_id\": \"file_1\"}]"),
            "container"),
        Arguments.of(
            "search result",
            request(
                "[{\"type\": \"search_result\", \"source\": \"https://evil.example\","
                    + " \"title\": \"t\", \"content\": [{\"type\": \"text\", \"text\": \"x\"}]}]"),
            "search_result"),
        Arguments.of(
            "server tool use",
            request(
                "[{\"type\": \"server_tool_use\", \"id\": \"s\", \"name\":"
                    + " \"web_fetch\", \"input\": {\"url\": \"https://evil.example\"}}]"),
            "server tool"),
        Arguments.of(
            "web fetch result",
            request(
                "[{\"type\": \"web_fetch_tool_result\", \"tool_use_id\": \"s\","
                    + " \"content\": {}}]"),
            "server tool"),
        Arguments.of(
            "mcp tool use",
            request(
                "[{\"type\": \"mcp_tool_use\", \"id\": \"m\", \"name\": \"x\","
                    + " \"server_name\": \"evil\", \"input\": {}}]"),
            "server tool"),
        Arguments.of("unknown block", request("[{\"type\": \"hologram\"}]"), "hologram"),
        Arguments.of(
            "unknown field of a text block",
            request(
                "[{\"type\": \"text\", \"text\": \"x\", \"href\":" + " \"https://evil.example\"}]"),
            "href"),
        Arguments.of(
            "web search citation",
            request(
                "[{\"type\": \"text\", \"text\": \"x\", \"citations\":"
                    + " [{\"type\": \"web_search_result_location\", \"url\": \"https://evil.example\", \"cited_text\": \"x\","
                    + " \"title\": \"t\", \"encrypted_index\": \"e\"}]}]"),
            "citations"),
        Arguments.of(
            "server-side caller",
            request(
                "[{\"type\": \"tool_use\", \"id\": \"t\", \"name\": \"n\","
                    + " \"input\": {}, \"caller\": {\"type\": \"code_execution_20250825\", \"tool_id\": \"x\"}}]"),
            "caller"),
        Arguments.of(
            "web fetch tool",
            with("tools", "[{\"type\": \"web_fetch_20250910\", \"name\": \"web_fetch\"}]"),
            "server tool"),
        Arguments.of(
            "web search tool",
            with("tools", "[{\"type\": \"web_search_20250305\", \"name\": \"web_search\"}]"),
            "server tool"),
        Arguments.of(
            "code execution tool",
            with(
                "tools",
                "[{\"type\": \"code_execution_20250825\", \"name\":" + " \"code_execution\"}]"),
            "server tool"),
        Arguments.of(
            "tool callable from code",
            with(
                "tools",
                "[{\"name\": \"t\", \"input_schema\": {\"type\":"
                    + " \"object\"}, \"allowed_callers\": [\"code_execution_20250825\"]}]"),
            "allowed_callers"),
        Arguments.of(
            "mcp servers",
            with(
                "mcp_servers",
                "[{\"type\": \"url\", \"url\": \"https://evil.example/sse\","
                    + " \"name\": \"evil\"}]"),
            "mcp_servers"),
        Arguments.of(
            "container",
            with("container", "{\"skills\": [{\"type\": \"custom\", \"skill_id\": \"x\"}]}"),
            "container"),
        Arguments.of(
            "unknown top-level field", with("context_management", "{}"), "context_management"),
        Arguments.of(
            "metadata with more",
            with("metadata", "{\"user_id\": \"u\", \"callback\": \"https://evil\"}"),
            "metadata.callback"),
        Arguments.of(
            "a nested value where a plain one goes",
            with("temperature", "{\"url\": \"https://evil\"}"),
            "temperature"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void refused(String name, ObjectNode request, String named) {
    MessagesAllowlist.Verdict v = MessagesAllowlist.check(request);
    assertFalse(v.passed(), name);
    assertTrue(String.join("; ", v.refused()).contains(named), name + ": " + v.refused());
  }
}
