package dev.worka.gateway.ingress.slack;

import com.slack.api.Slack;
import com.slack.api.app_backend.events.payload.EventsApiPayload;
import com.slack.api.app_backend.slash_commands.payload.SlashCommandPayload;
import com.slack.api.bolt.App;
import com.slack.api.bolt.AppConfig;
import com.slack.api.bolt.context.builtin.EventContext;
import com.slack.api.bolt.request.Request;
import com.slack.api.bolt.request.RequestHeaders;
import com.slack.api.bolt.response.Response;
import com.slack.api.bolt.socket_mode.SocketModeApp;
import com.slack.api.bolt.util.SlackRequestParser;
import com.slack.api.model.event.AppMentionEvent;
import com.slack.api.model.event.MessageEvent;
import com.slack.api.socket_mode.SocketModeClient;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.time.Duration;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where Slack's requests become runs, with Slack's official SDK (Bolt): {@code app_mention} events
 * in channels, direct messages ({@code message} events with {@code channel_type: im}), any slash
 * command sent here ({@code /worka}), and interactivity (buttons: acknowledged and logged; nothing
 * acts on them yet).
 *
 * <p><b>Over HTTP</b> ({@code SLACK_SIGNING_SECRET}) the three request URLs {@link #EVENTS}, {@link
 * #COMMANDS} and {@link #INTERACTIVITY} are routes of the Gateway's own HTTP server: each checks the
 * request's signature ({@link SlackSignatureCheck}) over the raw body before anything else — a
 * request that fails is answered {@code 401} and leaves nothing but a log line — and then hands the
 * request to Bolt's {@link App#run}. <b>In Socket Mode</b> ({@code SLACK_APP_TOKEN}) the same
 * {@link App}, so the same handlers, is fed by Bolt's {@link SocketModeApp} over a WebSocket the
 * Gateway opens; there is no public URL and no signature (the connection is authenticated by the
 * app token).
 *
 * <p><b>A run per request, once.</b> Slack retries an event it got no {@code 200} for within three
 * seconds ({@code X-Slack-Retry-Num}, the same {@code event_id}); the run's idempotency key is
 * {@code slack:event:<event_id>} (a slash command's, {@code slack:command:<trigger_id>}), so a retry
 * finds the run the first delivery created. Creating the run is one short transaction (the run and
 * its start task); everything slow — planning, steps, answering — happens afterwards, so Slack's
 * acknowledgement goes out at once. The run's source is {@code slack}, its requester the Slack user,
 * its channel the conversation, its thread the event's {@code thread_ts} or else its {@code ts}
 * (where answers go), and its text the message with the bot's mention removed.
 */
public final class SlackIngress implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SlackIngress.class);

  public static final String EVENTS = "/slack/events";
  public static final String COMMANDS = "/slack/commands";
  public static final String INTERACTIVITY = "/slack/interactivity";

  /** The longest request text a run takes (as {@code POST /v1/runs}). */
  static final int MAX_TEXT = 8000;

  /** Slack's payloads are small; this bounds what an unauthenticated caller can make us read. */
  static final long MAX_BODY = 1024 * 1024;

  private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  private static final Duration MAX_RETRY = Duration.ofMinutes(1);

  private final RunService runs;
  private final App app;
  private final SlackRequestParser parser;
  private final SlackSignatureCheck signatures;
  private volatile SocketModeApp socketMode;
  private volatile Thread socketModeStarter;
  private volatile boolean closed;

  /**
   * @param slack the SDK client (its Web API URL is {@code SLACK_API_URL})
   * @param botToken the bot token, with which Bolt looks up the bot's own user ({@code auth.test})
   *     to strip its mention and ignore its own messages
   * @param signingSecret verifies HTTP requests; null in Socket Mode (then the HTTP routes are not
   *     registered)
   */
  public SlackIngress(RunService runs, Slack slack, String botToken, String signingSecret, InstantSource clock) {
    this.runs = Objects.requireNonNull(runs, "runs");
    Objects.requireNonNull(botToken, "botToken");
    this.signatures = signingSecret == null ? null : new SlackSignatureCheck(signingSecret, clock);
    // Every value is set here: AppConfig's defaults would read SLACK_* from the process environment.
    AppConfig config = AppConfig.builder()
        .slack(slack)
        .singleTeamBotToken(botToken)
        .signingSecret(signingSecret)
        .requestVerificationEnabled(false) // SlackSignatureCheck ran before Bolt sees the request
        .sslCheckEnabled(false)
        .allEventsApiAutoAckEnabled(true) // events nobody handles are acknowledged, not retried
        .build();
    this.app = new App(config);
    this.parser = new SlackRequestParser(config);
    app.event(AppMentionEvent.class, this::onMention);
    app.event(MessageEvent.class, this::onMessage);
    Pattern any = Pattern.compile(".*");
    app.command(any, (req, ctx) -> {
      String answer = onCommand(req.getPayload());
      return ctx.ack(r -> r.responseType("ephemeral").text(answer)); // only the requester sees it
    });
    app.blockAction(any, (req, ctx) -> {
      var p = req.getPayload();
      log.info("slack: button {} pressed by {} (acknowledged; Worka does not act on buttons yet)",
          p.getActions() == null ? List.of() : p.getActions().stream().map(a -> a.getActionId()).toList(),
          p.getUser() == null ? "?" : p.getUser().getId());
      return ctx.ack();
    });
    app.globalShortcut(any, (req, ctx) -> ignored("global shortcut", req.getPayload().getCallbackId(), ctx.ack()));
    app.messageShortcut(any, (req, ctx) -> ignored("message shortcut", req.getPayload().getCallbackId(), ctx.ack()));
    app.viewSubmission(any, (req, ctx) -> ignored("view submission", req.getPayload().getView().getCallbackId(), ctx.ack()));
    app.viewClosed(any, (req, ctx) -> ignored("view closed", req.getPayload().getView().getCallbackId(), ctx.ack()));
  }

  private static Response ignored(String what, String callbackId, Response ack) {
    log.info("slack: {} {} acknowledged (Worka does not act on it yet)", what, callbackId);
    return ack;
  }

  /** Registers the HTTP request URLs (HTTP mode). */
  public void register(Router router) {
    if (signatures == null) {
      throw new IllegalStateException("HTTP routes need SLACK_SIGNING_SECRET");
    }
    for (String path : List.of(EVENTS, COMMANDS, INTERACTIVITY)) {
      router.addPublic("POST", path, MAX_BODY, this::handle); // the internet reaches it: WORKA_INGRESS_PORT
    }
  }

  /**
   * Connects to Slack in Socket Mode with the app-level token, in the background: until it
   * connects (Slack unreachable, a wrong token) it tries again after a growing delay, saying why in
   * the log; once connected, the SDK keeps the connection up.
   */
  public void startSocketMode(String appToken) {
    Objects.requireNonNull(appToken, "appToken");
    socketModeStarter = Thread.ofVirtual().name("slack-socket-mode").start(() -> {
      Duration delay = FIRST_RETRY;
      while (!closed) {
        try {
          SocketModeApp socket = new SocketModeApp(appToken, app, SocketModeClient.Backend.JavaWebSocket);
          try {
            socket.startAsync(); // auth.test, apps.connections.open, then the WebSocket
          } catch (NullPointerException e) {
            // The SDK logs why apps.connections.open failed and leaves no client behind.
            throw new IllegalStateException("apps.connections.open failed (see the SDK's log line above)", e);
          }
          socketMode = socket;
          if (closed) {
            socket.close();
            return;
          }
          log.info("slack: Socket Mode connection opened");
          return;
        } catch (Exception e) {
          log.warn("slack: could not connect in Socket Mode ({}); trying again in {} s", e.getMessage(),
              delay.toSeconds());
          try {
            Thread.sleep(delay);
          } catch (InterruptedException ie) {
            return;
          }
          delay = delay.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : delay.multipliedBy(2);
        }
      }
    });
  }

  /** Whether Socket Mode is connected (tests, readiness). */
  public boolean socketModeConnected() {
    SocketModeApp s = socketMode;
    return s != null && s.getClient() != null && s.getClient().verifyConnection();
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  private ApiResponse handle(ApiRequest r) throws Exception {
    byte[] body = r.body();
    String timestamp = r.header(SlackSignatureCheck.TIMESTAMP);
    switch (signatures.check(timestamp, r.header(SlackSignatureCheck.SIGNATURE), body)) {
      case SlackSignatureCheck.Verdict.Refused refused -> {
        log.warn("slack: refused {} {} from {}: {}", r.method(), r.path(), r.remoteAddress(), refused.why());
        return ApiResponse.status(401,
            ErrorBody.of(ErrorCodes.SIGNATURE_INVALID, "the request's Slack signature is missing, stale or wrong"));
      }
      case SlackSignatureCheck.Verdict.Genuine genuine -> { }
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String name : List.of("Content-Type", SlackSignatureCheck.TIMESTAMP, SlackSignatureCheck.SIGNATURE,
        "X-Slack-Retry-Num", "X-Slack-Retry-Reason")) {
      String value = r.header(name);
      if (value != null) {
        headers.put(name, List.of(value));
      }
    }
    Request<?> request = parser.parse(SlackRequestParser.HttpRequest.builder()
        .requestUri(r.path())
        .queryString(Map.of())
        .headers(new RequestHeaders(headers))
        .requestBody(new String(body, java.nio.charset.StandardCharsets.UTF_8))
        .remoteAddress(r.remoteAddress())
        .build());
    if (request == null) {
      log.info("slack: {} {}: a signed request Bolt does not recognize; acknowledged", r.method(), r.path());
      return ApiResponse.status(200, null);
    }
    Response response = app.run(request);
    String contentType = response.getContentType() == null ? "text/plain" : response.getContentType();
    return new ApiResponse.Text(response.getStatusCode() == null ? 200 : response.getStatusCode(), contentType,
        response.getBody() == null ? "" : response.getBody());
  }

  // ---------------------------------------------------------------------------------------------
  // Handlers (HTTP and Socket Mode)

  private Response onMention(EventsApiPayload<AppMentionEvent> payload, EventContext ctx) {
    AppMentionEvent e = payload.getEvent();
    if (e.getBotId() != null || e.getSubtype() != null) {
      return ctx.ack(); // a bot's or an edited message: not a request
    }
    start("app_mention", payload.getEventId(), payload.getTeamId(), e.getChannel(), "channel", e.getUser(),
        e.getThreadTs() != null ? e.getThreadTs() : e.getTs(), e.getText(), ctx.getBotUserId());
    return ctx.ack();
  }

  private Response onMessage(EventsApiPayload<MessageEvent> payload, EventContext ctx) {
    MessageEvent e = payload.getEvent();
    // Only direct messages: in channels Worka answers mentions (app_mention), not every message.
    // Bots' messages (Worka's own answers among them) and edits are never requests.
    if (!"im".equals(e.getChannelType()) || e.getBotId() != null || e.getUser() == null
        || e.getUser().equals(ctx.getBotUserId())) {
      return ctx.ack();
    }
    start("direct_message", payload.getEventId(), payload.getTeamId(), e.getChannel(), "im", e.getUser(),
        e.getThreadTs() != null ? e.getThreadTs() : e.getTs(), e.getText(), ctx.getBotUserId());
    return ctx.ack();
  }

  private String onCommand(SlashCommandPayload p) {
    String text = p.getText() == null ? "" : p.getText().strip();
    if (text.isEmpty()) {
      return "Tell Worka what to do, e.g. `" + p.getCommand() + " summarize this thread` or `" + p.getCommand()
          + " open an issue in owner/repo titled \"…\"`.";
    }
    if (text.length() > MAX_TEXT) {
      return "That request is longer than " + MAX_TEXT + " characters; Worka did not start a run.";
    }
    String key = p.getTriggerId() != null ? "slack:command:" + p.getTriggerId() : null;
    Optional<RunService.Creation> creation = create("slash_command", key, p.getTeamId(), p.getChannelId(),
        p.getChannelId() != null && p.getChannelId().startsWith("D") ? "im" : "channel", p.getUserId(), null, text);
    return creation.map(c -> switch (c) {
      case RunService.Creation.Created created ->
          "Worka accepted this request as run `" + created.run().id() + "`; it will answer in this conversation.";
      case RunService.Creation.KeyConflict conflict ->
          "Worka could not start this request: its trigger was already used for another request.";
    }).orElse("Worka could not start this request; see the Gateway log.");
  }

  private void start(String kind, String eventId, String teamId, String channel, String channelType, String user,
      String threadTs, String rawText, String botUserId) {
    String text = requestText(rawText, botUserId);
    if (text.isEmpty()) {
      log.info("slack: {} {} in {} has no request text besides the mention; no run", kind, eventId, channel);
      return;
    }
    if (text.length() > MAX_TEXT) {
      log.warn("slack: {} {} in {} is longer than {} characters; no run", kind, eventId, channel, MAX_TEXT);
      return;
    }
    create(kind, eventId == null ? null : "slack:event:" + eventId, teamId, channel, channelType, user, threadTs, text);
  }

  private Optional<RunService.Creation> create(String kind, String key, String teamId, String channel,
      String channelType, String user, String threadTs, String text) {
    if (channel == null || user == null) {
      log.warn("slack: a {} without {}; no run", kind, channel == null ? "channel" : "user");
      return Optional.empty();
    }
    Map<String, Object> delivery = new LinkedHashMap<>();
    delivery.put("kind", kind);
    if (teamId != null) {
      delivery.put("team_id", teamId);
    }
    delivery.put("channel_type", channelType);
    RunService.Creation creation = runs.create(new RunService.Request("slack", text, user, channel, user, threadTs,
        Json.write(delivery), key));
    switch (creation) {
      case RunService.Creation.Created c when c.replayed() ->
          log.info("slack: {} {} was received again (a retry); it is run {}", kind, key, c.run().id());
      case RunService.Creation.Created c ->
          log.info("slack: {} from {} in {} became run {}", kind, user, channel, c.run().id());
      case RunService.Creation.KeyConflict c ->
          log.warn("slack: {} {} carries the key of run {} with another request; no new run", kind, key,
              c.existingRunId());
    }
    return Optional.of(creation);
  }

  private static final Pattern ANY_LEADING_MENTION = Pattern.compile("^\\s*<@[A-Z0-9]+(\\|[^>]*)?>");

  /**
   * The request in a Slack message's text: the bot's mention removed (every one, or when the bot's
   * user is unknown the leading mention), Slack's escapes of {@code & < >} undone, trimmed.
   */
  static String requestText(String text, String botUserId) {
    String t = text == null ? "" : text;
    if (botUserId != null && !botUserId.isBlank()) {
      t = t.replaceAll("<@" + Pattern.quote(botUserId) + "(\\|[^>]*)?>", " ");
    } else {
      t = ANY_LEADING_MENTION.matcher(t).replaceFirst(" ");
    }
    return t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip();
  }

  @Override
  public void close() {
    closed = true;
    Thread starter = socketModeStarter;
    if (starter != null) {
      starter.interrupt();
    }
    SocketModeApp s = socketMode;
    if (s != null) {
      try {
        s.close();
      } catch (Exception e) {
        log.debug("closing Slack Socket Mode: {}", e.toString());
      }
    }
    try {
      app.stop();
    } catch (RuntimeException e) {
      log.debug("stopping the Slack app: {}", e.toString());
    }
  }
}
