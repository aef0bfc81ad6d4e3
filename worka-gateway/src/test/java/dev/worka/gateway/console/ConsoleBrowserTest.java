package dev.worka.gateway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.TestGateway;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
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
 * shown as text, never run; every page; sign out. Skipped, saying why, where chromium is missing.
 *
 * <p>With {@code -Dworka.console.screenshots=DIR} it saves a screenshot of each page there (how
 * {@code docs/console/*.png} are made: see docs/console.md).
 */
class ConsoleBrowserTest {
  @TempDir static Path home;
  @TempDir static Path profile;
  private static TestGateway gw;
  private static WebDriver browser;
  private static WebDriverWait wait;

  /** A request text that would run script if the page ever parsed data as markup. */
  private static final String HOSTILE =
      "open an issue in acme/widgets titled 'Login test is flaky"
          + " <img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>'";

  @BeforeAll
  static void start() throws Exception {
    Optional<Path> chromium = onPath("chromium");
    Optional<Path> driver = onPath("chromedriver");
    Assumptions.assumeTrue(
        chromium.isPresent() && driver.isPresent(),
        "the console's browser test needs Debian's chromium and chromium-driver"
            + " (apt-get install -y chromium chromium-driver); skipped");
    gw = TestGateway.start(home, null, TestGateway.builtinPolicyForTests());
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
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (gw != null) {
      gw.close();
    }
  }

  private static Optional<Path> onPath(String program) {
    return Stream.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator))
        .map(dir -> Path.of(dir, program))
        .filter(Files::isExecutable)
        .findFirst();
  }

  @Test
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
