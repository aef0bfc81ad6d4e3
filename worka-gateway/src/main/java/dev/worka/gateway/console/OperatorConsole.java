package dev.worka.gateway.console;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.eval.EvalStore;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The operator console at {@code /console}: its page and static files, sign-in and sign-out, and
 * the operator API for the signed-in browser.
 *
 * <p>Who may do what:
 *
 * <ul>
 *   <li>{@code POST /console/api/session} with {@code {"token": OPERATOR_TOKEN}} signs in: the
 *       token is compared (in constant time, a bounded number of wrong tries per address) and
 *       forgotten; the browser gets a random session id in an {@code HttpOnly}, {@code
 *       SameSite=Strict} cookie ({@code Secure} over TLS) and a CSRF token in the answer, kept in
 *       the page's memory only.
 *   <li>{@code /console/api/v1/...} answers as {@code /v1/...} would to the operator — the same
 *       route is called with the operator's credential — but only with a live session's cookie,
 *       only for the routes in {@link #FORWARDED}, and a change ({@code POST}) only with the
 *       session's CSRF token in {@value #CSRF_HEADER}. A bearer token (the operator's or a step's)
 *       means nothing here, and the cookie means nothing on {@code /v1}.
 *   <li>A request another site's page makes ({@code Sec-Fetch-Site: cross-site}/{@code same-site},
 *       or an {@code Origin} that is not this one) is refused before anything else.
 *   <li>Every console answer forbids framing and inline scripts and styles ({@link #HEADERS}).
 * </ul>
 */
public final class OperatorConsole {
  /** The session cookie's name. */
  static final String COOKIE = "worka_console";

  /** The header a change carries the session's CSRF token in. */
  static final String CSRF_HEADER = "X-Worka-CSRF";

  /** The security headers of every console answer. */
  static final Map<String, String> HEADERS =
      Map.of(
          "Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
              + " connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
          "X-Frame-Options",
          "DENY",
          "Referrer-Policy",
          "no-referrer",
          "Cross-Origin-Opener-Policy",
          "same-origin",
          "Cross-Origin-Resource-Policy",
          "same-origin",
          "Permissions-Policy",
          "camera=(), microphone=(), geolocation=()");

  /** The operator API routes the console forwards: {@code METHOD} and the path under /v1/. */
  static final List<Forwarded> FORWARDED =
      List.of(
          new Forwarded("GET", "runs"),
          new Forwarded("POST", "runs"),
          new Forwarded("GET", "runs/ID"),
          new Forwarded("GET", "runs/ID/events"),
          new Forwarded("POST", "runs/ID/cancel"),
          new Forwarded("GET", "gates"),
          new Forwarded("GET", "skills"),
          new Forwarded("GET", "policy"),
          new Forwarded("POST", "policy/replay"),
          new Forwarded("GET", "audit/verify"),
          new Forwarded("GET", "approvals"),
          new Forwarded("POST", "approvals/ID/approve"),
          new Forwarded("POST", "approvals/ID/deny"));

  /** One forwarded route: {@code ID} in its path stands for one id segment. */
  record Forwarded(String method, String path) {
    boolean matches(String method, String rest) {
      return this.method.equals(method)
          && Pattern.matches(path.replace("ID", "[A-Za-z0-9-]{1,100}"), rest);
    }
  }

  private static final int MAX_SIGN_IN_BODY = 4 * 1024;

  private final byte[] tokenDigest;
  private final String operatorAuthorization;
  private final ConsoleSessions sessions;
  private final SignInLimiter limiter;
  private final ConsoleAssets assets = new ConsoleAssets();
  private final Router router;
  private final Optional<UnaryOperator<String>> traceLink;
  private final PolicyStore policies;
  private final BiFunction<CompiledPolicy, CompiledPolicy, List<String>> policyDiff;
  private final DataSource dataSource;

  /** The eval suite policy replays are recorded under ({@code mediation.ReplayPolicy.SUITE}). */
  static final String REPLAY_SUITE = "policy-replay";

  /** The most replays the policy page lists, and examples of each change per replay. */
  static final int MAX_REPLAYS = 10;

  static final int REPLAY_EXAMPLES = 5;

  /**
   * @param router the router whose {@code /v1} routes the console forwards to (the one it is
   *     registered on)
   * @param traceLink where a person sees a trace, from its id (Langfuse), if tracing goes there
   * @param policies the stored policy versions, which the operator API does not list
   * @param policyDiff what changes between two policies, one line each ({@code worka policy
   *     check}'s diff)
   */
  public OperatorConsole(
      DataSource dataSource,
      String operatorToken,
      Router router,
      InstantSource clock,
      Optional<UnaryOperator<String>> traceLink,
      PolicyStore policies,
      BiFunction<CompiledPolicy, CompiledPolicy, List<String>> policyDiff) {
    this.policies = policies;
    this.policyDiff = policyDiff;
    this.dataSource = dataSource;
    this.tokenDigest = sha256(operatorToken);
    this.operatorAuthorization = "Bearer " + operatorToken;
    this.sessions = new ConsoleSessions(dataSource, clock);
    this.limiter = new SignInLimiter(clock);
    this.router = router;
    this.traceLink = traceLink;
  }

  public void register(Router on) {
    on.add("GET", "/console", r -> page(r, "index.html"));
    on.add("GET", "/console/static/{file}", r -> page(r, r.pathVariable("file")));
    on.add("GET", "/console/api/session", this::session);
    on.add("POST", "/console/api/session", MAX_SIGN_IN_BODY, this::signIn);
    on.add("DELETE", "/console/api/session", this::signOut);
    on.add("GET", "/console/api/policy/versions", this::policyVersions);
    on.add("GET", "/console/api/policy/diff", this::policyDiff);
    on.add("GET", "/console/api/policy/replays", this::policyReplays);
    on.add("GET", "/console/api/v1/{path*}", this::forward);
    on.add("POST", "/console/api/v1/{path*}", 1024 * 1024, this::forward);
  }

  private ApiResponse page(ApiRequest r, String name) {
    ConsoleAssets.Asset asset =
        assets
            .get(name)
            .orElseThrow(() -> refused(404, ErrorCodes.NOT_FOUND, "no console file " + name));
    Map<String, String> headers = new LinkedHashMap<>(HEADERS);
    headers.put("Cache-Control", "no-cache");
    headers.put("ETag", asset.etag());
    String match = r.header("If-None-Match");
    if (match != null && match.contains(asset.etag())) {
      return new ApiResponse.Bytes(304, asset.contentType(), new byte[0], headers);
    }
    return new ApiResponse.Bytes(200, asset.contentType(), asset.bytes(), headers);
  }

  /** The signed-in session: its CSRF token, when it ends, and where traces are seen. */
  private ApiResponse session(ApiRequest r) {
    sameOrigin(r);
    ConsoleSessions.Session s = signedIn(r);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("csrf_token", s.csrfToken());
    body.put("expires_at", s.expiresAt().toString());
    body.put("trace_link", traceLink.map(link -> link.apply("{trace_id}")).orElse(null));
    return new ApiResponse.Json(200, body, HEADERS);
  }

  private ApiResponse signIn(ApiRequest r) {
    sameOrigin(r);
    String address = r.remoteAddress();
    Optional<Duration> wait = limiter.wait(address);
    if (wait.isPresent()) {
      long seconds = Math.max(1, wait.get().toSeconds());
      throw new ApiException(
          429,
          ErrorBody.of(
              ErrorCodes.TOO_MANY_REQUESTS,
              "too many wrong operator tokens from this address; try again in " + seconds + " s"),
          merged(Map.of("Retry-After", Long.toString(seconds))));
    }
    r.requireJson();
    JsonNode body;
    try {
      body = Json.STRICT.readTree(r.bodyText());
    } catch (JsonProcessingException e) {
      body = null;
    }
    JsonNode token = body == null ? null : body.get("token");
    if (token == null || !token.isTextual()) {
      throw refused(
          422, ErrorCodes.INVALID_BODY, "send {\"token\": \"<the operator token>\"} as JSON");
    }
    if (!MessageDigest.isEqual(sha256(token.asText().strip()), tokenDigest)) {
      limiter.failed(address);
      throw refused(
          401,
          ErrorCodes.UNAUTHORIZED,
          "the operator token is not valid (see WORKA_OPERATOR_TOKEN or the operator-token file"
              + " under WORKA_HOME)");
    }
    ConsoleSessions.Session s = sessions.start();
    Map<String, String> headers = new LinkedHashMap<>(HEADERS);
    headers.put(
        "Set-Cookie",
        COOKIE
            + "="
            + s.id()
            + "; Path=/console; HttpOnly; SameSite=Strict; Max-Age="
            + ConsoleSessions.LIFETIME.toSeconds()
            + (r.secure() ? "; Secure" : ""));
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("csrf_token", s.csrfToken());
    answer.put("expires_at", s.expiresAt().toString());
    answer.put("trace_link", traceLink.map(link -> link.apply("{trace_id}")).orElse(null));
    return new ApiResponse.Json(201, answer, headers);
  }

  private ApiResponse signOut(ApiRequest r) {
    sameOrigin(r);
    ConsoleSessions.Session s = signedIn(r);
    requireCsrf(r, s);
    sessions.end(s.id());
    Map<String, String> headers = new LinkedHashMap<>(HEADERS);
    headers.put(
        "Set-Cookie",
        COOKIE
            + "=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
            + (r.secure() ? "; Secure" : ""));
    return new ApiResponse.Json(204, null, headers);
  }

  private ApiResponse forward(ApiRequest r) throws Exception {
    sameOrigin(r);
    String rest = r.pathVariable("path");
    ConsoleSessions.Session s = signedIn(r);
    if (FORWARDED.stream().noneMatch(f -> f.matches(r.method(), rest))) {
      throw refused(
          404,
          ErrorCodes.NOT_FOUND,
          "the console does not serve " + r.method() + " /v1/" + rest + " (use the operator API)");
    }
    if (!r.method().equals("GET")) {
      requireCsrf(r, s);
    }
    ApiResponse answer = router.forward(r, "/v1/" + rest, operatorAuthorization);
    return answer instanceof ApiResponse.Json j
        ? new ApiResponse.Json(j.status(), j.body(), merged(j.headers()))
        : answer;
  }

  /** Every stored policy version, newest first, and which one is active. */
  private ApiResponse policyVersions(ApiRequest r) {
    sameOrigin(r);
    signedIn(r);
    Optional<UUID> active = policies.active().map(StoredPolicy::id);
    List<Map<String, Object>> versions =
        policies.versions().reversed().stream()
            .map(
                p -> {
                  Map<String, Object> v = new LinkedHashMap<>();
                  v.put("id", p.id().toString());
                  v.put("version", p.version());
                  v.put("sha256", p.sha256());
                  v.put("created_at", p.createdAt().toString());
                  v.put("active", active.map(p.id()::equals).orElse(false));
                  return v;
                })
            .toList();
    return new ApiResponse.Json(200, Map.of("versions", versions), HEADERS);
  }

  /** {@code ?from=ID&to=ID}: what changes from one stored version to the other, one line each. */
  private ApiResponse policyDiff(ApiRequest r) {
    sameOrigin(r);
    signedIn(r);
    Map<UUID, StoredPolicy> byId = new LinkedHashMap<>();
    policies.versions().forEach(p -> byId.put(p.id(), p));
    StoredPolicy from = version(byId, r.query("from"), "from");
    StoredPolicy to = version(byId, r.query("to"), "to");
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("from", Map.of("id", from.id().toString(), "version", from.version()));
    body.put("to", Map.of("id", to.id().toString(), "version", to.version()));
    body.put("changes", policyDiff.apply(from.policy(), to.policy()));
    return new ApiResponse.Json(200, body, HEADERS);
  }

  /**
   * The newest recorded policy replays (their {@code evals} rows, read only): when, the candidate,
   * the counts, the changes per action, subject and skill, a few examples of each change.
   */
  private ApiResponse policyReplays(ApiRequest r) {
    sameOrigin(r);
    signedIn(r);
    List<EvalStore.Replay> replays =
        Transactions.withConnection(
            dataSource, c -> EvalStore.replays(c, REPLAY_SUITE, MAX_REPLAYS, REPLAY_EXAMPLES));
    List<Map<String, Object>> body =
        replays.stream()
            .map(
                p -> {
                  Map<String, Object> v = new LinkedHashMap<>();
                  v.put("replay_id", p.replayId());
                  v.put("at", p.at().toString());
                  v.put("candidate_sha256", p.candidateSha256());
                  v.put(
                      "counts",
                      Map.of(
                          "decisions", p.decisions(),
                          "unchanged", p.unchanged(),
                          "allow_to_deny", p.allowToDeny(),
                          "deny_to_allow", p.denyToAllow(),
                          "not_replayable", p.notReplayable()));
                  v.put(
                      "changes",
                      p.changes().stream()
                          .map(
                              g -> {
                                Map<String, Object> m = new LinkedHashMap<>();
                                m.put("action", g.action());
                                m.put("subject", g.subject());
                                m.put("skill", g.skill());
                                m.put("allow_to_deny", g.allowToDeny());
                                m.put("deny_to_allow", g.denyToAllow());
                                return m;
                              })
                          .toList());
                  v.put(
                      "examples",
                      p.examples().stream()
                          .map(
                              e -> {
                                Map<String, Object> m = new LinkedHashMap<>();
                                m.put("change", e.change());
                                m.put("run_id", e.runId() == null ? null : e.runId().toString());
                                m.put("action", e.action());
                                m.put("subject", e.subject());
                                m.put("skill", e.skill());
                                m.put("recorded", e.recorded());
                                m.put("recorded_reason", e.recordedReason());
                                m.put("candidate", e.candidate());
                                m.put("candidate_reason", e.candidateReason());
                                return m;
                              })
                          .toList());
                  return v;
                })
            .toList();
    return new ApiResponse.Json(200, Map.of("replays", body), HEADERS);
  }

  private static StoredPolicy version(Map<UUID, StoredPolicy> byId, String id, String name) {
    try {
      StoredPolicy found = id == null ? null : byId.get(UUID.fromString(id.strip()));
      if (found != null) {
        return found;
      }
    } catch (IllegalArgumentException e) {
      // not an id: answered below
    }
    throw refused(
        422,
        ErrorCodes.INVALID_BODY,
        name + " must be the id of a stored policy version (GET /console/api/policy/versions)");
  }

  /** The live session of the request's cookie; {@code 401} without one. */
  private ConsoleSessions.Session signedIn(ApiRequest r) {
    for (String line : r.headers("Cookie")) {
      for (String pair : line.split(";")) {
        String p = pair.strip();
        if (p.startsWith(COOKIE + "=")) {
          Optional<ConsoleSessions.Session> s = sessions.find(p.substring(COOKIE.length() + 1));
          if (s.isPresent()) {
            return s.get();
          }
        }
      }
    }
    throw refused(
        401,
        ErrorCodes.UNAUTHORIZED,
        "not signed in to the console (or the session ended): sign in at /console with the"
            + " operator token");
  }

  private static void requireCsrf(ApiRequest r, ConsoleSessions.Session s) {
    String given = r.header(CSRF_HEADER);
    if (given == null
        || !MessageDigest.isEqual(
            given.getBytes(StandardCharsets.UTF_8),
            s.csrfToken().getBytes(StandardCharsets.UTF_8))) {
      throw refused(
          403,
          ErrorCodes.FORBIDDEN,
          "a change through the console needs the session's CSRF token in "
              + CSRF_HEADER
              + " (the console page sends it; another site's page cannot)");
    }
  }

  /**
   * Refuses a request a page of another site made: the browser says so in {@code Sec-Fetch-Site},
   * or its {@code Origin} is not this server's.
   */
  private static void sameOrigin(ApiRequest r) {
    String site = r.header("Sec-Fetch-Site");
    if (site != null && !site.equals("same-origin") && !site.equals("none")) {
      throw refused(
          403,
          ErrorCodes.ORIGIN_NOT_ALLOWED,
          "the console answers only its own pages (Sec-Fetch-Site: " + site + ")");
    }
    // Its scheme may be https while this server sees http behind a proxy: the host decides.
    String origin = r.header("Origin");
    String host = r.header("Host");
    if (origin != null
        && (host == null || !origin.replaceFirst("^https?://", "").equalsIgnoreCase(host))) {
      throw refused(
          403, ErrorCodes.ORIGIN_NOT_ALLOWED, "the console answers only its own pages (Origin)");
    }
  }

  private static ApiException refused(int status, String code, String message) {
    return new ApiException(status, ErrorBody.of(code, message), HEADERS);
  }

  private static Map<String, String> merged(Map<String, String> extra) {
    Map<String, String> all = new LinkedHashMap<>(HEADERS);
    all.putAll(extra);
    return all;
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
