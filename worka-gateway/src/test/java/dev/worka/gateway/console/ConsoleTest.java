package dev.worka.gateway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.TestGateway;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console over plain HTTP against a real Gateway, attacker first: whoever reaches the port
 * without the token, another site's page (CSRF, framing), a bearer token (the operator's or a
 * step's) where only the session counts, a cookie after sign-out.
 */
class ConsoleTest {
  @TempDir static Path home;
  private static TestGateway gw;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    gw = TestGateway.start(home, null, TestGateway.builtinPolicyForTests());
  }

  @AfterAll
  static void stop() {
    if (gw != null) {
      gw.close();
    }
  }

  record Answer(int status, String body, HttpResponse<String> raw) {
    String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }
  }

  private static Answer call(String method, String path, String body, Map<String, String> headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gw.baseUrl + path)).timeout(Duration.ofSeconds(30));
    headers.forEach(b::header);
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    try {
      HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.body(), r);
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(method + " " + path, e);
    }
  }

  /** A signed-in session: its cookie header and CSRF token. */
  record Session(String cookie, String csrf) {}

  private static Session signIn(Map<String, String> extra) {
    Map<String, String> headers = new LinkedHashMap<>(extra);
    headers.put("Content-Type", "application/json");
    Answer a =
        call(
            "POST",
            "/console/api/session",
            "{\"token\": \"" + TestGateway.OPERATOR_TOKEN + "\"}",
            headers);
    assertEquals(201, a.status(), a.body());
    String setCookie = a.header("Set-Cookie");
    String cookie = setCookie.substring(0, setCookie.indexOf(';'));
    String csrf = a.body().replaceAll("(?s).*\"csrf_token\":\"([^\"]+)\".*", "$1");
    return new Session(cookie, csrf);
  }

  private static Session signIn() {
    return signIn(Map.of());
  }

  private static void assertSecurityHeaders(Answer a) {
    String csp = a.header("Content-Security-Policy");
    assertTrue(csp != null && csp.contains("default-src 'none'"), "CSP: " + csp);
    assertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe"), csp);
    assertTrue(csp.contains("frame-ancestors 'none'"), csp);
    assertEquals("DENY", a.header("X-Frame-Options"));
    assertEquals("nosniff", a.header("X-Content-Type-Options"));
    assertEquals("no-referrer", a.header("Referrer-Policy"));
  }

  @Test
  void thePageAndFilesAreServedWithTypesCachingAndSecurityHeaders() {
    Answer page = call("GET", "/console", null, Map.of());
    assertEquals(200, page.status());
    assertEquals("text/html; charset=utf-8", page.header("Content-Type"));
    assertSecurityHeaders(page);
    assertEquals("no-cache", page.header("Cache-Control"));
    assertTrue(page.body().contains("/console/static/console.js"));
    assertFalse(page.body().contains("<script>"), "no inline script");
    assertFalse(page.body().contains("style="), "no inline style");

    Answer script = call("GET", "/console/static/console.js", null, Map.of());
    assertEquals(200, script.status());
    assertEquals("text/javascript; charset=utf-8", script.header("Content-Type"));
    assertSecurityHeaders(script);
    Answer again =
        call(
            "GET",
            "/console/static/console.js",
            null,
            Map.of("If-None-Match", script.header("ETag")));
    assertEquals(304, again.status(), "revalidated by its ETag");
    assertEquals(
        "text/css; charset=utf-8",
        call("GET", "/console/static/console.css", null, Map.of()).header("Content-Type"));
    assertEquals(404, call("GET", "/console/static/secrets.txt", null, Map.of()).status());
    int traversal = call("GET", "/console/static/..%2Fconsole.js", null, Map.of()).status();
    assertTrue(traversal == 400 || traversal == 404, "an encoded slash is no file: " + traversal);
  }

  @Test
  void theScriptPutsDataInThePageOnlyAsText() throws IOException {
    String script =
        Files.readString(
            Path.of("src/main/resources/dev/worka/gateway/console/static/console.js"),
            StandardCharsets.UTF_8);
    for (String sink :
        List.of(
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "localStorage",
            "sessionStorage")) {
      assertFalse(script.contains(sink), "console.js must not use " + sink);
    }
  }

  @Test
  void withoutASessionNothingIsAnsweredAndNoBearerTokenCounts() {
    assertEquals(401, call("GET", "/console/api/session", null, Map.of()).status());
    Answer runs = call("GET", "/console/api/v1/runs", null, Map.of());
    assertEquals(401, runs.status());
    assertTrue(runs.body().contains("sign in at /console"), runs.body());
    assertEquals(401, call("GET", "/console/api/policy/replays", null, Map.of()).status());
    assertEquals(
        401,
        call(
                "GET",
                "/console/api/policy/replays",
                null,
                Map.of("Authorization", "Bearer " + TestGateway.OPERATOR_TOKEN))
            .status());
    // Not even the operator token itself: a step token (any bearer) is no credential here.
    assertEquals(
        401,
        call(
                "GET",
                "/console/api/v1/runs",
                null,
                Map.of("Authorization", "Bearer " + TestGateway.OPERATOR_TOKEN))
            .status());
    assertEquals(
        401,
        call(
                "GET",
                "/console/api/v1/runs",
                null,
                Map.of("Cookie", OperatorConsole.COOKIE + "=forged"))
            .status());
  }

  @Test
  void aWrongTokenIsRefusedAndSetsNoCookie() {
    Answer a =
        call(
            "POST",
            "/console/api/session",
            "{\"token\": \"not-the-token\"}",
            Map.of("Content-Type", "application/json"));
    assertEquals(401, a.status());
    assertEquals(null, a.header("Set-Cookie"));
    assertEquals(
        415,
        call(
                "POST",
                "/console/api/session",
                "token=" + TestGateway.OPERATOR_TOKEN,
                Map.of("Content-Type", "application/x-www-form-urlencoded"))
            .status(),
        "a cross-site form cannot sign in");
  }

  @Test
  void theSessionCookieIsHttpOnlyStrictAndSecureOverTls() {
    Answer a =
        call(
            "POST",
            "/console/api/session",
            "{\"token\": \"" + TestGateway.OPERATOR_TOKEN + "\"}",
            Map.of("Content-Type", "application/json"));
    String cookie = a.header("Set-Cookie");
    assertTrue(cookie.startsWith(OperatorConsole.COOKIE + "="), cookie);
    assertTrue(cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict"), cookie);
    assertTrue(cookie.contains("; Path=/console"), cookie);
    assertFalse(cookie.contains("Secure"), "plain HTTP here: " + cookie);
    assertFalse(
        cookie.contains(TestGateway.OPERATOR_TOKEN)
            || a.body().contains(TestGateway.OPERATOR_TOKEN));

    Answer proxied =
        call(
            "POST",
            "/console/api/session",
            "{\"token\": \"" + TestGateway.OPERATOR_TOKEN + "\"}",
            Map.of("Content-Type", "application/json", "X-Forwarded-Proto", "https"));
    assertTrue(proxied.header("Set-Cookie").contains("; Secure"), proxied.header("Set-Cookie"));
  }

  @Test
  void theCookieIsNoCredentialForTheOperatorApi() {
    Session s = signIn();
    assertEquals(
        200, call("GET", "/console/api/v1/runs", null, Map.of("Cookie", s.cookie())).status());
    assertEquals(401, call("GET", "/v1/runs", null, Map.of("Cookie", s.cookie())).status());
  }

  @Test
  void aChangeWithoutTheSessionsCsrfTokenIsRefusedAndChangesNothing() {
    Session s = signIn();
    String body = "{\"text\": \"csrf probe\"}";
    Answer none =
        call(
            "POST",
            "/console/api/v1/runs",
            body,
            Map.of("Cookie", s.cookie(), "Content-Type", "application/json"));
    assertEquals(403, none.status(), none.body());
    assertTrue(none.body().contains(OperatorConsole.CSRF_HEADER));
    Session other = signIn();
    Answer wrong =
        call(
            "POST",
            "/console/api/v1/runs",
            body,
            Map.of(
                "Cookie",
                s.cookie(),
                "Content-Type",
                "application/json",
                OperatorConsole.CSRF_HEADER,
                other.csrf()));
    assertEquals(403, wrong.status(), "another session's token is not this one's");
    assertFalse(
        gw.operator("GET", "/v1/runs?limit=1000", null).raw().body().contains("csrf probe"),
        "no run was created");
    assertEquals(
        403,
        call("DELETE", "/console/api/session", null, Map.of("Cookie", s.cookie())).status(),
        "signing out is a change too");
  }

  @Test
  void anotherSitesPageIsRefusedEvenWithTheCookieAndToken() {
    Session s = signIn();
    Map<String, String> changes =
        Map.of(
            "Cookie",
            s.cookie(),
            "Content-Type",
            "application/json",
            OperatorConsole.CSRF_HEADER,
            s.csrf());
    Map<String, String> crossSite = new LinkedHashMap<>(changes);
    crossSite.put("Sec-Fetch-Site", "cross-site");
    assertEquals(
        403, call("POST", "/console/api/v1/runs", "{\"text\": \"x\"}", crossSite).status());
    assertEquals(403, call("GET", "/console/api/v1/runs", null, crossSite).status());
    Map<String, String> foreign = new LinkedHashMap<>(changes);
    foreign.put("Origin", "http://evil.example");
    Answer refused = call("POST", "/console/api/v1/runs", "{\"text\": \"x\"}", foreign);
    assertEquals(403, refused.status());
    assertTrue(refused.body().contains("origin_not_allowed"), refused.body());
    assertEquals(
        403,
        call(
                "POST",
                "/console/api/session",
                "{\"token\": \"" + TestGateway.OPERATOR_TOKEN + "\"}",
                Map.of("Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"))
            .status());
    Map<String, String> own = new LinkedHashMap<>(changes);
    own.put("Origin", gw.baseUrl);
    own.put("Sec-Fetch-Site", "same-origin");
    assertEquals(
        202,
        call("POST", "/console/api/v1/runs", "{\"text\": \"from the console\"}", own).status());
  }

  @Test
  void onlyTheConsolesRoutesAreForwarded() {
    Session s = signIn();
    Map<String, String> h =
        Map.of(
            "Cookie",
            s.cookie(),
            "Content-Type",
            "application/json",
            OperatorConsole.CSRF_HEADER,
            s.csrf());
    assertEquals(404, call("GET", "/console/api/v1/agent/context", null, h).status());
    assertEquals(404, call("GET", "/console/api/v1/artifacts/x", null, h).status());
    assertEquals(
        404,
        call(
                "POST",
                "/console/api/v1/invocations/00000000-0000-0000-0000-000000000000/resolve",
                "{}",
                h)
            .status());
    assertEquals(405, call("PUT", "/console/api/v1/policy", "x", h).status());
    assertEquals(200, call("GET", "/console/api/v1/skills", null, h).status());
    assertEquals(200, call("GET", "/console/api/v1/audit/verify", null, h).status());
  }

  @Test
  void aCookieStolenAfterSignOutSignsNobodyIn() {
    Session s = signIn();
    Answer out =
        call(
            "DELETE",
            "/console/api/session",
            null,
            Map.of("Cookie", s.cookie(), OperatorConsole.CSRF_HEADER, s.csrf()));
    assertEquals(204, out.status());
    assertTrue(out.header("Set-Cookie").contains("Max-Age=0"));
    assertEquals(
        401, call("GET", "/console/api/v1/runs", null, Map.of("Cookie", s.cookie())).status());
    assertEquals(
        401, call("GET", "/console/api/session", null, Map.of("Cookie", s.cookie())).status());
  }

  @Test
  void aSignedInConsoleFollowsARunToItsEnd() {
    Session s = signIn();
    Map<String, String> h =
        Map.of(
            "Cookie",
            s.cookie(),
            "Content-Type",
            "application/json",
            OperatorConsole.CSRF_HEADER,
            s.csrf());
    Answer created =
        call(
            "POST",
            "/console/api/v1/runs",
            "{\"text\": \"summarize <script>alert(1)</script>\"}",
            h);
    assertEquals(202, created.status(), created.body());
    String runId = created.body().replaceAll("(?s).*\"run_id\":\"([^\"]+)\".*", "$1");
    Answer events = call("GET", "/console/api/v1/runs/" + runId + "/events", null, h);
    assertEquals(200, events.status());
    assertTrue(events.body().contains("event: end"), events.body());
    Answer story = call("GET", "/console/api/v1/runs/" + runId, null, h);
    assertEquals(200, story.status());
    assertSecurityHeaders(story);
    assertEquals("application/json", story.header("Content-Type"));
    assertTrue(story.body().contains("\"chain_index\""), story.body());
  }

  @Test
  void policyVersionsAndTheDiffBetweenAnyTwo() {
    Session s = signIn();
    Map<String, String> h = Map.of("Cookie", s.cookie());
    assertEquals(401, call("GET", "/console/api/policy/versions", null, Map.of()).status());
    String changed =
        TestGateway.withLimit(TestGateway.builtinPolicyForTests(), "max_concurrent_steps", "3");
    assertTrue(
        List.of(200, 201)
            .contains(
                gw.call(
                        "PUT",
                        "/v1/policy",
                        changed,
                        Map.of(
                            "Authorization",
                            "Bearer " + TestGateway.OPERATOR_TOKEN,
                            "Content-Type",
                            "application/yaml"))
                    .status()));
    Answer versions = call("GET", "/console/api/policy/versions", null, h);
    assertEquals(200, versions.status(), versions.body());
    List<String> ids =
        java.util.regex.Pattern.compile("\"id\":\"([^\"]+)\"")
            .matcher(versions.body())
            .results()
            .map(m -> m.group(1))
            .toList();
    assertTrue(ids.size() >= 2, versions.body());
    Answer diff =
        call("GET", "/console/api/policy/diff?from=" + ids.get(1) + "&to=" + ids.get(0), null, h);
    assertEquals(200, diff.status(), diff.body());
    assertTrue(diff.body().contains("max_concurrent_steps"), diff.body());
    Answer same =
        call("GET", "/console/api/policy/diff?from=" + ids.get(0) + "&to=" + ids.get(0), null, h);
    assertTrue(same.body().contains("\"changes\":[]"), same.body());
    assertEquals(
        422, call("GET", "/console/api/policy/diff?from=nope&to=" + ids.get(0), null, h).status());
  }
}
