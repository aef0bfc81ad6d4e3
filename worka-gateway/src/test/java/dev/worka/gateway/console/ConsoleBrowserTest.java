package dev.worka.gateway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real browser — Debian's {@code chromium}, headless, driven by Selenium through
 * {@code chromedriver} — against a real Gateway: a wrong token is refused; sign in; a run whose
 * request holds markup is watched to its end on its page, its steps and gates shown and the markup
 * shown as text, never run; every page; sign out. And a call held for approval (the policy asks for
 * one on {@code github.create_issue} for an issue whose title starts with {@code Held}; side
 * effects are {@code live}, against the counting GitHub MCP server): started and watched in the
 * console until held, the worker-chosen markup in its input shown as text in the inbox, an approval
 * without the CSRF token refused, approved in the inbox, the run finished, the issue created
 * exactly once, and the {@code approval.decide} gate on the run page. Skipped, saying why, where
 * chromium is missing.
 *
 * <p>With {@code -Dworka.console.screenshots=DIR} it saves a screenshot of each page there (how
 * {@code docs/console/*.png} are made: see docs/console.md).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {
  @TempDir static Path home;
  @TempDir static Path profile;
  private static TestGateway gw;
  private static CountingGithubMcpServer github;
  private static final String GITHUB_TOKEN = "ghp-console-Secret-5151";
  private static WebDriver browser;
  private static WebDriverWait wait;

  /** A request text that would run script if the page ever parsed data as markup. */
  private static final String HOSTILE =
      "open an issue in acme/widgets titled 'Login test is flaky"
          + " <img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>'";

  /** Markup in a replayed candidate's condition, shown in the replay's reasons. */
  private static final String REPLAY_MARKUP = "<img src=x onerror=window.pwned=5>";

  @BeforeAll
  static void start() throws Exception {
    Optional<Path> chromium = onPath("chromium");
    Optional<Path> driver = onPath("chromedriver");
    Assumptions.assumeTrue(
        chromium.isPresent() && driver.isPresent(),
        "the console's browser test needs Debian's chromium and chromium-driver"
            + " (apt-get install -y chromium chromium-driver); skipped");
    github = CountingGithubMcpServer.http(0, GITHUB_TOKEN, Set.of());
    String policy = TestGateway.builtinPolicyForTests();
    String skill = "  github.create_issue:\n    side_effect: true\n";
    assertTrue(policy.contains(skill), "the built-in policy declares create_issue as expected");
    policy =
        policy.replace(
            skill,
            skill
                + "    approval: { when: 'input.title.startsWith(\"Held\")', approvers: [operator],"
                + " expires: 10m }\n");
    gw =
        TestGateway.startWithEnvironment(
            home,
            null,
            policy,
            "live",
            Map.of("GITHUB_MCP_URL", github.url(), "GITHUB_TOKEN", GITHUB_TOKEN));
    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium.get().toFile());
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        "--user-data-dir=" + profile.toAbsolutePath());
    // The driver named here, so Selenium never goes looking for one (Selenium Manager, network).
    System.setProperty("webdriver.chrome.driver", driver.get().toString());
    browser = new ChromeDriver(options);
    wait = new WebDriverWait(browser, Duration.ofSeconds(90));
    // A live page re-renders: an element found a moment ago may be replaced before it is read.
    wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (gw != null) {
      gw.close();
    }
    if (github != null) {
      github.close();
    }
  }

  private static Optional<Path> onPath(String program) {
    return Stream.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator))
        .map(dir -> Path.of(dir, program))
        .filter(Files::isExecutable)
        .findFirst();
  }

  @Test
  @Order(1)
  void signInWatchARunToItsEndSeeEveryPageAndSignOut() throws IOException {
    browser.get(gw.baseUrl + "/console");
    WebElement token = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    screenshot("sign-in");

    token.sendKeys("not-the-operator-token");
    browser.findElement(By.cssSelector("#sign-in-form button")).click();
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(By.id("sign-in-error"), "not valid"));
    assertFalse(browser.findElement(By.id("nav")).isDisplayed(), "a wrong token signs nobody in");
    assertNull(browser.manage().getCookieNamed(OperatorConsole.COOKIE));

    browser.findElement(By.id("token")).sendKeys(TestGateway.OPERATOR_TOKEN);
    browser.findElement(By.cssSelector("#sign-in-form button")).click();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("nav")));
    assertEquals("", script("return document.cookie"), "the session cookie is HttpOnly");
    assertEquals(
        0L,
        script("return localStorage.length + sessionStorage.length"),
        "nothing is kept in browser storage");
    assertEquals("", browser.findElement(By.id("token")).getAttribute("value"));

    String runId = gw.submit(HOSTILE);
    WebElement row =
        wait.until(
            ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("tr.run-row[data-run-id='" + runId + "'] a")));
    row.click();
    wait.until(ExpectedConditions.attributeToBe(By.id("run-status"), "data-status", "succeeded"));
    wait.until(
        d ->
            !d.findElements(By.cssSelector("#events li")).isEmpty()
                && d.findElements(By.cssSelector("tr.gate-row")).size() >= 2);
    assertEquals(HOSTILE, browser.findElement(By.id("run-text")).getText(), "shown as text");
    assertNull(script("return window.pwned === undefined ? null : window.pwned"), "no script ran");
    List<WebElement> steps = browser.findElements(By.cssSelector("tr.step-row"));
    assertFalse(steps.isEmpty());
    assertTrue(steps.get(0).getText().contains("succeeded"), steps.get(0).getText());
    String gates =
        String.join(
            "\n",
            browser.findElements(By.cssSelector("tr.gate-row")).stream()
                .map(WebElement::getText)
                .toList());
    assertTrue(gates.contains("plan.submit") && gates.contains("allow"), gates);
    assertTrue(gates.contains("github.create_issue"), gates);
    assertFalse(browser.findElements(By.cssSelector("#plan-graph svg g.node")).isEmpty());
    screenshot("run");

    browser.get(gw.baseUrl + "/console#/runs");
    wait.until(
        ExpectedConditions.presenceOfElementLocated(
            By.cssSelector("tr.run-row[data-run-id='" + runId + "']")));
    screenshot("runs");

    browser.get(gw.baseUrl + "/console#/policy");
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("policy-version")));
    assertTrue(browser.findElement(By.id("policy-source")).getText().contains("agents:"));
    // A replay of a pasted candidate that would deny the run's call (and whose condition carries
    // markup): without the CSRF token refused; through the form recorded and listed, as text.
    String builtin = TestGateway.builtinPolicyForTests();
    String condition =
        "'input.owner + \"/\" + input.repo in lists.github_repos && size(input.title) <= 200'";
    assertTrue(builtin.contains(condition), "the built-in condition of create_issue as expected");
    String candidate =
        builtin.replace(
            condition,
            "'(input.owner + \"/\" + input.repo in lists.github_repos"
                + " && !input.title.contains(\"flaky\")) || input.title == \""
                + REPLAY_MARKUP
                + "\"'");
    Object forged =
        ((JavascriptExecutor) browser)
            .executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                    + "fetch('/console/api/v1/policy/replay', {method: 'POST',"
                    + " credentials: 'same-origin', headers: {'Content-Type': 'application/json'},"
                    + " body: JSON.stringify({manifest: arguments[0]})}).then(r => done(r.status));",
                candidate);
    assertEquals(403L, forged, "a replay is a change: it needs the CSRF token");
    assertTrue(browser.findElements(By.cssSelector("section.replay")).isEmpty());
    ((JavascriptExecutor) browser)
        .executeScript(
            "document.getElementById('replay-manifest').value = arguments[0]", candidate);
    browser.findElement(By.cssSelector("#replay-form button")).click();
    WebElement replay =
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("section.replay")));
    String changes =
        String.join(
            "\n",
            replay.findElements(By.cssSelector("tr.replay-change")).stream()
                .map(WebElement::getText)
                .toList());
    assertTrue(
        changes.contains("skill.invoke")
            && changes.contains("ernest")
            && changes.contains("github.create_issue"),
        changes);
    String examples =
        String.join(
            "\n",
            replay.findElements(By.cssSelector("li.replay-example")).stream()
                .map(WebElement::getText)
                .toList());
    assertTrue(
        examples.contains("allow → deny") && examples.contains(runId.substring(0, 8)), examples);
    assertTrue(
        examples.contains(REPLAY_MARKUP), "the candidate's reason shown as text: " + examples);
    assertTrue(
        replay.findElement(By.cssSelector(".replay-counts")).getText().contains("allow → deny 1"),
        replay.getText());
    assertNull(script("return window.pwned === undefined ? null : window.pwned"), "no script ran");
    screenshot("policy");

    browser.get(gw.baseUrl + "/console#/skills");
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr.skill-row")));
    screenshot("skills");

    browser.get(gw.baseUrl + "/console#/audit");
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("audit-status"), "intact"));
    screenshot("audit");

    browser.findElement(By.id("sign-out")).click();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    assertNull(browser.manage().getCookieNamed(OperatorConsole.COOKIE), "the cookie is cleared");
    browser.get(gw.baseUrl + "/console#/runs");
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    assertFalse(browser.findElement(By.id("nav")).isDisplayed(), "signed out stays signed out");
  }

  /** A request whose issue title, chosen by whoever asks, would run script if parsed as markup. */
  private static final String HELD =
      "open an issue in acme/widgets titled 'Held <img src=x onerror=\"window.pwned=3\">"
          + "<script>window.pwned=4</script>'";

  @Test
  @Order(2)
  void aHeldCallIsApprovedInTheInboxAndPerformedOnce() throws IOException {
    int before = github.calls("create_issue"); // the first test's run created one
    browser.get(gw.baseUrl + "/console#/runs");
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")))
        .sendKeys(TestGateway.OPERATOR_TOKEN);
    browser.findElement(By.cssSelector("#sign-in-form button")).click();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("new-run-text"))).sendKeys(HELD);
    browser.findElement(By.cssSelector("#new-run button")).click();
    wait.until(ExpectedConditions.urlMatches("#/runs/[0-9a-f-]{36}$"));
    String runId = browser.getCurrentUrl().replaceAll(".*#/runs/", "");

    // The run page: the call is held and the page says so, with a link to the inbox.
    wait.until(
        d ->
            gw.operator("GET", "/v1/approvals?status=pending", null).body().path("approvals").size()
                    > 0
                || List.of("succeeded", "failed", "cancelled")
                    .contains(gw.story(runId).path("status").asText()));
    WebElement held =
        wait.withMessage(() -> "not held: " + gw.story(runId))
            .until(
                ExpectedConditions.presenceOfElementLocated(
                    By.cssSelector("a#run-approvals.awaiting_approval")));
    assertEquals(before, github.calls("create_issue"), "nothing performed before a decision");
    held.click();

    WebElement card =
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("section.approval")));
    String approvalId = card.getAttribute("data-approval-id");
    String input = card.findElement(By.cssSelector("pre.approval-input")).getText();
    assertTrue(
        input.contains(
            "Held <img src=x onerror=\\\"window.pwned=3\\\"><script>window.pwned=4</script>"),
        input);
    assertTrue(input.contains("\"repo\": \"widgets\""), input);
    assertNull(script("return window.pwned === undefined ? null : window.pwned"), "no script ran");
    assertEquals(
        runId,
        card.findElement(By.cssSelector("a.approval-run")).getText(),
        "the inbox names the run");
    screenshot("approvals");

    // An approval without the session's CSRF token (a forged request from the page) is refused.
    Object forged =
        ((JavascriptExecutor) browser)
            .executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                    + "fetch('/console/api/v1/approvals/' + arguments[0] + '/approve',"
                    + " {method: 'POST', credentials: 'same-origin'}).then(r => done(r.status));",
                approvalId);
    assertEquals(403L, forged);
    assertEquals(before, github.calls("create_issue"));

    card.findElement(By.cssSelector("button.approve")).click();
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(
            By.id("approval-outcome"), "approved by operator: the call was performed"));
    assertEquals(before + 1, github.calls("create_issue"), "performed at once, exactly once");
    wait.until(
        ExpectedConditions.presenceOfElementLocated(
            By.cssSelector("tr.decided-row[data-approval-id='" + approvalId + "']")));
    assertTrue(browser.findElements(By.cssSelector("section.approval")).isEmpty());

    browser
        .findElement(By.cssSelector("tr.decided-row[data-approval-id='" + approvalId + "'] a"))
        .click();
    wait.until(ExpectedConditions.attributeToBe(By.id("run-status"), "data-status", "succeeded"));
    wait.until(
        d ->
            d.findElements(By.cssSelector("tr.gate-row")).stream()
                .anyMatch(g -> g.getText().contains("approval.decide")));
    String gates =
        String.join(
            "\n",
            browser.findElements(By.cssSelector("tr.gate-row")).stream()
                .map(WebElement::getText)
                .toList());
    assertTrue(gates.contains("approval.request"), gates);
    assertTrue(
        browser.findElements(By.cssSelector("tr.gate-row")).stream()
            .map(WebElement::getText)
            .anyMatch(
                g ->
                    g.contains("approval.decide") && g.contains("allow") && g.contains("operator")),
        gates);
    assertEquals(
        before + 1, github.calls("create_issue"), "the resumed step replayed it, no second effect");
    assertNull(script("return window.pwned === undefined ? null : window.pwned"), "no script ran");

    browser.findElement(By.id("sign-out")).click();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
  }

  private static Object script(String js) {
    return ((JavascriptExecutor) browser).executeScript(js);
  }

  /** Saves the page as DIR/NAME.png when -Dworka.console.screenshots=DIR is set. */
  private static void screenshot(String name) throws IOException {
    String dir = System.getProperty("worka.console.screenshots");
    if (dir == null || dir.isBlank()) {
      return;
    }
    Files.createDirectories(Path.of(dir));
    byte[] png = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
    Files.write(Path.of(dir, name + ".png"), png);
  }
}
