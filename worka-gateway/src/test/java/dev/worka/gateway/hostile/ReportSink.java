package dev.worka.gateway.hostile;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The test's side channel to its hostile workers, outside the Gateway: a loopback HTTP key-value
 * board ({@code PUT /kv/KEY} sets, {@code GET /kv/KEY?wait=SECONDS} waits for it). The test leaks
 * "intel" to an attacker through it (a victim's ids, an expired token), workers report what they
 * could not put in a result (calls after their step ended), and a waiting victim is released. A
 * worker reaches it as it reaches the Gateway: the suite's workers share the host's network ({@code
 * WORKA_WORKER_NETWORK=host}).
 */
final class ReportSink implements AutoCloseable {
  private static final int MAX_VALUE_BYTES = 4 * 1024 * 1024;

  private final HttpServer server;
  private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
  private final Map<String, CompletableFuture<String>> board = new ConcurrentHashMap<>();

  ReportSink() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/kv/", this::handle);
    server.setExecutor(threads);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  void put(String key, String value) {
    slot(key).complete(value);
  }

  /** The value under {@code key}, once some worker (or the test) has put it. */
  String await(String key, Duration timeout) {
    try {
      return slot(key).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("nothing was put under " + key + " within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for " + key, e);
    } catch (ExecutionException e) {
      throw new AssertionError(e.getCause());
    }
  }

  private CompletableFuture<String> slot(String key) {
    return board.computeIfAbsent(key, k -> new CompletableFuture<>());
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String key = exchange.getRequestURI().getPath().substring("/kv/".length());
      switch (exchange.getRequestMethod()) {
        case "PUT", "POST" -> {
          byte[] value;
          try (InputStream in = exchange.getRequestBody()) {
            value = in.readNBytes(MAX_VALUE_BYTES);
          }
          put(key, new String(value, StandardCharsets.UTF_8));
          exchange.sendResponseHeaders(204, -1);
        }
        case "GET" -> {
          String query = exchange.getRequestURI().getQuery();
          long wait =
              query != null && query.startsWith("wait=") ? Long.parseLong(query.substring(5)) : 0;
          String value;
          try {
            value = slot(key).get(wait, TimeUnit.SECONDS);
          } catch (TimeoutException | ExecutionException e) {
            exchange.sendResponseHeaders(404, -1);
            return;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exchange.sendResponseHeaders(503, -1);
            return;
          }
          byte[] body = value.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
        }
        default -> exchange.sendResponseHeaders(405, -1);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
