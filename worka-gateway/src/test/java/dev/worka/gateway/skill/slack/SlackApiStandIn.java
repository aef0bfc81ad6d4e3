package dev.worka.gateway.skill.slack;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.Predicate;

/**
 * A local stand-in for Slack's Web API, reached by the production clients only through {@code
 * SLACK_API_URL}: it answers {@code auth.test}, {@code chat.postMessage}, {@code
 * chat.postEphemeral} (kept apart: no one else sees it, nor the history), {@code users.info} (every
 * user a full member of {@link #TEAM} unless {@link #guest} says otherwise), {@code
 * conversations.replies}, {@code conversations.history} and {@code apps.connections.open} the way
 * Slack does (form-encoded requests, {@code {"ok": …}} answers, cursors), keeps the messages of its
 * conversations, and records every call with its {@code Authorization} header. A method can be told
 * to fail: with an HTTP status (429, 500) or with a Slack error ({@code channel_not_found}).
 */
public final class SlackApiStandIn implements AutoCloseable {
  public static final String BOT_USER = "U0BOT";
  public static final String BOT_ID = "B0BOT";
  public static final String TEAM = "T0TEST";

  /** One Web API call as received. */
  public record Call(String method, Map<String, String> params, String authorization) {}

  /** A message in a conversation. */
  public record Message(
      String channel,
      String ts,
      String threadTs,
      String user,
      String botId,
      String text,
      JsonNode metadata) {}

  /**
   * How a method fails: an HTTP status (then Slack's body for it) or {@code ok: false} with an
   * error.
   */
  public record Failure(int httpStatus, String error) {
    public static Failure status(int status) {
      return new Failure(status, status == 429 ? "ratelimited" : "internal_error");
    }

    public static Failure error(String error) {
      return new Failure(200, error);
    }
  }

  private static final Duration POLL = Duration.ofMillis(10);

  private final HttpServer server;
  private final List<Call> calls = new ArrayList<>();
  private final List<Message> messages = new ArrayList<>();
  private final Map<String, Failure> failing = new LinkedHashMap<>();
  private final Map<String, Integer> failuresLeft = new LinkedHashMap<>();
  private long clock = java.time.Instant.now().getEpochSecond(); // posts come after seeded history
  private volatile String socketModeUrl;
  private final Map<String, String> guests = new LinkedHashMap<>();
  private volatile java.util.function.Consumer<Call> onCall = c -> {};

  public SlackApiStandIn() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/api/", this::handle);
    server.start();
  }

  /** The value for {@code SLACK_API_URL}. */
  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/api/";
  }

  /** What {@code apps.connections.open} answers (a Socket Mode stand-in's WebSocket URL). */
  public void socketModeUrl(String url) {
    this.socketModeUrl = url;
  }

  /**
   * Runs {@code hook} for every call as it arrives, before it is answered (e.g. to look at what the
   * Gateway had committed when a post reached Slack).
   */
  public void onCall(java.util.function.Consumer<Call> hook) {
    this.onCall = hook;
  }

  /**
   * Makes {@code method} fail the next {@code times} calls (or always, with {@link
   * Integer#MAX_VALUE}).
   */
  public synchronized void fail(String method, Failure failure, int times) {
    failing.put(method, failure);
    failuresLeft.put(method, times);
  }

  /**
   * Makes {@code user} a guest of the workspace: {@code single} a single-channel one, else
   * multi-channel.
   */
  public synchronized void guest(String user, boolean single) {
    guests.put(user, single ? "is_ultra_restricted" : "is_restricted");
  }

  /**
   * Adds a message to a conversation (a thread's parent has {@code threadTs} null or equal to its
   * ts).
   */
  public synchronized Message seed(
      String channel, String ts, String threadTs, String user, String text) {
    Message m = new Message(channel, ts, threadTs, user, null, text, null);
    messages.add(m);
    return m;
  }

  public synchronized List<Call> calls(String method) {
    return calls.stream().filter(c -> c.method().equals(method)).toList();
  }

  public synchronized List<Call> calls() {
    return List.copyOf(calls);
  }

  /** The messages the bot posted, in order. */
  public synchronized List<Message> posts() {
    return messages.stream().filter(m -> BOT_USER.equals(m.user())).toList();
  }

  /**
   * Waits until the bot has posted a message matching {@code which} (the first one); fails after
   * {@code timeout}, showing what was posted.
   */
  public Message awaitPost(Predicate<Message> which, Duration timeout) {
    return await("a matching post (what the bot posted)")
        .atMost(timeout)
        .pollInterval(POLL)
        .until(this::posts, posted -> posted.stream().anyMatch(which))
        .stream()
        .filter(which)
        .findFirst()
        .orElseThrow();
  }

  /** Waits until {@code method} has been called at least {@code n} times. */
  public void awaitCalls(String method, int n, Duration timeout) {
    await(method + " called " + n + " times (how many times so far)")
        .atMost(timeout)
        .pollInterval(POLL)
        .until(() -> calls(method).size(), called -> called >= n);
  }

  private void handle(HttpExchange exchange) throws IOException {
    String method = exchange.getRequestURI().getPath().substring("/api/".length());
    Map<String, String> params =
        form(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
    String query = exchange.getRequestURI().getRawQuery();
    if (query != null) {
      params.putAll(form(query));
    }
    int status;
    JsonNode answer;
    Call call = new Call(method, params, exchange.getRequestHeaders().getFirst("Authorization"));
    onCall.accept(call);
    synchronized (this) {
      calls.add(call);
      Failure failure = failing.get(method);
      if (failure != null && failuresLeft.getOrDefault(method, 0) > 0) {
        failuresLeft.merge(method, -1, Integer::sum);
        status = failure.httpStatus();
        answer = Json.STRICT.createObjectNode().put("ok", false).put("error", failure.error());
      } else {
        status = 200;
        answer = answer(method, params);
      }
    }
    byte[] body = Json.write(answer).getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    if (status == 429) {
      exchange.getResponseHeaders().set("Retry-After", "1");
    }
    exchange.sendResponseHeaders(status, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  private JsonNode answer(String method, Map<String, String> params) {
    ObjectNode ok = Json.STRICT.createObjectNode().put("ok", true);
    return switch (method) {
      case "auth.test" -> {
        if (params.containsKey("token") && params.get("token").startsWith("xapp-")) {
          yield ok.put("app_id", "A0TEST");
        }
        yield ok.put("url", "https://worka-test.slack.com/")
            .put("team", "Worka Test")
            .put("user", "worka")
            .put("team_id", TEAM)
            .put("user_id", BOT_USER)
            .put("bot_id", BOT_ID);
      }
      case "apps.connections.open" ->
          socketModeUrl == null
              ? Json.STRICT
                  .createObjectNode()
                  .put("ok", false)
                  .put("error", "not_allowed_token_type")
              : ok.put("url", socketModeUrl);
      case "users.info" -> {
        String user = params.get("user");
        if (user == null || !user.matches("[UW][A-Z0-9]+")) {
          yield Json.STRICT.createObjectNode().put("ok", false).put("error", "user_not_found");
        }
        ObjectNode u =
            ok.putObject("user")
                .put("id", user)
                .put("team_id", TEAM)
                .put("name", user.toLowerCase(Locale.ROOT))
                .put("deleted", false)
                .put("is_bot", false)
                .put("is_restricted", false)
                .put("is_ultra_restricted", false);
        if (guests.containsKey(user)) {
          u.put(guests.get(user), true);
        }
        yield ok;
      }
      case "chat.postEphemeral" -> {
        String channel = params.get("channel");
        if (channel == null || !channel.matches("[CDG][A-Z0-9]+")) {
          yield Json.STRICT.createObjectNode().put("ok", false).put("error", "channel_not_found");
        }
        if (params.get("user") == null || params.get("user").isBlank()) {
          yield Json.STRICT.createObjectNode().put("ok", false).put("error", "user_not_in_channel");
        }
        yield ok.put("message_ts", ++clock + ".000200");
      }
      case "chat.postMessage" -> {
        String channel = params.get("channel");
        if (channel == null || !channel.matches("[CDG][A-Z0-9]+")) {
          yield Json.STRICT.createObjectNode().put("ok", false).put("error", "channel_not_found");
        }
        String ts = ++clock + ".000100";
        JsonNode metadata =
            params.containsKey("metadata") ? Json.parse(params.get("metadata")) : null;
        Message m =
            new Message(
                channel,
                ts,
                params.get("thread_ts"),
                BOT_USER,
                BOT_ID,
                params.get("text"),
                metadata);
        messages.add(m);
        ok.put("channel", channel).put("ts", ts);
        ok.set("message", json(m, true));
        yield ok;
      }
      case "chat.update" -> {
        String channel = params.get("channel");
        if (channel == null || params.get("ts") == null) {
          yield Json.STRICT.createObjectNode().put("ok", false).put("error", "message_not_found");
        }
        yield ok.put("channel", channel)
            .put("ts", params.get("ts"))
            .put("text", params.get("text"));
      }
      case "conversations.replies" -> {
        String channel = params.get("channel");
        String thread = params.get("ts");
        List<Message> thread_ =
            messages.stream()
                .filter(
                    m ->
                        m.channel().equals(channel)
                            && (m.ts().equals(thread) || thread.equals(m.threadTs())))
                .sorted(Comparator.comparing(Message::ts))
                .toList();
        if (thread_.isEmpty()) {
          yield Json.STRICT.createObjectNode().put("ok", false).put("error", "thread_not_found");
        }
        yield page(ok, thread_, params);
      }
      case "conversations.history" -> {
        String channel = params.get("channel");
        List<Message> top =
            messages.stream()
                .filter(
                    m ->
                        m.channel().equals(channel)
                            && (m.threadTs() == null || m.threadTs().equals(m.ts())))
                .sorted(Comparator.comparing(Message::ts).reversed())
                .toList();
        yield page(ok, top, params);
      }
      default -> Json.STRICT.createObjectNode().put("ok", false).put("error", "unknown_method");
    };
  }

  private static JsonNode page(ObjectNode ok, List<Message> all, Map<String, String> params) {
    int limit = params.containsKey("limit") ? Integer.parseInt(params.get("limit")) : 100;
    int from =
        params.containsKey("cursor") && !params.get("cursor").isEmpty()
            ? Integer.parseInt(params.get("cursor"))
            : 0;
    boolean metadata =
        "true".equals(params.get("include_all_metadata"))
            || "1".equals(params.get("include_all_metadata"));
    ArrayNode out = ok.putArray("messages");
    int to = Math.min(all.size(), from + limit);
    for (int i = from; i < to; i++) {
      out.add(json(all.get(i), metadata));
    }
    ok.put("has_more", to < all.size());
    ok.putObject("response_metadata").put("next_cursor", to < all.size() ? String.valueOf(to) : "");
    return ok;
  }

  private static ObjectNode json(Message m, boolean withMetadata) {
    ObjectNode n =
        Json.STRICT
            .createObjectNode()
            .put("type", "message")
            .put("ts", m.ts())
            .put("text", m.text());
    if (m.user() != null) {
      n.put("user", m.user());
    }
    if (m.botId() != null) {
      n.put("bot_id", m.botId());
    }
    if (m.threadTs() != null) {
      n.put("thread_ts", m.threadTs());
    }
    if (withMetadata && m.metadata() != null) {
      n.set("metadata", m.metadata());
    }
    return n;
  }

  private static Map<String, String> form(String body) {
    Map<String, String> params = new LinkedHashMap<>();
    if (body == null || body.isEmpty()) {
      return params;
    }
    for (String pair : body.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      params.put(k, v);
    }
    return params;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
