package dev.worka.agents;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.worka.protocol.AgentEnvironment;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The training run of the built-in agents' AOT cache ({@code bin/lib/make-agent-start-cache}, JDK
 * 25+: {@code -XX:AOTCacheOutput}): one step attempt of {@code ernest}, start to exit, against a
 * stand-in Gateway in this JVM that answers every call {@code 401} — so the classes a real attempt
 * loads before and around its first calls (the runner, the JDK's HTTP client, Jackson, the protocol
 * types, the error path), and those of a pooled agent's warm-up and claim ({@link Warmup}, {@link
 * Claim}), are recorded, loaded and linked in the cache; with a sampled {@code TRACEPARENT}, so the
 * OpenTelemetry SDK that exports its spans at the end of the step is too. No Gateway, no token, no
 * network beyond this JVM's own loopback. Exits 0 when the attempt ran as expected.
 */
public final class StartTraining {
  private StartTraining() {}

  public static void main(String[] args) throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
    server.createContext("/", StartTraining::refuse);
    server.start();
    Path directory = Files.createTempDirectory("worka-agent-training-");
    Path token = directory.resolve("token");
    Files.writeString(token, "training.token.value");
    int code;
    try {
      Map<String, String> env =
          Map.of(
              AgentEnvironment.GATEWAY_URL,
              "http://127.0.0.1:" + server.getAddress().getPort(),
              AgentEnvironment.TOKEN_FILE,
              token.toString(),
              AgentEnvironment.AGENT,
              "ernest",
              AgentEnvironment.TRACEPARENT,
              "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      // A pooled agent's path too (WORKA_CLAIM=stdin): its warm-up and its claim line.
      Warmup.run();
      Claim.await(
          Map.of(AgentEnvironment.CLAIM, Claim.STDIN),
          new java.io.ByteArrayInputStream(
              "{\"WORKA_RUN_ID\":\"training\"}\n".getBytes(StandardCharsets.UTF_8)));
      PrintStream quiet =
          new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
      code = AgentRunner.standard(quiet).run(env, new String[] {"ernest"});
    } finally {
      server.stop(0);
      Files.deleteIfExists(token);
      Files.deleteIfExists(directory);
    }
    // Refused at every call, the attempt ends without delivering its result.
    System.exit(code == AgentRunner.RESULT_NOT_DELIVERED ? 0 : 1);
  }

  private static void refuse(HttpExchange exchange) throws IOException {
    try (exchange) {
      exchange.getRequestBody().readAllBytes();
      byte[] body =
          "{\"error\":{\"code\":\"unauthorized\",\"message\":\"the training run's stand-in Gateway\"}}"
              .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(401, body.length);
      exchange.getResponseBody().write(body);
    }
  }
}
