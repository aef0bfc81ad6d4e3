package dev.worka.gateway.control;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A worker for {@link RetryTest}: a real process speaking the agent protocol with the JDK only. It
 * reads its attempt from its step envelope and behaves as its one argument says:
 *
 * <ul>
 *   <li>{@code crash-first}: attempt 1 exits with status 1 without a result; later attempts
 *       succeed;
 *   <li>{@code crash}: every attempt exits with status 1 without a result;
 *   <li>{@code fail-final}: posts a failed result with {@code "retryable": false};
 *   <li>{@code denied-then-crash}: asks for a skill its agent is not allowed (denied), then exits
 *       1.
 * </ul>
 */
public final class RetryWorker {
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();

  public static void main(String[] args) throws Exception {
    String gateway = System.getenv("WORKA_GATEWAY_URL").replaceAll("/+$", "");
    String tokenFile = System.getenv("WORKA_TOKEN_FILE");
    String token =
        tokenFile != null
            ? Files.readString(Path.of(tokenFile), StandardCharsets.US_ASCII).strip()
            : System.getenv("WORKA_TOKEN");
    HttpResponse<String> context =
        HTTP.send(
            request(gateway, "/v1/agent/context", token).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    Matcher m = Pattern.compile("\"attempt\"\\s*:\\s*(\\d+)").matcher(context.body());
    if (context.statusCode() != 200 || !m.find()) {
      System.out.println("no context: " + context.statusCode() + " " + context.body());
      System.exit(2);
    }
    int attempt = Integer.parseInt(m.group(1));
    switch (args[0]) {
      case "crash-first" -> {
        if (attempt == 1) {
          crash(attempt);
        }
        post(
            gateway,
            "/v1/agent/result",
            token,
            "{\"status\": \"succeeded\", \"summary\": \"done on attempt "
                + attempt
                + "\", \"output\": {\"attempt\": "
                + attempt
                + "}}");
      }
      case "crash" -> crash(attempt);
      case "fail-final" ->
          post(
              gateway,
              "/v1/agent/result",
              token,
              "{\"status\": \"failed\", \"error\": \"the repository is archived; nothing to retry\", \"retryable\": false}");
      case "denied-then-crash" -> {
        int status =
            post(
                gateway,
                "/v1/agent/skills/github.create_issue",
                token,
                "{\"input\": {\"owner\": \"acme\", \"repo\": \"widgets\", \"title\": \"x\"}}");
        System.out.println("attempt " + attempt + ": the skill call answered " + status);
        crash(attempt);
      }
      default -> throw new IllegalArgumentException("unknown behaviour " + args[0]);
    }
  }

  private static void crash(int attempt) {
    System.out.println("attempt " + attempt + ": crashing on purpose");
    System.out.flush();
    System.exit(1);
  }

  private static int post(String gateway, String path, String token, String json) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            request(gateway, path, token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    System.out.println(path + " answered " + r.statusCode() + " " + r.body());
    return r.statusCode();
  }

  private static HttpRequest.Builder request(String gateway, String path, String token) {
    return HttpRequest.newBuilder(URI.create(gateway + path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token);
  }

  /** The argv that runs this worker with {@code behaviour} from the test classpath. */
  public static List<String> command(String behaviour) {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classes =
        Path.of(RetryWorker.class.getProtectionDomain().getCodeSource().getLocation().getPath())
            .toString();
    return List.of(
        javaBin,
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-cp",
        classes,
        RetryWorker.class.getName(),
        behaviour);
  }

  private RetryWorker() {}
}
