package dev.worka.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.protocol.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Gateway in a process of its own ({@code worka serve} on the test classpath), so a test can kill
 * it with SIGKILL at any moment and start another on the same home and database. Its log goes to
 * {@code <home>/gateway-<n>.log}.
 */
public final class GatewayProcess implements AutoCloseable {
  private static final Pattern RUNNING =
      Pattern.compile("Worka is running at (http://\\S+:(\\d+))");
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Duration START_WAIT = Duration.ofSeconds(90);

  private final Process process;
  private final Path log;
  public final String baseUrl;

  private GatewayProcess(Process process, Path log, String baseUrl) {
    this.process = process;
    this.log = log;
    this.baseUrl = baseUrl;
  }

  /**
   * Starts {@code worka serve} with exactly {@code environment} (plus PATH) and waits until it
   * listens. WORKA_HTTP_PORT defaults to 0 (any free port).
   */
  public static GatewayProcess start(Path home, Map<String, String> environment)
      throws IOException {
    Files.createDirectories(home);
    int n = 1;
    while (Files.exists(home.resolve("gateway-" + n + ".log"))) {
      n++;
    }
    Path log = home.resolve("gateway-" + n + ".log");
    List<String> argv =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.worka.gateway.cli.WorkaCli",
                "serve"));
    ProcessBuilder builder =
        new ProcessBuilder(argv)
            .redirectErrorStream(false)
            .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().clear();
    builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    builder.environment().put("WORKA_HOME", home.toString());
    builder.environment().put("WORKA_HTTP_PORT", "0");
    builder.environment().putAll(SandboxHere.orOff());
    builder.environment().putAll(environment);
    Process process = builder.start();
    CompletableFuture<String> url = new CompletableFuture<>();
    Thread.ofPlatform()
        .daemon()
        .name("gateway-process-stdout-" + process.pid())
        .start(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                  Files.writeString(
                      log,
                      "stdout: " + line + "\n",
                      StandardCharsets.UTF_8,
                      java.nio.file.StandardOpenOption.CREATE,
                      java.nio.file.StandardOpenOption.APPEND);
                  Matcher m = RUNNING.matcher(line);
                  if (m.find()) {
                    url.complete("http://127.0.0.1:" + m.group(2));
                  }
                }
              } catch (IOException e) {
                url.completeExceptionally(e);
              }
              url.completeExceptionally(
                  new IllegalStateException("the Gateway's output ended before it listened"));
            });
    try {
      return new GatewayProcess(process, log, url.get(START_WAIT.toSeconds(), TimeUnit.SECONDS));
    } catch (Exception e) {
      process.destroyForcibly();
      String tail;
      try {
        List<String> lines = Files.readAllLines(log);
        tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
      } catch (IOException io) {
        tail = "(no log: " + io + ")";
      }
      throw new IllegalStateException("the Gateway process did not start: " + e + "\n" + tail, e);
    }
  }

  public long pid() {
    return process.pid();
  }

  /** SIGKILL, and waits until the process is gone. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  public boolean alive() {
    return process.isAlive();
  }

  /** The processes this Gateway started that are still alive (its workers and theirs). */
  public List<ProcessHandle> descendants() {
    return process.descendants().filter(ProcessHandle::isAlive).toList();
  }

  public Path log() {
    return log;
  }

  /** An operator API call with {@code token}; the body parsed when it is JSON. */
  public TestGateway.Answer call(String method, String path, String body, String token) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + token);
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    request.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    try {
      HttpResponse<String> r = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode json = null;
      try {
        json = r.body().isBlank() ? null : Json.LENIENT.readTree(r.body());
      } catch (IOException notJson) {
        // the raw answer stays available
      }
      return new TestGateway.Answer(r.statusCode(), json, r);
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(method + " " + path + " failed: " + e, e);
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor();
        }
      } catch (InterruptedException e) {
        // Not left running behind an interrupted test: killed, the interrupt kept for the caller.
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
