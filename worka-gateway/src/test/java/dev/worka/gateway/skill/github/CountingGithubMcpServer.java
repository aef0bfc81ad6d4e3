package dev.worka.gateway.skill.github;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.schema.McpSchemaValidator;
import dev.worka.protocol.Json;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import org.eclipse.jetty.ee11.servlet.FilterHolder;
import org.eclipse.jetty.ee11.servlet.ServletContextHandler;
import org.eclipse.jetty.ee11.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A GitHub MCP server for tests, built with the MCP Java SDK: the tools {@code create_issue},
 * {@code add_issue_comment}, {@code get_issue}, {@code search_issues}, {@code list_issues} and
 * {@code get_issue_comments} with input schemas like github-mcp-server's (its tool snapshots),
 * answering like it does (JSON in a text content), over an in-memory issue store.
 *
 * <p>It counts, per tool, the calls it received and the effects it performed (thread-safe), and can
 * {@link #blockNextCall block the next call} of a tool before or after its effect until a test
 * releases it — the moments a Gateway crash matters. The SDK's own input validation is off, so
 * {@link #calls} counts every call that reached the server, valid or not.
 *
 * <p>Served over streamable HTTP by Jetty 12 (ee11 servlet) at {@code /mcp}, with an optional
 * bearer token (401 without it), or over stdio ({@code main --stdio}, exits on stdin EOF). As a
 * process: {@code main --port N [--token T] [--without tool,tool]} prints {@code port=<port>} once
 * listening; {@code main --stdio [--env-report FILE] [--without …]} writes the names of its
 * environment variables (and the value of {@code GITHUB_PERSONAL_ACCESS_TOKEN}) to FILE.
 */
public final class CountingGithubMcpServer implements AutoCloseable {

  private final Map<String, String> failing = new ConcurrentHashMap<>();
  private volatile java.util.function.BiConsumer<String, JsonNode> onCall = (tool, args) -> {};

  /**
   * Makes every call of {@code tool} answer an error result with {@code text}, without an effect.
   */
  public void failWith(String tool, String text) {
    failing.put(tool, text);
  }

  /** Runs {@code hook} with each call's tool and arguments as it arrives, before it is handled. */
  public void onCall(java.util.function.BiConsumer<String, JsonNode> hook) {
    this.onCall = hook;
  }

  /**
   * Where {@link #blockNextCall} holds a call: before the effect, or after it and before answering.
   */
  public enum Phase {
    BEFORE_EFFECT,
    AFTER_EFFECT
  }

  /** Every tool this server can offer. */
  public static final List<String> TOOLS =
      List.of(
          "create_issue",
          "add_issue_comment",
          "get_issue",
          "search_issues",
          "list_issues",
          "get_issue_comments");

  /** A call held by {@link #blockNextCall}. */
  public static final class Block {
    private final String tool;
    private final Phase phase;
    private final CountDownLatch blocked = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);

    private Block(String tool, Phase phase) {
      this.tool = tool;
      this.phase = phase;
    }

    /** Waits until a call is held here; false when none arrived within {@code timeout}. */
    public boolean awaitBlocked(Duration timeout) throws InterruptedException {
      return blocked.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean isBlocked() {
      return blocked.getCount() == 0;
    }

    /** Lets the held call go on. */
    public void release() {
      released.countDown();
    }

    /**
     * Ends the held call without an effect (a call held before its effect fails instead of
     * performing it): what happens when the request never got as far as the effect.
     */
    public void abort() {
      aborted = true;
      released.countDown();
    }

    private volatile boolean aborted;

    void hold() {
      blocked.countDown();
      try {
        // Bounded so that a forgotten block cannot keep a server thread forever.
        released.await(5, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public String toString() {
      return "Block[" + tool + ", " + phase + "]";
    }
  }

  public record Issue(
      long id,
      String owner,
      String repo,
      long number,
      String title,
      String body,
      List<String> labels,
      Instant createdAt) {}

  public record Comment(
      long id, String owner, String repo, long issueNumber, String body, Instant createdAt) {}

  private final String baseUrl = "https://github.test";
  private final Set<String> offered;
  private final String token;
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> effects = new ConcurrentHashMap<>();
  private final Map<String, Block> nextBlocks = new ConcurrentHashMap<>();
  private final List<Block> allBlocks = Collections.synchronizedList(new ArrayList<>());
  private final List<Issue> issues = Collections.synchronizedList(new ArrayList<>());
  private final List<Comment> comments = Collections.synchronizedList(new ArrayList<>());
  private final AtomicLong ids = new AtomicLong(1000);
  private final AtomicInteger unauthorized = new AtomicInteger();
  private final List<String> authorizationHeaders = Collections.synchronizedList(new ArrayList<>());

  /**
   * The input schema each tool is listed with (github-mcp-server's, unless a test replaced some).
   */
  private final Map<String, String> schemas = new ConcurrentHashMap<>(SCHEMAS);

  private Server jetty;
  private McpSyncServer mcp;

  private CountingGithubMcpServer(Set<String> without, String token) {
    for (String tool : without) {
      if (!TOOLS.contains(tool)) {
        throw new IllegalArgumentException("unknown tool " + tool);
      }
    }
    this.offered =
        TOOLS.stream()
            .filter(t -> !without.contains(t))
            .collect(java.util.stream.Collectors.toCollection(java.util.LinkedHashSet::new));
    this.token = token;
  }

  /**
   * Serves over streamable HTTP on 127.0.0.1:{@code port} (0 = a free one) at {@code /mcp}; with a
   * {@code token}, a request without {@code Authorization: Bearer <token>} gets 401.
   */
  public static CountingGithubMcpServer http(int port, String token, Set<String> without)
      throws Exception {
    CountingGithubMcpServer server = new CountingGithubMcpServer(without, token);
    server.startHttp(port);
    return server;
  }

  /**
   * As {@link #http(int, String, Set)} on a free port, listing some tools with other input schemas
   * ({@code tool → schema JSON}): a hostile or broken server.
   */
  public static CountingGithubMcpServer httpWithSchemas(String token, Map<String, String> schemas)
      throws Exception {
    CountingGithubMcpServer server = new CountingGithubMcpServer(Set.of(), token);
    schemas.forEach(
        (tool, schema) -> {
          if (!TOOLS.contains(tool)) {
            throw new IllegalArgumentException("unknown tool " + tool);
          }
          server.schemas.put(tool, schema);
        });
    server.startHttp(0);
    return server;
  }

  public static CountingGithubMcpServer http(String token) throws Exception {
    return http(0, token, Set.of());
  }

  private void startHttp(int port) throws Exception {
    HttpServletStreamableServerTransportProvider transport =
        HttpServletStreamableServerTransportProvider.builder()
            .jsonMapper(McpJsonDefaults.getMapper())
            .mcpEndpoint("/mcp")
            .build();
    mcp = configure(McpServer.sync(transport)).build();
    jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    jetty.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    context.setContextPath("/");
    ServletHolder holder = new ServletHolder(transport);
    holder.setAsyncSupported(true);
    context.addServlet(holder, "/mcp");
    Filter bearer =
        (request, response, chain) -> {
          String header = ((HttpServletRequest) request).getHeader("Authorization");
          if (header != null) {
            authorizationHeaders.add(header);
          }
          if (token != null && !("Bearer " + token).equals(header)) {
            unauthorized.incrementAndGet();
            HttpServletResponse http = (HttpServletResponse) response;
            http.setStatus(401);
            http.setHeader("WWW-Authenticate", "Bearer");
            http.setContentType("application/json");
            http.getWriter().write("{\"message\":\"Bad credentials\"}");
            return;
          }
          chain.doFilter(request, response);
        };
    FilterHolder filter = new FilterHolder(bearer);
    filter.setAsyncSupported(true);
    context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST));
    jetty.setHandler(context);
    jetty.start();
  }

  /** The URL a client connects to ({@code http://127.0.0.1:<port>/mcp}). */
  public String url() {
    return "http://127.0.0.1:" + port() + "/mcp";
  }

  public int port() {
    return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
  }

  private <S extends McpServer.SyncSpecification<S>> McpServer.SyncSpecification<S> configure(
      McpServer.SyncSpecification<S> spec) {
    List<SyncToolSpecification> tools = new ArrayList<>();
    for (String tool : offered) {
      tools.add(
          SyncToolSpecification.builder()
              .tool(
                  McpSchema.Tool.builder(tool, McpJsonDefaults.getMapper(), schemas.get(tool))
                      .description(DESCRIPTIONS.get(tool))
                      .build())
              .callHandler((exchange, request) -> handle(tool, request))
              .build());
    }
    return spec.serverInfo("counting-github-mcp-server", "1.0")
        .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
        .validateToolInputs(false)
        .jsonSchemaValidator(new McpSchemaValidator())
        .tools(tools);
  }

  // ---------------------------------------------------------------------------------------------
  // Test hooks

  /** Calls of {@code tool} that reached the server (valid or not). */
  public int calls(String tool) {
    return calls.getOrDefault(tool, new AtomicInteger()).get();
  }

  /** Effects {@code tool} performed (issues created, comments added). */
  public int effects(String tool) {
    return effects.getOrDefault(tool, new AtomicInteger()).get();
  }

  /** Requests refused for a missing or wrong bearer token. */
  public int unauthorized() {
    return unauthorized.get();
  }

  /** Every {@code Authorization} header received. */
  public List<String> authorizationHeaders() {
    synchronized (authorizationHeaders) {
      return List.copyOf(authorizationHeaders);
    }
  }

  /**
   * Makes the next call of {@code tool} wait at {@code phase} until the returned block is released.
   */
  public Block blockNextCall(String tool, Phase phase) {
    Block block = new Block(tool, phase);
    if (nextBlocks.putIfAbsent(tool, block) != null) {
      throw new IllegalStateException("the next call of " + tool + " is already blocked");
    }
    allBlocks.add(block);
    return block;
  }

  /** The comments on issue {@code number} of owner/repo, oldest first. */
  public List<Comment> comments(String owner, String repo, long number) {
    synchronized (comments) {
      return comments.stream()
          .filter(
              c -> c.owner().equals(owner) && c.repo().equals(repo) && c.issueNumber() == number)
          .toList();
    }
  }

  /** The issues of {@code owner/repo}, oldest first. */
  public List<Issue> issues(String owner, String repo) {
    synchronized (issues) {
      return issues.stream().filter(i -> i.owner().equals(owner) && i.repo().equals(repo)).toList();
    }
  }

  /** Adds an issue as if someone had opened it (no effect counted). */
  public Issue seedIssue(String owner, String repo, String title, String body) {
    return addIssue(owner, repo, title, body, List.of());
  }

  // ---------------------------------------------------------------------------------------------
  // Tools

  private McpSchema.CallToolResult handle(String tool, McpSchema.CallToolRequest request) {
    calls.computeIfAbsent(tool, t -> new AtomicInteger()).incrementAndGet();
    JsonNode args =
        Json.STRICT.valueToTree(request.arguments() == null ? Map.of() : request.arguments());
    onCall.accept(tool, args);
    String failure = failing.get(tool);
    if (failure != null) {
      return error(failure); // as github-mcp-server reports an upstream error: isError, its text
    }
    Block block = nextBlocks.remove(tool);
    if (block != null && block.phase == Phase.BEFORE_EFFECT) {
      block.hold();
      if (block.aborted) {
        throw new IllegalStateException("the held call was aborted before its effect");
      }
    }
    McpSchema.CallToolResult result;
    try {
      result = HANDLERS.get(tool).apply(this, args);
    } catch (IllegalArgumentException e) {
      result = error(e.getMessage());
    }
    if (block != null && block.phase == Phase.AFTER_EFFECT) {
      block.hold();
    }
    return result;
  }

  private static final Map<
          String, BiFunction<CountingGithubMcpServer, JsonNode, McpSchema.CallToolResult>>
      HANDLERS =
          Map.of(
              "create_issue", CountingGithubMcpServer::createIssue,
              "add_issue_comment", CountingGithubMcpServer::addComment,
              "get_issue", CountingGithubMcpServer::getIssue,
              "search_issues", CountingGithubMcpServer::searchIssues,
              "list_issues", CountingGithubMcpServer::listIssues,
              "get_issue_comments", CountingGithubMcpServer::getComments);

  private McpSchema.CallToolResult createIssue(JsonNode args) {
    String owner = required(args, "owner");
    String repo = required(args, "repo");
    String title = required(args, "title");
    List<String> labels = new ArrayList<>();
    args.path("labels").forEach(l -> labels.add(l.asText()));
    Issue issue = addIssue(owner, repo, title, args.path("body").asText(""), labels);
    effects.computeIfAbsent("create_issue", t -> new AtomicInteger()).incrementAndGet();
    // github-mcp-server answers a create with a minimal response: the id and the issue's page.
    return json(
        Json.STRICT
            .createObjectNode()
            .put("id", String.valueOf(issue.id()))
            .put("url", htmlUrl(issue)));
  }

  private Issue addIssue(
      String owner, String repo, String title, String body, List<String> labels) {
    synchronized (issues) {
      long number =
          issues.stream().filter(i -> i.owner().equals(owner) && i.repo().equals(repo)).count() + 1;
      Issue issue =
          new Issue(
              ids.incrementAndGet(),
              owner,
              repo,
              number,
              title,
              body,
              List.copyOf(labels),
              Instant.now());
      issues.add(issue);
      return issue;
    }
  }

  private McpSchema.CallToolResult addComment(JsonNode args) {
    Issue issue = find(required(args, "owner"), required(args, "repo"), number(args));
    String body = required(args, "body");
    Comment comment =
        new Comment(
            ids.incrementAndGet(),
            issue.owner(),
            issue.repo(),
            issue.number(),
            body,
            Instant.now());
    comments.add(comment);
    effects.computeIfAbsent("add_issue_comment", t -> new AtomicInteger()).incrementAndGet();
    return json(
        Json.STRICT
            .createObjectNode()
            .put("id", String.valueOf(comment.id()))
            .put("url", htmlUrl(comment)));
  }

  private McpSchema.CallToolResult getIssue(JsonNode args) {
    return json(issueJson(find(required(args, "owner"), required(args, "repo"), number(args))));
  }

  private McpSchema.CallToolResult searchIssues(JsonNode args) {
    String query = required(args, "query").toLowerCase(java.util.Locale.ROOT);
    String owner = args.path("owner").asText(null);
    String repo = args.path("repo").asText(null);
    ArrayNode items = Json.STRICT.createArrayNode();
    synchronized (issues) {
      for (Issue i : issues) {
        if ((owner == null || i.owner().equals(owner))
            && (repo == null || i.repo().equals(repo))
            && (i.title() + " " + i.body()).toLowerCase(java.util.Locale.ROOT).contains(query)) {
          items.add(issueJson(i));
        }
      }
    }
    ObjectNode out =
        Json.STRICT
            .createObjectNode()
            .put("total_count", items.size())
            .put("incomplete_results", false);
    out.set("items", items);
    return json(out);
  }

  /**
   * Like github-mcp-server's GraphQL-backed list_issues: cursor paging, newest first on request.
   */
  private McpSchema.CallToolResult listIssues(JsonNode args) {
    List<Issue> all = new ArrayList<>(issues(required(args, "owner"), required(args, "repo")));
    String state = args.path("state").asText("");
    if (state.equals("CLOSED")) {
      all.clear(); // every issue here is open
    }
    if (args.path("direction").asText("ASC").equals("DESC")) {
      Collections.reverse(all);
    }
    int perPage = args.path("perPage").asInt(30);
    int from = args.hasNonNull("after") ? Integer.parseInt(args.path("after").asText()) : 0;
    int to = Math.min(all.size(), from + perPage);
    ArrayNode page = Json.STRICT.createArrayNode();
    for (Issue i : all.subList(Math.min(from, to), to)) {
      page.add(issueJson(i));
    }
    ObjectNode out = Json.STRICT.createObjectNode();
    out.set("issues", page);
    out.putObject("pageInfo")
        .put("hasNextPage", to < all.size())
        .put("endCursor", String.valueOf(to));
    out.put("totalCount", all.size());
    return json(out);
  }

  /** Like the REST-backed get_issue_comments: page/perPage, oldest first, a JSON array. */
  private McpSchema.CallToolResult getComments(JsonNode args) {
    Issue issue = find(required(args, "owner"), required(args, "repo"), number(args));
    List<Comment> on;
    synchronized (comments) {
      on =
          comments.stream()
              .filter(
                  c ->
                      c.owner().equals(issue.owner())
                          && c.repo().equals(issue.repo())
                          && c.issueNumber() == issue.number())
              .toList();
    }
    int perPage = args.path("perPage").asInt(30);
    int page = args.path("page").asInt(1);
    ArrayNode out = Json.STRICT.createArrayNode();
    on.stream()
        .skip((long) (page - 1) * perPage)
        .limit(perPage)
        .forEach(
            c ->
                out.addObject()
                    .put("id", c.id())
                    .put("body", c.body())
                    .put("html_url", htmlUrl(c))
                    .put("created_at", c.createdAt().toString())
                    .putObject("user")
                    .put("login", "worka-bot"));
    return json(out);
  }

  private ObjectNode issueJson(Issue i) {
    ObjectNode node =
        Json.STRICT
            .createObjectNode()
            .put("id", i.id())
            .put("number", i.number())
            .put("title", i.title())
            .put("body", i.body())
            .put("state", "open")
            .put("html_url", htmlUrl(i))
            .put("created_at", i.createdAt().toString());
    node.putObject("user").put("login", "worka-bot");
    ArrayNode labels = node.putArray("labels");
    i.labels().forEach(l -> labels.addObject().put("name", l));
    return node;
  }

  private String htmlUrl(Issue i) {
    return baseUrl + "/" + i.owner() + "/" + i.repo() + "/issues/" + i.number();
  }

  private String htmlUrl(Comment c) {
    return baseUrl
        + "/"
        + c.owner()
        + "/"
        + c.repo()
        + "/issues/"
        + c.issueNumber()
        + "#issuecomment-"
        + c.id();
  }

  private Issue find(String owner, String repo, long number) {
    return issues(owner, repo).stream()
        .filter(i -> i.number() == number)
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "failed to get issue: GET "
                        + baseUrl
                        + "/repos/"
                        + owner
                        + "/"
                        + repo
                        + "/issues/"
                        + number
                        + ": 404 Not Found []"));
  }

  private static String required(JsonNode args, String name) {
    JsonNode v = args.path(name);
    if (!v.isTextual() || v.asText().isEmpty()) {
      throw new IllegalArgumentException("missing required parameter: " + name);
    }
    return v.asText();
  }

  private static long number(JsonNode args) {
    JsonNode v = args.path("issue_number");
    if (!v.isNumber()) {
      throw new IllegalArgumentException("missing required parameter: issue_number");
    }
    return v.asLong();
  }

  private static McpSchema.CallToolResult json(JsonNode node) {
    return McpSchema.CallToolResult.builder()
        .addTextContent(node.toString())
        .isError(false)
        .build();
  }

  private static McpSchema.CallToolResult error(String message) {
    return McpSchema.CallToolResult.builder().addTextContent(message).isError(true).build();
  }

  // ---------------------------------------------------------------------------------------------
  // Tool descriptions and input schemas, after github-mcp-server's tool snapshots

  private static final Map<String, String> DESCRIPTIONS =
      Map.of(
          "create_issue", "Create a new issue in a GitHub repository.",
          "add_issue_comment", "Add a comment to a specific issue in a GitHub repository.",
          "get_issue", "Get details of a specific issue in a GitHub repository.",
          "search_issues",
              "Search for issues in GitHub repositories using issues search syntax already scoped to is:issue",
          "list_issues",
              "List issues in a GitHub repository. For pagination, use the 'endCursor' from the previous"
                  + " response's 'pageInfo' in the 'after' parameter.",
          "get_issue_comments", "Get comments for a specific issue in a GitHub repository.");

  private static final Map<String, String> SCHEMAS =
      Map.of(
          "create_issue",
              """
          {"type":"object","required":["owner","repo","title"],"properties":{
            "owner":{"type":"string","description":"Repository owner"},
            "repo":{"type":"string","description":"Repository name"},
            "title":{"type":"string","description":"Issue title"},
            "body":{"type":"string","description":"Issue body content"},
            "labels":{"type":"array","items":{"type":"string"},"description":"Labels to apply to this issue"},
            "assignees":{"type":"array","items":{"type":"string"},"description":"Usernames to assign to this issue"},
            "milestone":{"type":"number","description":"Milestone number"}}}""",
          "add_issue_comment",
              """
          {"type":"object","required":["owner","repo","issue_number","body"],"properties":{
            "owner":{"type":"string","description":"Repository owner"},
            "repo":{"type":"string","description":"Repository name"},
            "issue_number":{"type":"number","description":"Issue number to comment on"},
            "body":{"type":"string","description":"Comment content"}}}""",
          "get_issue",
              """
          {"type":"object","required":["owner","repo","issue_number"],"properties":{
            "owner":{"type":"string","description":"The owner of the repository"},
            "repo":{"type":"string","description":"The name of the repository"},
            "issue_number":{"type":"number","description":"The number of the issue"}}}""",
          "search_issues",
              """
          {"type":"object","required":["query"],"properties":{
            "query":{"type":"string","description":"Search query using GitHub issues search syntax"},
            "owner":{"type":"string","description":"Optional repository owner"},
            "repo":{"type":"string","description":"Optional repository name"},
            "sort":{"type":"string","enum":["comments","reactions","reactions-+1","reactions--1","reactions-smile",
              "reactions-thinking_face","reactions-heart","reactions-tada","interactions","created","updated"]},
            "order":{"type":"string","enum":["asc","desc"]},
            "page":{"type":"number","minimum":1},
            "perPage":{"type":"number","minimum":1,"maximum":100}}}""",
          "list_issues",
              """
          {"type":"object","required":["owner","repo"],"properties":{
            "owner":{"type":"string","description":"Repository owner"},
            "repo":{"type":"string","description":"Repository name"},
            "state":{"type":"string","enum":["OPEN","CLOSED"],"description":"Filter by state; both when absent"},
            "labels":{"type":"array","items":{"type":"string"}},
            "orderBy":{"type":"string","enum":["CREATED_AT","UPDATED_AT","COMMENTS"]},
            "direction":{"type":"string","enum":["ASC","DESC"]},
            "since":{"type":"string"},
            "after":{"type":"string","description":"Cursor for pagination"},
            "perPage":{"type":"number","minimum":1,"maximum":100}}}""",
          "get_issue_comments",
              """
          {"type":"object","required":["owner","repo","issue_number"],"properties":{
            "owner":{"type":"string","description":"Repository owner"},
            "repo":{"type":"string","description":"Repository name"},
            "issue_number":{"type":"number","description":"Issue number"},
            "page":{"type":"number","minimum":1},
            "perPage":{"type":"number","minimum":1,"maximum":100}}}""");

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  @Override
  public void close() {
    synchronized (allBlocks) {
      allBlocks.forEach(Block::release);
    }
    if (mcp != null) {
      try {
        mcp.close();
      } catch (RuntimeException e) {
        // closing anyway
      }
    }
    if (jetty != null) {
      try {
        jetty.stop();
      } catch (Exception e) {
        throw new IllegalStateException("stopping the counting MCP server: " + e, e);
      }
    }
  }

  /**
   * {@code --port N [--token T] [--without a,b]}: serves over HTTP and prints {@code port=<port>};
   * {@code --stdio [--env-report FILE] [--without a,b]}: serves over stdin/stdout, exits on EOF.
   */
  public static void main(String[] args) throws Exception {
    // Before anything logs: stdout carries only protocol messages in stdio mode.
    PrintStream protocolOut = System.out;
    System.setOut(System.err);
    Map<String, String> options = new TreeMap<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--stdio" -> options.put("stdio", "true");
        case "--port", "--token", "--without", "--env-report" ->
            options.put(args[i].substring(2), args[++i]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    Set<String> without =
        options.containsKey("without") ? Set.of(options.get("without").split(",")) : Set.of();
    if (options.containsKey("stdio")) {
      if (options.containsKey("env-report")) {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("_pid", ProcessHandle.current().pid());
        new TreeMap<>(System.getenv())
            .forEach((k, v) -> report.put(k, k.equals("GITHUB_PERSONAL_ACCESS_TOKEN") ? v : ""));
        Files.writeString(
            Path.of(options.get("env-report")), Json.STRICT.writeValueAsString(report));
      }
      CountingGithubMcpServer server = new CountingGithubMcpServer(without, null);
      CountDownLatch eof = new CountDownLatch(1);
      InputStream in =
          new FilterInputStream(System.in) {
            @Override
            public int read() throws IOException {
              int b = super.read();
              if (b < 0) {
                eof.countDown();
              }
              return b;
            }

            @Override
            public int read(byte[] buffer, int offset, int length) throws IOException {
              int n = super.read(buffer, offset, length);
              if (n < 0) {
                eof.countDown();
              }
              return n;
            }
          };
      StdioServerTransportProvider transport =
          new StdioServerTransportProvider(McpJsonDefaults.getMapper(), in, protocolOut);
      server.mcp = server.configure(McpServer.sync(transport)).build();
      eof.await();
      // The client went away: nothing more can be asked, so no process is left behind.
      System.err.println("stdin closed; exiting");
      Runtime.getRuntime().halt(0);
    } else {
      int port = Integer.parseInt(options.getOrDefault("port", "0"));
      CountingGithubMcpServer server = http(port, options.get("token"), without);
      protocolOut.println("port=" + server.port());
      protocolOut.flush();
      Runtime.getRuntime().addShutdownHook(new Thread(server::close));
      new CountDownLatch(1).await();
    }
  }
}
