package dev.worka.agents;

import dev.worka.protocol.Json;
import dev.worka.protocol.StepEnvelope;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * What a pre-started agent does while it waits for its claim, so that the claimed attempt's first
 * call does not pay for it: one HTTP exchange with a throwaway server on its own loopback (the HTTP
 * client's classes, its selector thread's first start) and the envelope's JSON binding. It reaches
 * nothing outside this JVM, holds no token, and a failure only costs the time it would have saved.
 */
final class Warmup {
  private static final String ENVELOPE =
      "{\"run_id\":\"00000000-0000-0000-0000-000000000000\","
          + "\"step_id\":\"00000000-0000-0000-0000-000000000000\",\"attempt\":1}";

  private Warmup() {}

  static void run() {
    try (ServerSocket server = new ServerSocket()) {
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
      Thread answer =
          Thread.ofPlatform()
              .daemon()
              .name("worka-warmup")
              .start(
                  () -> {
                    try (Socket s = server.accept()) {
                      InputStream in = s.getInputStream();
                      int matched = 0;
                      byte[] end = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
                      while (matched < end.length) {
                        int b = in.read();
                        if (b < 0) {
                          return;
                        }
                        matched = b == end[matched] ? matched + 1 : (b == end[0] ? 1 : 0);
                      }
                      OutputStream out = s.getOutputStream();
                      out.write(
                          ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  + "Content-Length: 2\r\nConnection: close\r\n\r\n{}")
                              .getBytes(StandardCharsets.US_ASCII));
                      out.flush();
                    } catch (IOException e) {
                      // the warm-up is best effort
                    }
                  });
      HttpClient http =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(2))
              .version(HttpClient.Version.HTTP_1_1)
              .followRedirects(HttpClient.Redirect.NEVER)
              .build();
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v1/agent/context"))
                  .timeout(Duration.ofSeconds(2))
                  .header("Authorization", "Bearer warmup")
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      Json.LENIENT.readTree(response.body());
      answer.join(Duration.ofSeconds(2));
      http.close();
    } catch (IOException | RuntimeException e) {
      // the warm-up is best effort
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      Json.LENIENT.readValue(ENVELOPE, StepEnvelope.class);
    } catch (IOException | RuntimeException e) {
      // a partial envelope may not bind; its classes are loaded all the same
    }
  }
}
