package dev.worka.gateway.ingress.slack;

import com.fasterxml.jackson.databind.JsonNode;
import com.slack.api.Slack;
import com.slack.api.app_backend.events.payload.EventsApiPayload;
import com.slack.api.app_backend.slash_commands.payload.SlashCommandPayload;
import com.slack.api.bolt.App;
import com.slack.api.bolt.AppConfig;
import com.slack.api.bolt.context.builtin.EventContext;
import com.slack.api.bolt.request.Request;
import com.slack.api.bolt.request.RequestHeaders;
import com.slack.api.bolt.request.builtin.EventRequest;
import com.slack.api.bolt.response.Response;
import com.slack.api.bolt.socket_mode.SocketModeApp;
import com.slack.api.bolt.util.SlackRequestParser;
import com.slack.api.methods.MethodsClient;
import com.slack.api.model.event.AppMentionEvent;
import com.slack.api.model.event.MessageEvent;
import com.slack.api.socket_mode.SocketModeClient;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.mediation.Approvals;
import dev.worka.gateway.policy.Requester;
import dev.worka.gateway.run.ReplyTo;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.telemetry.Tracing;
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
 * command sent here ({@code /worka}), and interactivity: the Approve/Deny buttons of Worka's
 * approval messages ({@link ApprovalClicks}); other buttons are acknowledged and logged.
 *
 * <p><b>Over HTTP</b> ({@code SLACK_SIGNING_SECRET}) the three request URLs {@link #EVENTS}, {@link
 * #COMMANDS} and {@link #INTERACTIVITY} are routes of the Gateway's own HTTP server: each checks
 * the request's signature ({@link SlackSignatureCheck}) over the raw body before anything else — a
 * request that fails is answered {@code 401} and leaves nothing but a log line — and then hands the
 * request to Bolt's {@link App#run}. <b>In Socket Mode</b> ({@code SLACK_APP_TOKEN}) the same
 * {@link App}, so the same handlers, is fed by Bolt's {@link SocketModeApp} over a WebSocket the
 * Gateway opens; there is no public URL and no signature (the connection is authenticated by the
 * app token).
 *
 * <p><b>A run per request, once.</b> Slack retries an event it got no {@code 200} for within three
 * seconds ({@code X-Slack-Retry-Num}, the same {@code event_id}); the run's idempotency key is
 * {@code slack:event:<event_id>} (a slash command's, {@code slack:command:<trigger_id>}), so a
 * retry finds the run the first delivery created. Creating the run is one short transaction (the
 * run and its start task); everything slow — planning, steps, answering — happens afterwards, so
 * Slack's acknowledgement goes out at once. The run's source is {@code slack}, its requester the
 * Slack user, its channel the conversation, its thread the event's {@code thread_ts} or else its
 * {@code ts} (where answers go), and its text the message with the bot's mention removed.
 *
 * <p><b>Who may ask</b> is the policy's {@code ingress.slack} (and its quotas), decided by the run
 * service on what the signed request says: the user, the conversation, and the workspace the user
 * belongs to — the event's {@code user_team} (else its {@code team}); for an event in a channel
 * shared with another organization ({@code is_ext_shared_channel}) that names neither, the
 * workspace is unknown and the request refused; otherwise the payload's {@code team_id}; a slash
 * command's {@code team_id}. Not the payload's {@code team_id} or {@code authorizations} in a
 * shared channel: those name the channel's host workspace and this app's installation, not the
 * user. Without {@code ingress.slack.teams} only this bot's own workspace ({@code auth.test}'s
 * {@code team_id}) may ask, so a Slack Connect user of another company is refused. A guest of the
 * workspace (Slack's {@code users.info}: {@code is_restricted}, {@code is_ultra_restricted}; see
 * {@link SlackGuests}) may ask only when {@code ingress.slack.users} lists it. A refused request
 * starts nothing; its requester gets one short answer only they see (the slash command's ephemeral
 * reply, or {@code chat.postEphemeral} for a mention or direct message), never the reason, which is
 * in the {@code run.create} deny gate and the log.
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
  private final Tracing tracing;

  /**
   * The HTTP request a handler runs for (Bolt runs event handlers on the request's thread): its
   * route and {@code traceparent}, continued by the run it starts. Unset in Socket Mode.
   */
  private static final ThreadLocal<HttpCaller> CALLER = new ThreadLocal<>();

  private record HttpCaller(String route, String traceparent) {}

  private final App app;
  private final SlackRequestParser parser;
  private final SlackSignatureCheck signatures;
  private final SlackGuests guests;
  private volatile Approvals approvals;
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
  public SlackIngress(
      RunService runs, Slack slack, String botToken, String signingSecret, InstantSource clock) {
    this(runs, slack, botToken, signingSecret, clock, Tracing.off());
  }

  /** As the other constructor, with its ingress spans ({@code tracing}). */
  public SlackIngress(
      RunService runs,
      Slack slack,
      String botToken,
      String signingSecret,
      InstantSource clock,
      Tracing tracing) {
    this.tracing = Objects.requireNonNull(tracing, "tracing");
    this.runs = Objects.requireNonNull(runs, "runs");
    Objects.requireNonNull(botToken, "botToken");
    this.signatures = signingSecret == null ? null : new SlackSignatureCheck(signingSecret, clock);
    this.guests = new SlackGuests(clock);
    // Every value is set here: AppConfig's defaults would read SLACK_* from the process
    // environment.
    AppConfig config =
        AppConfig.builder()
            .slack(slack)
            .singleTeamBotToken(botToken)
            .signingSecret(signingSecret)
            .requestVerificationEnabled(
                false) // SlackSignatureCheck ran before Bolt sees the request
            .sslCheckEnabled(false)
            .allEventsApiAutoAckEnabled(true) // events nobody handles are acknowledged, not retried
            .build();
    this.app = new App(config);
    this.parser = new SlackRequestParser(config);
    // The SDK's event models drop user_team (MessageEvent has none): read the requester's workspace
    // from the signed payload itself, for the handlers.
    app.use(
        (req, resp, chain) -> {
          if (req instanceof EventRequest e) {
            String team = requesterTeam(e.getRequestBodyAsString());
            if (team != null) {
              req.getContext().getAdditionalValues().put(REQUESTER_TEAM, team);
            }
          }
          return chain.next(req);
        });
    app.event(AppMentionEvent.class, this::onMention);
    app.event(MessageEvent.class, this::onMessage);
    Pattern any = Pattern.compile(".*");
    app.command(
        any,
        (req, ctx) -> {
          String answer = onCommand(req.getPayload(), botTeam(ctx), ctx.client());
          return ctx.ack(
              r -> r.responseType("ephemeral").text(answer)); // only the requester sees it
        });
    app.blockAction(
        any,
        (req, ctx) -> {
          var p = req.getPayload();
          List<String> ids =
              p.getActions() == null
                  ? List.of()
                  : p.getActions().stream().map(a -> a.getActionId()).toList();
          if (ApprovalClicks.concerns(ids)) {
            ApprovalClicks.Click click =
                ApprovalClicks.click(p, botTeam(ctx), ctx.client(), approvals);
            Thread.ofVirtual().name("slack-approval-click").start(click::decide);
            return ctx.ack();
          }
          log.info(
              "slack: button {} pressed by {} (acknowledged; Worka does not act on it)",
              ids,
              p.getUser() == null ? "?" : p.getUser().getId());
          return ctx.ack();
        });
    app.globalShortcut(
        any, (req, ctx) -> ignored("global shortcut", req.getPayload().getCallbackId(), ctx.ack()));
    app.messageShortcut(
        any,
        (req, ctx) -> ignored("message shortcut", req.getPayload().getCallbackId(), ctx.ack()));
    app.viewSubmission(
        any,
        (req, ctx) ->
            ignored("view submission", req.getPayload().getView().getCallbackId(), ctx.ack()));
    app.viewClosed(
        any,
        (req, ctx) ->
            ignored("view closed", req.getPayload().getView().getCallbackId(), ctx.ack()));
  }

  private static Response ignored(String what, String callbackId, Response ack) {
    log.info("slack: {} {} acknowledged (Worka does not act on it yet)", what, callbackId);
    return ack;
  }

  /**
   * Lets Approve/Deny clicks on Worka's approval messages decide through {@code approvals} (without
   * it a click is answered that approvals are not taken here).
   */
  public void decideApprovalsWith(Approvals approvals) {
    this.approvals = approvals;
  }

  /** Registers the HTTP request URLs (HTTP mode). */
  public void register(Router router) {
    if (signatures == null) {
      throw new IllegalStateException("HTTP routes need SLACK_SIGNING_SECRET");
    }
    for (String path : List.of(EVENTS, COMMANDS, INTERACTIVITY)) {
      router.addPublic(
          "POST", path, MAX_BODY, this::handle); // the internet reaches it: WORKA_INGRESS_PORT
    }
  }

  /**
   * Connects to Slack in Socket Mode with the app-level token, in the background: until it connects
   * (Slack unreachable, a wrong token) it tries again after a growing delay, saying why in the log;
   * once connected, the SDK keeps the connection up.
   */
  public void startSocketMode(String appToken) {
    Objects.requireNonNull(appToken, "appToken");
    socketModeStarter =
        Thread.ofVirtual()
            .name("slack-socket-mode")
            .start(
                () -> {
                  Duration delay = FIRST_RETRY;
                  while (!closed) {
                    try {
                      SocketModeApp socket =
                          new SocketModeApp(appToken, app, SocketModeClient.Backend.JavaWebSocket);
                      try {
                        socket.startAsync(); // auth.test, apps.connections.open, then the WebSocket
                      } catch (NullPointerException e) {
                        // The SDK logs why apps.connections.open failed and leaves no client
                        // behind.
                        throw new IllegalStateException(
                            "apps.connections.open failed (see the SDK's log line above)", e);
                      }
                      socketMode = socket;
                      if (closed) {
                        socket.close();
                        return;
                      }
                      log.info("slack: Socket Mode connection opened");
                      return;
                    } catch (Exception e) {
                      log.warn(
                          "slack: could not connect in Socket Mode ({}); trying again in {} s",
                          e.getMessage(),
                          delay.toSeconds());
                      try {
                        Thread.sleep(delay);
                      } catch (InterruptedException ie) {
                        return;
                      }
                      delay =
                          delay.multipliedBy(2).compareTo(MAX_RETRY) > 0
                              ? MAX_RETRY
                              : delay.multipliedBy(2);
                    }
                  }
                });
  }

  /** Whether Socket Mode is connected (tests, readiness). */
  boolean socketModeConnected() {
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
        log.warn(
            "slack: refused {} {} from {}: {}",
            r.method(),
            r.path(),
            r.remoteAddress(),
            refused.why());
        return ApiResponse.status(
            401,
            ErrorBody.of(
                ErrorCodes.SIGNATURE_INVALID,
                "the request's Slack signature is missing, stale or wrong"));
      }
      case SlackSignatureCheck.Verdict.Genuine genuine -> {}
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String name :
        List.of(
            "Content-Type",
            SlackSignatureCheck.TIMESTAMP,
            SlackSignatureCheck.SIGNATURE,
            "X-Slack-Retry-Num",
            "X-Slack-Retry-Reason")) {
      String value = r.header(name);
      if (value != null) {
        headers.put(name, List.of(value));
      }
    }
    Request<?> request =
        parser.parse(
            SlackRequestParser.HttpRequest.builder()
                .requestUri(r.path())
                .queryString(Map.of())
                .headers(new RequestHeaders(headers))
                .requestBody(new String(body, java.nio.charset.StandardCharsets.UTF_8))
                .remoteAddress(r.remoteAddress())
                .build());
    if (request == null) {
      log.info(
          "slack: {} {}: a signed request Bolt does not recognize; acknowledged",
          r.method(),
          r.path());
      return ApiResponse.status(200, null);
    }
    Response response;
    CALLER.set(new HttpCaller(r.method() + " " + r.path(), r.header("traceparent")));
    try {
      response = app.run(request);
    } finally {
      CALLER.remove();
    }
    String contentType =
        response.getContentType() == null ? "text/plain" : response.getContentType();
    return new ApiResponse.Text(
        response.getStatusCode() == null ? 200 : response.getStatusCode(),
        contentType,
        response.getBody() == null ? "" : response.getBody());
  }

  // ---------------------------------------------------------------------------------------------
  // Handlers (HTTP and Socket Mode)

  private Response onMention(EventsApiPayload<AppMentionEvent> payload, EventContext ctx) {
    AppMentionEvent e = payload.getEvent();
    if (e.getBotId() != null || e.getSubtype() != null) {
      return ctx.ack(); // a bot's or an edited message: not a request
    }
    start(
        ctx,
        "app_mention",
        payload.getEventId(),
        payload.getTeamId(),
        e.getChannel(),
        "channel",
        e.getUser(),
        e.getThreadTs() != null ? e.getThreadTs() : e.getTs(),
        e.getThreadTs(),
        e.getText());
    return ctx.ack();
  }

  private Response onMessage(EventsApiPayload<MessageEvent> payload, EventContext ctx) {
    MessageEvent e = payload.getEvent();
    // Only direct messages: in channels Worka answers mentions (app_mention), not every message.
    // Bots' messages (Worka's own answers among them) and edits are never requests.
    if (!"im".equals(e.getChannelType())
        || e.getBotId() != null
        || e.getUser() == null
        || e.getUser().equals(ctx.getBotUserId())) {
      return ctx.ack();
    }
    start(
        ctx,
        "direct_message",
        payload.getEventId(),
        payload.getTeamId(),
        e.getChannel(),
        "im",
        e.getUser(),
        e.getThreadTs() != null ? e.getThreadTs() : e.getTs(),
        e.getThreadTs(),
        e.getText());
    return ctx.ack();
  }

  private String onCommand(SlashCommandPayload p, String botTeam, MethodsClient client) {
    String text = p.getText() == null ? "" : p.getText().strip();
    if (text.isEmpty()) {
      return "Tell Worka what to do, e.g. `"
          + p.getCommand()
          + " summarize this thread` or `"
          + p.getCommand()
          + " open an issue in owner/repo titled \"…\"`.";
    }
    if (text.length() > MAX_TEXT) {
      return "That request is longer than " + MAX_TEXT + " characters; Worka did not start a run.";
    }
    String key = p.getTriggerId() != null ? "slack:command:" + p.getTriggerId() : null;
    // A command's team_id is the workspace it was typed in: the user's (Slack offers an app's
    // commands only to users of a workspace it is installed in).
    Optional<RunService.Creation> creation =
        create(
            client,
            "slash_command",
            key,
            p.getTeamId(),
            p.getTeamId(),
            botTeam,
            p.getChannelId(),
            p.getChannelId() != null && p.getChannelId().startsWith("D") ? "im" : "channel",
            p.getUserId(),
            null,
            text);
    return creation
        .map(
            c ->
                switch (c) {
                  case RunService.Creation.Created created ->
                      "Worka accepted this request as run `"
                          + created.run().id()
                          + "`; it will answer in this conversation.";
                  case RunService.Creation.KeyConflict conflict ->
                      "Worka could not start this request: its trigger was already used for another request.";
                  case RunService.Creation.Denied denied -> refusalAnswer(denied);
                  case RunService.Creation.OverQuota over -> refusalAnswer(over);
                })
        .orElse("Worka could not start this request; see the Gateway log.");
  }

  private void start(
      EventContext ctx,
      String kind,
      String eventId,
      String teamId,
      String channel,
      String channelType,
      String user,
      String threadTs,
      String askedInThread,
      String rawText) {
    String text = requestText(rawText, ctx.getBotUserId());
    if (text.isEmpty()) {
      log.info(
          "slack: {} {} in {} has no request text besides the mention; no run",
          kind,
          eventId,
          channel);
      return;
    }
    if (text.length() > MAX_TEXT) {
      log.warn(
          "slack: {} {} in {} is longer than {} characters; no run",
          kind,
          eventId,
          channel,
          MAX_TEXT);
      return;
    }
    Optional<RunService.Creation> creation =
        create(
            ctx.client(),
            kind,
            eventId == null ? null : "slack:event:" + eventId,
            teamId,
            ctx.getAdditionalValues().get(REQUESTER_TEAM),
            botTeam(ctx),
            channel,
            channelType,
            user,
            threadTs,
            text);
    // A refusal is answered once, to the requester only; a retry of the same event is not answered
    // again.
    creation.ifPresent(
        c -> {
          switch (c) {
            case RunService.Creation.Denied d when !d.replayed() ->
                answerPrivately(ctx, channel, user, askedInThread, refusalAnswer(d));
            case RunService.Creation.OverQuota o when !o.replayed() ->
                answerPrivately(ctx, channel, user, askedInThread, refusalAnswer(o));
            default -> {} // a run (acknowledged in its thread by the notification loop), or
              // answered before
          }
        });
  }

  /*
   * What a refused requester is told: one short sentence, never the reason (which names the policy's
   * keys, workspaces and counts; it is in the gate). The slash command and the events share it.
   */

  static String refusalAnswer(RunService.Creation.Denied denied) {
    return "Worka does not take requests from you here, so it started nothing. If you think it should, ask"
        + " the people who run Worka for your team.";
  }

  static String refusalAnswer(RunService.Creation.OverQuota over) {
    return over.retryAfter()
        .map(
            wait -> {
              long minutes = Math.max(1, (wait.toSeconds() + 59) / 60);
              return "You have asked Worka for as many runs as it takes from one person in an hour; it started"
                  + " nothing. Try again in about "
                  + minutes
                  + " minute"
                  + (minutes > 1 ? "s" : "")
                  + ".";
            })
        .orElse(
            "You already have as many Worka runs under way as it takes from one person; it started nothing."
                + " Try again when one of them has finished.");
  }

  /**
   * Posts {@code text} visible to {@code user} only (chat.postEphemeral), off the acknowledging
   * thread.
   */
  private static void answerPrivately(
      EventContext ctx, String channel, String user, String threadTs, String text) {
    Thread.ofVirtual()
        .name("slack-refusal-answer")
        .start(
            () -> {
              try {
                var answer =
                    ctx.client()
                        .chatPostEphemeral(
                            r -> r.channel(channel).user(user).threadTs(threadTs).text(text));
                if (!answer.isOk()) {
                  log.warn(
                      "slack: could not tell {} in {} that the request was refused: {}",
                      user,
                      channel,
                      answer.getError());
                }
              } catch (Exception e) {
                log.warn(
                    "slack: could not tell {} in {} that the request was refused: {}",
                    user,
                    channel,
                    e.toString());
              }
            });
  }

  /**
   * @param teamId the payload's team_id (kept in the delivery context)
   * @param userTeam the workspace the requesting user belongs to, null when the request does not
   *     say
   * @param botTeam this bot's workspace (auth.test), null when unknown
   */
  private Optional<RunService.Creation> create(
      MethodsClient client,
      String kind,
      String key,
      String teamId,
      String userTeam,
      String botTeam,
      String channel,
      String channelType,
      String user,
      String threadTs,
      String text) {
    if (channel == null || user == null) {
      log.warn("slack: a {} without {}; no run", kind, channel == null ? "channel" : "user");
      return Optional.empty();
    }
    SlackGuests.Guest guest = guests.lookup(client, user);
    if (guest.guest() == null) {
      log.warn(
          "slack: could not tell whether {} is a guest of the workspace ({}); the request is refused",
          user,
          guest.why());
    }
    HttpCaller caller = CALLER.get();
    String traceparent = caller == null ? null : caller.traceparent();
    RunService.Creation creation =
        runs.create(
            new RunService.Request(
                RunSource.SLACK,
                text,
                user,
                new ReplyTo.SlackThread(
                    channel, user, threadTs, kind, teamId, userTeam, channelType),
                key,
                Tracing.traceIdOf(traceparent).orElse(null),
                new Requester.SlackUser(user, userTeam, botTeam, channel, guest.guest())));
    if (creation instanceof RunService.Creation.Created c) {
      tracing.ingress(
          caller == null ? "slack socket mode" : caller.route(),
          RunSource.SLACK.sql(),
          null,
          traceparent,
          c.run().traceId(),
          c.run().id(),
          !c.replayed());
    }
    switch (creation) {
      case RunService.Creation.Created c when c.replayed() ->
          log.info(
              "slack: {} {} was received again (a retry); it is run {}", kind, key, c.run().id());
      case RunService.Creation.Created c ->
          log.info("slack: {} from {} in {} became run {}", kind, user, channel, c.run().id());
      case RunService.Creation.KeyConflict c ->
          log.warn(
              "slack: {} {} carries the key of run {} with another request; no new run",
              kind,
              key,
              c.existingRunId());
      case RunService.Creation.Denied d ->
          log.info(
              "slack: {} {} from {} (workspace {}) in {} {}: no run, gate {}: {}",
              kind,
              key,
              user,
              userTeam,
              channel,
              d.replayed() ? "was refused before" : "refused",
              d.gateId(),
              d.reason());
      case RunService.Creation.OverQuota o ->
          log.info(
              "slack: {} {} from {} in {} {}: no run, gate {}: {}",
              kind,
              key,
              user,
              channel,
              o.replayed() ? "was refused before" : "over quota",
              o.gateId(),
              o.reason());
    }
    return Optional.of(creation);
  }

  /** The context key under which the middleware leaves the requesting user's workspace. */
  private static final String REQUESTER_TEAM = "worka.requester_team";

  /**
   * The workspace the user who caused an Events API callback belongs to, from its signed JSON: the
   * event's {@code user_team}, else its {@code team}; else, unless the channel is shared with
   * another organization ({@code is_ext_shared_channel}; then null: unknown), the callback's {@code
   * team_id}. Null for a body that is not such a callback.
   */
  static String requesterTeam(String callbackJson) {
    JsonNode root;
    try {
      root = Json.STRICT.readTree(callbackJson);
    } catch (Exception e) {
      return null;
    }
    if (root == null || !root.isObject()) {
      return null;
    }
    JsonNode event = root.path("event");
    for (String field : List.of("user_team", "team")) {
      JsonNode v = event.path(field);
      if (v.isTextual() && !v.asText().isBlank()) {
        return v.asText();
      }
    }
    if (root.path("is_ext_shared_channel").asBoolean(false)) {
      return null;
    }
    JsonNode team = root.path("team_id");
    return team.isTextual() && !team.asText().isBlank() ? team.asText() : null;
  }

  /** This bot's own workspace: auth.test's team_id, which Bolt looked up for the request. */
  private static String botTeam(com.slack.api.bolt.context.Context ctx) {
    return ctx.getAuthTestResponse() != null ? ctx.getAuthTestResponse().getTeamId() : null;
  }

  private static final Pattern ANY_LEADING_MENTION =
      Pattern.compile("^\\s*<@[A-Z0-9]+(\\|[^>]*)?>");

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
