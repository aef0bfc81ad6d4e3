package dev.worka.gateway.agent;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A worker that does its step's work through MCP only: the official MCP Java SDK's client against
 * {@code $WORKA_GATEWAY_URL/v1/agent/mcp} with its token as a bearer header — initialize,
 * tools/list, one tools/call of its skill, and its result through the tool {@code
 * worka.submit_result} — nothing of the agent protocol but MCP.
 *
 * <p>Its step must accept {@code github.create_issue}; it files the issue titled {@code argv[0]} in
 * acme/widgets and reports the tools it saw, the tool result's invocation id and output. Depends on
 * the MCP SDK (and its Jackson 3) only: no Worka code.
 */
public final class McpOnlyWorker {
  public static void main(String[] args) throws Exception {
    String gateway = System.getenv("WORKA_GATEWAY_URL").replaceAll("/+$", "");
    String tokenFile = System.getenv("WORKA_TOKEN_FILE");
    String token =
        (tokenFile != null ? Files.readString(Path.of(tokenFile)) : System.getenv("WORKA_TOKEN"))
            .strip();

    HttpClientStreamableHttpTransport transport =
        HttpClientStreamableHttpTransport.builder(gateway)
            .endpoint("/v1/agent/mcp")
            .addHttpRequestCustomizer(
                (request, method, uri, body, context) ->
                    request.header("Authorization", "Bearer " + token))
            .build();
    Map<String, Object> result = new LinkedHashMap<>();
    // No tool of the Gateway has an output schema, so there is nothing to validate.
    JsonSchemaValidator none =
        (schema, content) -> JsonSchemaValidator.ValidationResponse.asValid(null);
    try (McpSyncClient client =
        McpClient.sync(transport)
            .requestTimeout(Duration.ofSeconds(30))
            .jsonSchemaValidator(none)
            .build()) {
      McpSchema.InitializeResult init = client.initialize();
      List<String> tools = client.listTools().tools().stream().map(McpSchema.Tool::name).toList();
      McpSchema.CallToolResult call =
          client.callTool(
              McpSchema.CallToolRequest.builder("github.create_issue")
                  .arguments(Map.of("owner", "acme", "repo", "widgets", "title", args[0]))
                  .build());
      result.put("status", Boolean.TRUE.equals(call.isError()) ? "failed" : "succeeded");
      Map<String, Object> output = new LinkedHashMap<>();
      output.put("server", init.serverInfo().name());
      output.put("protocol_version", init.protocolVersion());
      output.put("tools", tools);
      output.put(
          "invocation_id", call.meta() == null ? null : call.meta().get("dev.worka/invocation_id"));
      output.put("issue", call.structuredContent());
      result.put("output", output);
      result.put("summary", "filed '" + args[0] + "' through MCP");
      if (Boolean.TRUE.equals(call.isError())) {
        result.put("error", ((McpSchema.TextContent) call.content().get(0)).text());
      }
      McpSchema.CallToolResult submitted =
          client.callTool(
              McpSchema.CallToolRequest.builder("worka.submit_result").arguments(result).build());
      System.err.println("result: " + submitted);
      System.exit(Boolean.TRUE.equals(submitted.isError()) ? 1 : 0);
    }
  }
}
