package dev.worka.gateway;

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
 * A light agent for {@link ChaosTest}: a real process speaking the agent protocol with the JDK only
 * (it starts in a fraction of the built-in agents' time). With {@code plan} it is the planner: it
 * reads the request "… titled 'T'" from its context and submits a one-step plan for ernest to
 * create issue T. With {@code work} it is that worker: it calls {@code github.create_issue} with
 * title T through the Gateway and reports the invocation. Anything unexpected exits 1 without a
 * result (a crash the Gateway retries).
 */
public final class ChaosWorker {
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private static final Pattern TITLE = Pattern.compile("titled '([A-Za-z0-9 ]+)'");

  public static void main(String[] args) throws Exception {
    String gateway = System.getenv("WORKA_GATEWAY_URL").replaceAll("/+$", "");
    String tokenFile = System.getenv("WORKA_TOKEN_FILE");
    String token =
        tokenFile != null
            ? Files.readString(Path.of(tokenFile), StandardCharsets.US_ASCII).strip()
            : System.getenv("WORKA_TOKEN");
    HttpResponse<String> context = send(gateway, "/v1/agent/context", token, null);
    Matcher title = TITLE.matcher(context.body());
    if (context.statusCode() != 200 || !title.find()) {
      exit("no usable context: " + context.statusCode() + " " + context.body());
    }
    String t = title.group(1);
    String result;
    if (args[0].equals("plan")) {
      HttpResponse<String> plan =
          send(
              gateway,
              "/v1/agent/plan",
              token,
              "{\"summary\": \"file one issue\", \"steps\": [{\"step_ref\": \"file\", \"agent\": \"ernest\","
                  + " \"objective\": \"open an issue in acme/widgets titled '"
                  + t
                  + "'\","
                  + " \"skills\": [\"github.create_issue\"], \"depends_on\": []}]}");
      if (plan.statusCode() != 201 && plan.statusCode() != 200) {
        exit("plan answered " + plan.statusCode() + " " + plan.body());
      }
      result =
          "{\"status\": \"succeeded\", \"summary\": \"planned issue " + t + "\", \"output\": {}}";
    } else {
      HttpResponse<String> call =
          send(
              gateway,
              "/v1/agent/skills/github.create_issue",
              token,
              "{\"input\": {\"owner\": \"acme\", \"repo\": \"widgets\", \"title\": \""
                  + t
                  + "\", \"body\": \"chaos\"}}");
      if (call.statusCode() != 200) {
        exit("create_issue answered " + call.statusCode() + " " + call.body());
      }
      result =
          "{\"status\": \"succeeded\", \"summary\": \"created issue " + t + "\", \"output\": {}}";
    }
    HttpResponse<String> posted = send(gateway, "/v1/agent/result", token, result);
    if (posted.statusCode() != 200 && posted.statusCode() != 201 && posted.statusCode() != 202) {
      exit("result answered " + posted.statusCode() + " " + posted.body());
    }
  }

  private static void exit(String why) {
    System.out.println(why);
    System.out.flush();
    System.exit(1);
  }

  private static HttpResponse<String> send(String gateway, String path, String token, String json)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(gateway + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + token);
    if (json != null) {
      b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * The argv that runs this agent in {@code mode} ({@code plan} or {@code work}) from the test
   * classpath.
   */
  static List<String> command(String mode) {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classes =
        Path.of(ChaosWorker.class.getProtectionDomain().getCodeSource().getLocation().getPath())
            .toString();
    return List.of(
        javaBin,
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-cp",
        classes,
        ChaosWorker.class.getName(),
        mode);
  }

  private ChaosWorker() {}
}
