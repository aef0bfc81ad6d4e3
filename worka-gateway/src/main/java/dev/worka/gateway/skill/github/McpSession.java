package dev.worka.gateway.skill.github;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.schema.McpSchemaValidator;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.github.ToolRoutes.ResolvedRoute;
import dev.worka.gateway.skill.github.ToolRoutes.Route;
import dev.worka.protocol.Json;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.spec.McpClientTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connected session with a GitHub MCP server (the official MCP Java SDK's client): opened with
 * {@code initialize} and {@code tools/list}, the server's tools compiled once ({@link ToolSchema}),
 * closed within {@link #GRACE} (and, over stdio, with the child's process tree killed).
 *
 * <p>The token goes only into the {@code Authorization} header (HTTP) or the child's {@value
 * #STDIO_TOKEN_VARIABLE} (stdio; {@link ScrubbedStdioTransport} gives the child nothing else of the
 * Gateway's environment but what {@link GithubMcpEndpoint.Stdio} names).
 */
final class McpSession {
  private static final Logger log = LoggerFactory.getLogger(McpSession.class);

  /** The variable github-mcp-server reads its token from. */
  static final String STDIO_TOKEN_VARIABLE = "GITHUB_PERSONAL_ACCESS_TOKEN";

  static final Duration GRACE = Duration.ofSeconds(2);

  private static final int MAX_TOOL_PAGES = 50;

  private final McpSyncClient client;
  private final ScrubbedStdioTransport stdio;
  private volatile String serverName = "";
  private volatile Map<String, ResolvedRoute> tools = Map.of();

  private McpSession(McpSyncClient client, ScrubbedStdioTransport stdio) {
    this.client = client;
    this.stdio = stdio;
  }

  /**
   * Connects to {@code endpoint}: initialize, then every page of tools/list, each bounded by {@code
   * connectTimeout}; a call is bounded by {@code callTimeout}. The stdio server's own messages are
   * logged through {@code redact}.
   *
   * @throws RuntimeException whatever the SDK threw; nothing is left open then
   */
  static McpSession open(
      GithubMcpEndpoint endpoint,
      Duration connectTimeout,
      Duration callTimeout,
      UnaryOperator<String> redact) {
    McpClientTransport transport;
    ScrubbedStdioTransport stdio = null;
    switch (endpoint) {
      case GithubMcpEndpoint.Http http -> {
        URI url = http.url();
        String base = url.getScheme() + "://" + url.getRawAuthority();
        String path =
            url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        if (url.getRawQuery() != null) {
          path += "?" + url.getRawQuery();
        }
        String token = http.token();
        HttpClientStreamableHttpTransport.Builder builder =
            HttpClientStreamableHttpTransport.builder(base)
                .endpoint(path)
                .connectTimeout(connectTimeout)
                .openConnectionOnStartup(false);
        if (token != null) {
          builder.addHttpRequestCustomizer(
              (request, method, uri, body, context) ->
                  request.header("Authorization", "Bearer " + token));
        }
        transport = builder.build();
      }
      case GithubMcpEndpoint.Stdio command -> {
        Map<String, String> env = new LinkedHashMap<>(command.environment());
        if (command.token() != null) {
          env.put(STDIO_TOKEN_VARIABLE, command.token());
        }
        ServerParameters parameters =
            ServerParameters.builder(command.argv().get(0))
                .args(command.argv().subList(1, command.argv().size()))
                .env(env)
                .build();
        stdio = new ScrubbedStdioTransport(parameters);
        stdio.setStdErrorHandler(line -> log.info("GitHub MCP server: {}", redact.apply(line)));
        transport = stdio;
      }
    }
    McpSyncClient client =
        McpClient.sync(transport)
            .clientInfo(McpSchema.Implementation.builder("worka-gateway", "0.1.0").build())
            .initializationTimeout(connectTimeout)
            .requestTimeout(callTimeout)
            .jsonSchemaValidator(new McpSchemaValidator())
            .build();
    McpSession opened = new McpSession(client, stdio);
    try {
      McpSchema.InitializeResult init = client.initialize();
      opened.serverName =
          init.serverInfo() == null
              ? "unnamed server"
              : init.serverInfo().name() + " " + init.serverInfo().version();
      Map<String, McpSchema.Tool> tools = new LinkedHashMap<>();
      McpSchema.ListToolsResult page = client.listTools();
      for (int i = 0; page != null; i++) {
        page.tools().forEach(t -> tools.put(t.name(), t));
        String cursor = page.nextCursor();
        if (cursor == null || cursor.isEmpty() || i >= MAX_TOOL_PAGES) {
          break;
        }
        page = client.listTools(cursor);
      }
      opened.setTools(tools);
      return opened;
    } catch (RuntimeException e) {
      opened.close();
      throw e;
    }
  }

  private void setTools(Map<String, McpSchema.Tool> listed) {
    Map<String, ResolvedRoute> compiled = new LinkedHashMap<>();
    listed.forEach(
        (name, tool) -> {
          try {
            compiled.put(
                name,
                new ResolvedRoute(name, Map.of(), ToolSchema.compile(tool.inputSchema()), null));
          } catch (IllegalArgumentException e) {
            compiled.put(
                name,
                new ResolvedRoute(
                    name,
                    Map.of(),
                    null,
                    "the input schema of GitHub MCP tool "
                        + name
                        + " cannot be used: "
                        + e.getMessage()));
          }
        });
    this.tools = Map.copyOf(compiled);
  }

  /** The server's name and version as it introduced itself. */
  String serverName() {
    return serverName;
  }

  /** How many tools the server lists. */
  int toolCount() {
    return tools.size();
  }

  /** The tool that serves a skill's {@code action}, if the server offers one. */
  Optional<ResolvedRoute> route(String action) {
    return resolve(ToolRoutes.routesFor(action));
  }

  /** The first route whose tool the server offers, with its fixed arguments. */
  Optional<ResolvedRoute> resolve(List<Route> routes) {
    return ToolRoutes.resolve(tools, routes);
  }

  /** Which of {@code skills} have no tool here, and which use a consolidated one. */
  String summary(List<SkillDefinition> skills) {
    return ToolRoutes.summary(tools, skills);
  }

  /**
   * Calls {@code tool} with {@code arguments}; throws what the SDK throws (see {@link
   * FailureClassifier}).
   */
  McpSchema.CallToolResult call(String tool, ObjectNode arguments) {
    Map<String, Object> args = Json.STRICT.convertValue(arguments, new TypeReference<>() {});
    return client.callTool(McpSchema.CallToolRequest.builder(tool).arguments(args).build());
  }

  /**
   * Ends the session politely for at most {@link #GRACE}, then not; for stdio, kills the child
   * tree.
   */
  void close() {
    try {
      // The SDK waits up to 10 s for a graceful close, e.g. on a server that is gone: too long for
      // a Gateway shutdown.
      Thread graceful =
          Thread.ofVirtual()
              .name("github-mcp-close")
              .start(
                  () -> {
                    try {
                      client.closeGracefully();
                    } catch (RuntimeException e) {
                      log.debug("closing the GitHub MCP session: {}", e.toString());
                    }
                  });
      if (!graceful.join(GRACE)) {
        client.close();
      }
    } catch (InterruptedException e) {
      client.close();
      Thread.currentThread().interrupt();
    } finally {
      if (stdio != null) {
        stdio.killProcessTree(Duration.ofSeconds(3));
      }
    }
  }
}
