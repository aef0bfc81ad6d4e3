package dev.worka.gateway.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.worka.gateway.error.WorkaException;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FutureCallback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Gateway's HTTP server: Jetty 12 core handlers on virtual threads, dispatching to a router. */
public final class HttpServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  private final Server server;
  private final ServerConnector connector;

  public HttpServer(String host, int port, Router router, ObjectMapper json) {
    this(host, port, router, json, () -> false, () -> {});
  }

  /**
   * @param storeDown whether the database is known to be down right now: then every request but
   *     {@link #WITHOUT_STORE}'s is answered {@code 503} with {@code Retry-After} at once, instead of
   *     after waiting for a connection. (A request that fails on the store is answered the same
   *     way whatever this says; failures that are not the store's are {@code 500}.)
   * @param storeFailed told when a request failed because the store is unavailable (so whoever
   *     answers {@code storeDown} can check again now)
   */
  public HttpServer(String host, int port, Router router, ObjectMapper json, BooleanSupplier storeDown,
      Runnable storeFailed) {
    QueuedThreadPool threads = new QueuedThreadPool(200, 8);
    threads.setName("worka-http");
    threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server = new Server(threads);
    connector = new ServerConnector(server);
    connector.setHost(host);
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(new Dispatch(router, json, storeDown, storeFailed));
    server.setStopTimeout(2_000);
  }

  public void start() {
    try {
      server.start();
    } catch (Exception e) {
      throw new WorkaException(
          "could not listen on " + connector.getHost() + ":" + connector.getPort()
              + " (is another Worka or program using it? set WORKA_HTTP_PORT)", e);
    }
  }

  /** The port actually bound (useful when configured with 0). */
  public int port() {
    return connector.getLocalPort();
  }

  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      log.warn("HTTP server did not stop cleanly: {}", e.getMessage());
    }
  }

  /** Paths answered without the database: liveness and readiness. */
  public static final java.util.Set<String> WITHOUT_STORE = java.util.Set.of("/healthz", "/readyz");

  private static final class Dispatch extends Handler.Abstract {
    private final Router router;
    private final ObjectMapper json;
    private final BooleanSupplier storeDown;
    private final Runnable storeFailed;

    Dispatch(Router router, ObjectMapper json, BooleanSupplier storeDown, Runnable storeFailed) {
      this.router = router;
      this.json = json;
      this.storeDown = storeDown;
      this.storeFailed = storeFailed;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      String path = Request.getPathInContext(request);
      String method = request.getMethod();
      response.getHeaders().put("X-Content-Type-Options", "nosniff");
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
      try {
        boolean[] known = new boolean[1];
        var match = router.match(method, path, known);
        if (match.isEmpty()) {
          throw known[0]
              ? new ApiException(405, ErrorCodes.METHOD_NOT_ALLOWED, method + " is not allowed on " + path)
              : new ApiException(404, ErrorCodes.NOT_FOUND, "no such endpoint: " + method + " " + path);
        }
        var m = match.get();
        if (storeDown.getAsBoolean() && !WITHOUT_STORE.contains(path)) {
          writeUnavailable(response, callback);
          return true;
        }
        ApiResponse answer = m.route().handle(new ApiRequest(request, m.variables(), m.maxBodyBytes()));
        finishReading(request, response);
        write(request, response, callback, answer);
      } catch (ApiException e) {
        writeError(response, callback, e.status(), e.body(), e.headers());
      } catch (Throwable e) {
        if (isStoreOutage(e)) {
          log.warn("{} {}: the database is unavailable: {}", method, path, e.getMessage());
          writeUnavailable(response, callback);
        } else {
          log.error("{} {} failed", method, path, e);
          writeError(
              response, callback, 500,
              ErrorBody.of(ErrorCodes.INTERNAL, "internal error; see the Gateway log"), Map.of());
        }
      }
      return true;
    }

    private void writeUnavailable(Response response, Callback callback) {
      writeError(response, callback, 503,
          ErrorBody.of(ErrorCodes.UNAVAILABLE, "the database is unavailable; retry shortly"),
          Map.of("Retry-After", "5"));
    }

    /**
     * Whether {@code e} is the store's outage: a failure that says so (and the store is then
     * checked again at once), or another failure of the store — a pooled connection closed under
     * the request says only "Connection is closed" — while the database does not answer.
     */
    private boolean isStoreOutage(Throwable e) {
      if (isStoreDown(e)) {
        storeFailed.run();
        return true;
      }
      if (involvesStore(e)) {
        storeFailed.run();
        return storeDown.getAsBoolean();
      }
      return false;
    }

    private static boolean involvesStore(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof java.sql.SQLException) {
          return true;
        }
      }
      return false;
    }

    private static boolean isStoreDown(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof WorkaException w && w.retryable()) {
          return true;
        }
        if (t instanceof java.sql.SQLTransientConnectionException) {
          return true;
        }
        // However it was wrapped: a connection failure (08…) or the server shutting down (57P…).
        if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null
            && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P"))) {
          return true;
        }
      }
      return false;
    }

    private void write(Request request, Response response, Callback callback, ApiResponse answer)
        throws Exception {
      switch (answer) {
        case ApiResponse.Json j -> {
          j.headers().forEach((k, v) -> response.getHeaders().put(k, v));
          response.setStatus(j.status());
          if (j.body() == null) {
            callback.succeeded();
            return;
          }
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
          response.write(true, ByteBuffer.wrap(json.writeValueAsBytes(j.body())), callback);
        }
        case ApiResponse.Text t -> {
          response.setStatus(t.status());
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, t.contentType());
          Content.Sink.write(response, true, t.body(), callback);
        }
        case ApiResponse.Streaming s -> {
          response.setStatus(s.status());
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, s.contentType());
          response.getHeaders().put("X-Accel-Buffering", "no");
          try {
            s.body()
                .writeTo(
                    chunk -> {
                      FutureCallback written = new FutureCallback();
                      response.write(false, ByteBuffer.wrap(chunk.getBytes(StandardCharsets.UTF_8)), written);
                      written.get();
                    });
            response.write(true, null, callback);
          } catch (Exception e) {
            callback.failed(e);
          }
        }
      }
    }

    /**
     * A body the route did not read (a refusal decided from the headers) is read and discarded
     * before answering, so the client can finish sending and reuse the connection; if too much is
     * left, the answer says the connection closes instead of leaving the client to find out.
     */
    private static void finishReading(Request request, Response response) {
      if (!ApiRequest.discardUnread(request)) {
        response.getHeaders().put(HttpHeader.CONNECTION, "close");
      }
    }

    private void writeError(
        Response response, Callback callback, int status, ErrorBody body, Map<String, String> headers) {
      try {
        if (response.isCommitted()) {
          callback.failed(new IllegalStateException("response already committed"));
          return;
        }
        finishReading(response.getRequest(), response);
        response.setStatus(status);
        headers.forEach((k, v) -> response.getHeaders().put(k, v));
        if (status == 413) {
          // A refused body over the drain limit is never read whole: this connection is done.
          response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(json.writeValueAsBytes(body)), callback);
      } catch (Exception e) {
        callback.failed(e);
      }
    }
  }
}
