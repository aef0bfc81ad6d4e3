package dev.worka.gateway.ingress.github;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.mediation.Approvals;
import dev.worka.gateway.policy.Requester;
import dev.worka.gateway.run.ReplyTo;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.telemetry.SpanIds;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /github/webhook}: GitHub's deliveries. The {@code X-Hub-Signature-256} HMAC of the
 * raw body is checked first (constant-time) — a missing or wrong one is {@code 401} and leaves
 * nothing but a log line. {@code ping} is answered. A new issue or pull-request comment (also a
 * review comment) that mentions Worka's handle ({@code @worka} by default) starts a run with the
 * rest of the comment as its request; its answer is posted back as comments on the same issue (see
 * {@code delivery.github.GithubNotifier}).
 *
 * <p><b>Who may ask</b> is the policy's {@code ingress.github} (and its quotas), decided by the run
 * service from the signed body: the comment author's {@code author_association} on the repository
 * ({@code OWNER}, {@code MEMBER}, {@code COLLABORATOR} by default) and the repository. A refused
 * comment starts nothing and gets no public answer — a stranger cannot make Worka post — only a log
 * line, a {@code run.create} deny gate and a {@code 202} to GitHub naming the refusal and its gate
 * (what the webhook's admins see in its delivery log).
 *
 * <p><b>A comment is one run however often it is delivered.</b> The run's idempotency key is the
 * comment's id from the signed body ({@code github:issue_comment:<id>}, {@code
 * github:pull_request_review_comment:<id>}), not the unsigned {@code X-GitHub-Delivery} header: a
 * redelivery (the same delivery id) and a captured delivery replayed with a new delivery id both
 * find the run (or the refusal) the first one made. The delivery id is kept in the run's delivery
 * context and the log. The run continues the trace this delivery started: an incoming {@code
 * traceparent} header's trace id, or a new one, returned as {@code trace_id}. Everything else is
 * acknowledged and ignored, saying why.
 *
 * <p><b>Approvals.</b> A new issue comment whose first line is {@code /worka approve ID} or {@code
 * /worka deny ID [reason]} decides approval request {@code ID} for {@code
 * github:<comment.user.login>} of the signed delivery — only when the request belongs to the run
 * that came from this very issue (a command on any other issue decides nothing, records nothing, is
 * answered nowhere), and through {@code mediation.Approvals} like the operator API: only the
 * request's named approvers count (anyone else's is an {@code approval.decide} deny gate and
 * nothing more, with no public answer), a second decision and one after expiry change nothing.
 * Bots, Worka's own comments and edited comments never decide. How the request ended is told on the
 * issue by the notification loop ({@code delivery.github.GithubNotifier#approvalOutcome}), not from
 * here.
 */
public final class GithubWebhook {
  private static final Logger log = LoggerFactory.getLogger(GithubWebhook.class);
  static final String PATH = "/github/webhook";
  private static final long MAX_BODY = 2 * 1024 * 1024;
  private static final Pattern TRACEPARENT =
      Pattern.compile("00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}");
  private static final Pattern DELIVERY = Pattern.compile("[A-Za-z0-9-]{1,100}");

  /**
   * What the Gateway's own comments carry (see the notifier): never answered, so Worka never talks
   * to itself.
   */
  private static final String OWN_MARKER = "worka-invocation:";

  private static final int MAX_TEXT = 4000;

  /**
   * An approver's decision: a comment whose first line is {@code /worka approve ID} or {@code
   * /worka deny ID [reason]}.
   */
  private static final Pattern COMMAND =
      Pattern.compile(
          "/worka[ \\t]+(approve|deny)[ \\t]+([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
              + "-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?:[ \\t]+(.*))?",
          Pattern.CASE_INSENSITIVE);

  /** A GitHub login (a user: bots end in {@code [bot]} and are never deciders). */
  private static final Pattern LOGIN = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})");

  private volatile Approvals approvals;

  private final RunService runs;
  private final Tracing tracing;
  private final SecretKeySpec secret;
  private final String handle;
  private final Pattern mention;

  /**
   * @param secret {@code GITHUB_WEBHOOK_SECRET}: what the deliveries' signatures are checked with
   * @param handle {@code WORKA_GITHUB_HANDLE}: the login (without {@code @}) a comment mentions to
   *     start a run; checked to be a GitHub login by {@code config.GithubSettings}
   */
  public GithubWebhook(RunService runs, String secret, String handle) {
    this(runs, secret, handle, Tracing.off());
  }

  /**
   * As {@link #GithubWebhook(RunService, String, String)}, with its ingress spans ({@code
   * tracing}).
   */
  public GithubWebhook(RunService runs, String secret, String handle, Tracing tracing) {
    this.tracing = tracing;
    this.runs = runs;
    this.secret = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    this.handle = handle;
    this.mention =
        Pattern.compile(
            "(?<![A-Za-z0-9_/@.-])@" + Pattern.quote(handle) + "(?![A-Za-z0-9_-])",
            Pattern.CASE_INSENSITIVE);
  }

  /**
   * Takes approval decisions from comments ({@code /worka approve ID}, {@code /worka deny ID
   * [reason]}) through {@code approvals} (docs/approvals.md); without it such comments are ignored.
   */
  public void decideApprovalsWith(Approvals approvals) {
    this.approvals = approvals;
  }

  public void register(Router router) {
    router.addPublic(
        "POST", PATH, MAX_BODY, this::handle); // the internet reaches it: WORKA_INGRESS_PORT
  }

  public String handle() {
    return handle;
  }

  private ApiResponse handle(ApiRequest r) {
    String delivery = r.header("X-GitHub-Delivery");
    String event = r.header("X-GitHub-Event");
    if (!signed(r.body(), r.header("X-Hub-Signature-256"))) {
      log.warn(
          "GitHub delivery {} ({}) from {} refused: missing or wrong X-Hub-Signature-256",
          clip(delivery),
          clip(event),
          r.remoteAddress());
      throw new ApiException(
          401,
          ErrorCodes.SIGNATURE_INVALID,
          "X-Hub-Signature-256 is missing or does not match: check that GITHUB_WEBHOOK_SECRET equals the"
              + " webhook's secret on GitHub");
    }
    if (delivery == null
        || !DELIVERY.matcher(delivery).matches()
        || event == null
        || event.isBlank()) {
      throw new ApiException(
          400, ErrorCodes.INVALID_BODY, "X-GitHub-Delivery and X-GitHub-Event are required");
    }
    JsonNode body;
    try {
      body = Json.STRICT.readTree(r.bodyText());
    } catch (Exception e) {
      throw new ApiException(400, ErrorCodes.INVALID_BODY, "the delivery is not JSON");
    }
    if (event.equals("ping")) {
      return ApiResponse.ok(Map.of("pong", true, "handle", handle));
    }
    Optional<Comment> comment = comment(event, body);
    if (comment.isEmpty()) {
      return ignored(delivery, event, "not a new issue or pull-request comment");
    }
    Comment c = comment.get();
    if ("Bot".equalsIgnoreCase(c.authorType()) || c.body().contains(OWN_MARKER)) {
      return ignored(delivery, event, "written by a bot or by Worka itself");
    }
    Matcher command = COMMAND.matcher(firstLine(c.body()));
    if (command.matches()) {
      return decide(delivery, event, c, command);
    }
    Matcher m = mention.matcher(c.body());
    if (!m.find()) {
      return ignored(delivery, event, "it does not mention @" + handle);
    }
    String text = mention.matcher(c.body()).replaceAll("").replaceAll("\\s+", " ").strip();
    if (text.isEmpty()) {
      return ignored(delivery, event, "it mentions @" + handle + " but asks nothing");
    }
    if (text.length() > MAX_TEXT) {
      text = text.substring(0, MAX_TEXT);
    }
    if (c.author() == null || c.author().isBlank()) {
      return ignored(delivery, event, "the comment names no author");
    }
    String traceId = traceId(r.header("traceparent"));
    String repository = c.owner() + "/" + c.repo();
    RunService.Creation creation =
        runs.create(
            new RunService.Request(
                RunSource.GITHUB,
                text,
                c.author(),
                new ReplyTo.GithubIssue(c.owner(), c.repo(), c.number(), c.url(), delivery),
                "github:" + event + ":" + c.id(),
                traceId,
                new Requester.GithubCommenter(c.author(), c.authorAssociation(), repository)));
    return switch (creation) {
      case RunService.Creation.Created created -> {
        tracing.ingress(
            "POST /github/webhook",
            RunSource.GITHUB.sql(),
            null,
            r.header("traceparent"),
            created.run().traceId(),
            created.run().id(),
            !created.replayed());
        log.info(
            "GitHub delivery {} ({} by {} on {}/{}#{}) {} run {} (trace {})",
            delivery,
            event,
            c.author(),
            c.owner(),
            c.repo(),
            c.number(),
            created.replayed() ? "repeats" : "started",
            created.run().id(),
            created.run().traceId());
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("run_id", created.run().id().toString());
        answer.put("trace_id", created.run().traceId());
        answer.put("replayed", created.replayed());
        yield ApiResponse.withHeader(
            202,
            answer,
            "traceparent",
            SpanIds.traceparent(created.run().traceId(), SpanIds.run(created.run().id())));
      }
      case RunService.Creation.KeyConflict conflict ->
          throw new ApiException(
              409,
              ErrorCodes.IDEMPOTENCY_CONFLICT,
              "comment "
                  + c.id()
                  + " was seen before with another request (run "
                  + conflict.existingRunId()
                  + ")");
      // Refused: nothing public (a stranger must not be able to make Worka post); the log and the
      // gate.
      case RunService.Creation.Denied denied ->
          refused(
              delivery,
              event,
              c,
              ErrorCodes.INGRESS_DENIED,
              denied.gateId(),
              denied.reason(),
              denied.replayed());
      case RunService.Creation.OverQuota over ->
          refused(
              delivery,
              event,
              c,
              ErrorCodes.QUOTA_EXCEEDED,
              over.gateId(),
              over.reason(),
              over.replayed());
    };
  }

  /**
   * Decides approval request {@code command} names, for the comment's author — the verified
   * delivery's {@code comment.user.login}, never the comment's text — when the request was asked on
   * the issue this comment is on (the issue its run came from). Anything else decides nothing.
   */
  private ApiResponse decide(String delivery, String event, Comment c, Matcher command) {
    if (approvals == null) {
      return ignored(delivery, event, "this Gateway takes no approval decisions from GitHub");
    }
    if (!event.equals("issue_comment")) {
      return ignored(
          delivery, event, "approval decisions are taken from issue comments only, not " + event);
    }
    if (c.author() == null || !LOGIN.matcher(c.author()).matches()) {
      return ignored(delivery, event, "the comment names no GitHub login");
    }
    UUID id = UUID.fromString(command.group(2).toLowerCase(Locale.ROOT));
    boolean approve = command.group(1).equalsIgnoreCase("approve");
    String where = c.owner() + "/" + c.repo() + "#" + c.number();
    Optional<Run> run = approvals.find(id).flatMap(a -> approvals.run(a.runId()));
    if (run.isEmpty() || !askedOn(run.get(), c)) {
      // Unknown here, or asked elsewhere: no decision, no gate, no public answer (a stranger cannot
      // make Worka post) — the log and the delivery's answer in GitHub's delivery log.
      log.warn(
          "GitHub delivery {} ({} by {} on {}): /worka {} {} refused: not an approval asked on"
              + " this issue",
          delivery,
          event,
          c.author(),
          where,
          command.group(1),
          id);
      Map<String, Object> answer = new LinkedHashMap<>();
      answer.put("refused", "approval_not_asked_here");
      answer.put(
          "reason",
          "approval "
              + id
              + " was not asked on "
              + where
              + ": an approval is decided only on the issue of its own run");
      return ApiResponse.status(202, answer);
    }
    String identity = "github:" + c.author();
    String said = command.group(3) == null ? "" : command.group(3).strip();
    Approvals.Decided decided =
        approve
            ? approvals.approve(id, identity)
            : approvals.deny(
                id,
                identity,
                "on GitHub (comment "
                    + c.id()
                    + " on "
                    + where
                    + ")"
                    + (said.isEmpty() ? "" : ": " + said));
    String outcome =
        switch (decided) {
          case Approvals.Decided.Approved a -> "approved";
          case Approvals.Decided.Denied d -> "denied";
          case Approvals.Decided.Expired e -> "expired";
          case Approvals.Decided.AlreadyDecided a -> "already_" + a.approval().status();
          case Approvals.Decided.NotAnApprover n -> "not_an_approver";
          case Approvals.Decided.NotFound n -> "not_found";
          case Approvals.Decided.StepNotWaiting s -> "step_not_waiting";
        };
    log.info(
        "GitHub delivery {} ({} by {} on {}): /worka {} {}: {}",
        delivery,
        event,
        c.author(),
        where,
        command.group(1),
        id,
        outcome);
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("approval_id", id.toString());
    answer.put("decider", identity);
    answer.put("outcome", outcome);
    switch (decided) {
      case Approvals.Decided.NotAnApprover n -> answer.put("gate_id", n.gate().id().toString());
      case Approvals.Decided.Denied d -> answer.put("gate_id", d.gate().id().toString());
      default -> {}
    }
    return ApiResponse.status(202, answer);
  }

  /** Whether {@code run} came from the issue (or pull request) {@code c} is on. */
  private static boolean askedOn(Run run, Comment c) {
    if (run.source() != RunSource.GITHUB || run.deliveryJson() == null) {
      return false;
    }
    JsonNode target;
    try {
      target = Json.parse(run.deliveryJson());
    } catch (RuntimeException e) {
      return false;
    }
    return target.path("owner").asText("").equalsIgnoreCase(c.owner())
        && target.path("repo").asText("").equalsIgnoreCase(c.repo())
        && target.path("issue_number").canConvertToLong()
        && target.path("issue_number").asLong() == c.number();
  }

  private static String firstLine(String body) {
    String b = body.strip();
    int end = b.indexOf('\n');
    return (end < 0 ? b : b.substring(0, end)).strip();
  }

  private static ApiResponse refused(
      String delivery,
      String event,
      Comment c,
      String code,
      java.util.UUID gateId,
      String reason,
      boolean replayed) {
    log.info(
        "GitHub delivery {} ({} by {} on {}/{}#{}) {}: no run, gate {}: {}",
        delivery,
        event,
        c.author(),
        c.owner(),
        c.repo(),
        c.number(),
        replayed ? "was refused before" : "refused",
        gateId,
        reason);
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("refused", code);
    answer.put("gate_id", gateId.toString());
    answer.put("replayed", replayed);
    return ApiResponse.status(202, answer);
  }

  /**
   * A comment that may be a request: its id, where it is, who wrote it (login, account type, and
   * association with the repository — null when the delivery has none), what it says.
   */
  record Comment(
      long id,
      String owner,
      String repo,
      long number,
      String author,
      String authorType,
      String authorAssociation,
      String body,
      String url) {}

  static Optional<Comment> comment(String event, JsonNode body) {
    if (!body.path("action").asText().equals("created")) {
      return Optional.empty();
    }
    JsonNode target =
        switch (event) {
          case "issue_comment" -> body.path("issue");
          case "pull_request_review_comment" -> body.path("pull_request");
          default -> null;
        };
    JsonNode comment = body.path("comment");
    JsonNode repository = body.path("repository");
    if (target == null
        || !target.path("number").canConvertToLong()
        || !comment.path("body").isTextual()
        || !comment.path("id").isIntegralNumber()
        || !comment.path("id").canConvertToLong()
        || !repository.path("name").isTextual()
        || !repository.path("owner").path("login").isTextual()) {
      return Optional.empty();
    }
    return Optional.of(
        new Comment(
            comment.path("id").asLong(),
            repository.path("owner").path("login").asText(),
            repository.path("name").asText(),
            target.path("number").asLong(),
            comment.path("user").path("login").asText(null),
            comment.path("user").path("type").asText(""),
            comment.path("author_association").isTextual()
                ? comment.path("author_association").asText()
                : null,
            comment.path("body").asText(),
            comment.path("html_url").asText(null)));
  }

  private boolean signed(byte[] body, String header) {
    if (header == null || !header.startsWith("sha256=")) {
      return false;
    }
    byte[] claimed;
    try {
      claimed = HexFormat.of().parseHex(header.substring(7).strip());
    } catch (IllegalArgumentException e) {
      return false;
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(secret);
      return MessageDigest.isEqual(mac.doFinal(body), claimed);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HMAC-SHA256 is not available", e);
    }
  }

  private static String traceId(String traceparent) {
    if (traceparent != null) {
      Matcher m = TRACEPARENT.matcher(traceparent.strip());
      if (m.matches() && RunService.isTraceId(m.group(1))) {
        return m.group(1);
      }
    }
    return RunService.newTraceId();
  }

  private static ApiResponse ignored(String delivery, String event, String why) {
    log.info("GitHub delivery {} ({}) ignored: {}", delivery, event, why);
    return ApiResponse.status(202, Map.of("ignored", why));
  }

  private static String clip(String s) {
    return s == null
        ? null
        : s.length() > 100 ? s.substring(0, 100) + "…" : s.replaceAll("[\\p{Cntrl}]", "?");
  }
}
