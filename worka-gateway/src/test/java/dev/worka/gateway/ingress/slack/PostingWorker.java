package dev.worka.gateway.ingress.slack;

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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A worker for {@link SlackAnswersTest}: a real process speaking the agent protocol with the JDK
 * only. As {@code planner} it plans one Daneel step allowed {@code slack.post_message}; as {@code
 * poster} it posts, through {@code POST /v1/agent/skills/slack.post_message}, a reply full of
 * mentions and disguised links in the run's own thread, then tries a top-level post, a post in
 * another thread and one in another channel, and reports the statuses and error codes it got; its
 * summary is full of mentions and disguised links too (it becomes Worka's answer).
 */
public final class PostingWorker {
  static final String REPLY =
      "<!channel> <@U0BOB> see <https://evil.example/login|https://good.example>"
          + " in <#C0OTHER> & <!subteam^S0DEVS|@devs>";
  static final String SUMMARY =
      "Posted. <!here> <@U0CAROL> read <https://evil.example/phish|the docs>";
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();

  public static void main(String[] args) throws Exception {
    String gateway = System.getenv("WORKA_GATEWAY_URL").replaceAll("/+$", "");
    String token =
        Files.readString(Path.of(System.getenv("WORKA_TOKEN_FILE")), StandardCharsets.US_ASCII)
            .strip();
    HttpResponse<String> context =
        HTTP.send(
            request(gateway, "/v1/agent/context", token).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    if (context.statusCode() != 200) {
      System.out.println("no context: " + context.statusCode() + " " + context.body());
      System.exit(2);
    }
    switch (args[0]) {
      case "planner" -> {
        post(
            gateway,
            "/v1/agent/plan",
            token,
            "{\"summary\": \"post in the thread\", \"steps\": [{\"step_ref\":"
                + " \"post\", \"agent\": \"daneel\", \"objective\": \"Post the answer in the thread\", \"skills\":"
                + " [\"slack.post_message\"], \"depends_on\": []}]}");
        post(
            gateway,
            "/v1/agent/result",
            token,
            "{\"status\": \"succeeded\", \"summary\": \"planned\"}");
      }
      case "poster" -> {
        String channel = field(context.body(), "slack_channel");
        String thread = field(context.body(), "slack_thread_ts");
        List<String> outcomes = new ArrayList<>();
        outcomes.add(postMessage(gateway, token, channel, thread, REPLY));
        outcomes.add(postMessage(gateway, token, channel, null, "top-level"));
        outcomes.add(postMessage(gateway, token, channel, "1600000000.000001", "another thread"));
        outcomes.add(postMessage(gateway, token, "C0OTHER", thread, "another channel"));
        post(
            gateway,
            "/v1/agent/result",
            token,
            "{\"status\": \"succeeded\", \"summary\": "
                + quote(SUMMARY)
                + ", \"output\": {\"outcomes\": ["
                + String.join(", ", outcomes.stream().map(PostingWorker::quote).toList())
                + "]}}");
      }
      default -> throw new IllegalArgumentException("unknown role " + args[0]);
    }
  }

  /** One post; its outcome as {@code "<status> <error code>"}. */
  private static String postMessage(
      String gateway, String token, String channel, String thread, String text) throws Exception {
    String input =
        "{\"channel\": "
            + quote(channel)
            + (thread == null ? "" : ", \"thread_ts\": " + quote(thread))
            + ", \"text\": "
            + quote(text)
            + "}";
    HttpResponse<String> r =
        post(gateway, "/v1/agent/skills/slack.post_message", token, "{\"input\": " + input + "}");
    return r.statusCode() + " " + field(r.body(), "error");
  }

  private static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
    return m.find() ? m.group(1) : "";
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static HttpResponse<String> post(String gateway, String path, String token, String json)
      throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            request(gateway, path, token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    System.out.println(path + " answered " + r.statusCode() + " " + r.body());
    return r;
  }

  private static HttpRequest.Builder request(String gateway, String path, String token) {
    return HttpRequest.newBuilder(URI.create(gateway + path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token);
  }

  /** The argv that runs this worker as {@code role} from the test classpath. */
  static List<String> command(String role) {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classes =
        Path.of(PostingWorker.class.getProtectionDomain().getCodeSource().getLocation().getPath())
            .toString();
    return List.of(
        javaBin,
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-cp",
        classes,
        PostingWorker.class.getName(),
        role);
  }

  private PostingWorker() {}
}
