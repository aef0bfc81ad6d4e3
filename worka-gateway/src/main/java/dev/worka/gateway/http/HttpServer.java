package dev.worka.gateway.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.worka.gateway.error.WorkaException;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
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
import org.slf4j.MDC;

/**
 * The Gateway's HTTP server: Jetty 12 core handlers on virtual threads, dispatching to a router. It
 * listens on one port, or on two: the main one ({@code WORKA_HTTP_PORT}) and an ingress port
 * ({@code WORKA_INGRESS_PORT}) that serves only the router's {@link Exposure#PUBLIC} and {@link
 * Exposure#EVERYWHERE} routes, while the main one then serves all but the public ones.
 */
public final class HttpServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  /** Where a listener binds. */
  public record Address(String host, int port) {}

  private final Server server;
  private final ServerConnector connector;
  private final ServerConnector ingress;
  private final Router router;

  public HttpServer(String host, int port, Router router, ObjectMapper json) {
    this(host, port, router, json, () -> false, () -> {});
  }

  /**
   * @param storeDown whether the database is known to be down right now: then every request but
   *     {@link #WITHOUT_STORE}'s is answered {@code 503} with {@code Retry-After} at once, instead
   *     of after waiting for a connection. (A request that fails on the store is answered the same
   *     way whatever this says; failures that are not the store's are {@code 500}.)
   * @param storeFailed told when a request failed because the store is unavailable (so whoever
   *     answers {@code storeDown} can check again now)
   */
  public HttpServer(
      String host,
      int port,
      Router router,
      ObjectMapper json,
      BooleanSupplier storeDown,
      Runnable storeFailed) {
    this(new Address(host, port), java.util.Optional.empty(), router, json, storeDown, storeFailed);
  }

  /**
   * A server on {@code main} and, if present, an {@code ingress} listener for the public routes
   * only (see the class doc); otherwise every route is on {@code main}. The other parameters are
   * those of {@link #HttpServer(String, int, Router, ObjectMapper, BooleanSupplier, Runnable)}.
   */
  public HttpServer(
      Address main,
      java.util.Optional<Address> ingress,
      Router router,
      ObjectMapper json,
      BooleanSupplier storeDown,
      Runnable storeFailed) {
    QueuedThreadPool threads = new QueuedThreadPool(200, 8);
    threads.setName("worka-http");
    threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server = new Server(threads);
    this.router = router;
    connector = connector(server, main);
    this.ingress = ingress.map(a -> connector(server, a)).orElse(null);
    server.setHandler(new Dispatch(router, json, storeDown, storeFailed, this.ingress));
    server.setStopTimeout(2_000);
  }

  private static ServerConnector connector(Server server, Address address) {
    ServerConnector c = new ServerConnector(server);
    c.setHost(address.host());
    c.setPort(address.port());
    server.addConnector(c);
    return c;
  }

  public void start() {
    open(connector, "WORKA_HTTP_PORT");
    if (ingress != null) {
      open(ingress, "WORKA_INGRESS_PORT");
    }
    try {
      server.start();
    } catch (Exception e) {
      throw new WorkaException("could not start the HTTP server: " + e.getMessage(), e);
    }
    if (ingress == null) {
      List<String> exposed = router.withExposure(Exposure.PUBLIC);
      if (exposed.isEmpty()) {
        log.info(
            "HTTP on http://{}:{}: every route (operator API, agent API)",
            connector.getHost(),
            port());
      } else {
        log.warn(
            "HTTP on http://{}:{}: every route, Slack/GitHub ingress ({}) beside the operator and agent APIs;"
                + " to expose only the ingress, set WORKA_INGRESS_PORT and expose that port alone (docs/slack.md)",
            connector.getHost(),
            port(),
            String.join(", ", exposed));
      }
    } else {
      log.info(
          "HTTP on http://{}:{}: the operator and agent APIs (not the Slack/GitHub ingress)",
          connector.getHost(),
          port());
      log.info(
          "HTTP ingress on http://{}:{}: only {} — the one port to expose to Slack and GitHub",
          ingress.getHost(),
          ingressPort().getAsInt(),
          String.join(", ", router.served(Exposure.Listener.INGRESS)));
    }
  }

  private static void open(ServerConnector c, String variable) {
    try {
      c.open();
    } catch (Exception e) {
      throw new WorkaException(
          "could not listen on "
              + c.getHost()
              + ":"
              + c.getPort()
              + " (is another Worka or program using it? set "
              + variable
              + ")",
          e);
    }
  }

  /** The port actually bound (useful when configured with 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /** The ingress port actually bound, if there is one. */
  public java.util.OptionalInt ingressPort() {
    return ingress == null
        ? java.util.OptionalInt.empty()
        : java.util.OptionalInt.of(ingress.getLocalPort());
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
    private final ServerConnector ingress;

    Dispatch(
        Router router,
        ObjectMapper json,
        BooleanSupplier storeDown,
        Runnable storeFailed,
        ServerConnector ingress) {
      this.router = router;
      this.json = json;
      this.storeDown = storeDown;
      this.storeFailed = storeFailed;
      this.ingress = ingress;
    }

    /** Which listener {@code request} came in on. */
    @SuppressWarnings("ReferenceEquality") // the ingress connector itself, not an equal one
    private Exposure.Listener listener(Request request) {
      if (ingress == null) {
        return Exposure.Listener.ONLY;
      }
      return request.getConnectionMetaData().getConnector() == ingress
          ? Exposure.Listener.INGRESS
          : Exposure.Listener.MAIN;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      try {
        return answer(request, response, callback);
      } finally {
        // A route that served a run's worker put the run's ids on this thread's log lines.
        MDC.remove("run_id");
        MDC.remove("trace_id");
      }
    }

    private boolean answer(Request request, Response response, Callback callback) {
      String path = Request.getPathInContext(request);
      String method = request.getMethod();
      response.getHeaders().put("X-Content-Type-Options", "nosniff");
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
      try {
        boolean[] known = new boolean[1];
        var match = router.match(method, path, known, listener(request));
        if (match.isEmpty()) {
          throw known[0]
              ? new ApiException(
                  405, ErrorCodes.METHOD_NOT_ALLOWED, method + " is not allowed on " + path)
              : new ApiException(
                  404, ErrorCodes.NOT_FOUND, "no such endpoint: " + method + " " + path);
        }
        var m = match.get();
        if (storeDown.getAsBoolean() && !WITHOUT_STORE.contains(path)) {
          writeUnavailable(response, callback);
          return true;
        }
        ApiResponse answer =
            m.route().handle(new ApiRequest(request, m.variables(), m.maxBodyBytes()));
        finishReading(request, response);
        write(response, callback, answer);
      } catch (ApiException e) {
        writeError(response, callback, e.status(), e.body(), e.headers());
      } catch (Throwable e) {
        if (isStoreOutage(e)) {
          log.warn("{} {}: the database is unavailable: {}", method, path, e.getMessage());
          writeUnavailable(response, callback);
        } else {
          log.error("{} {} failed", method, path, e);
          writeError(
              response,
              callback,
              500,
              ErrorBody.of(ErrorCodes.INTERNAL, "internal error; see the Gateway log"),
              Map.of());
        }
      }
      return true;
    }

    private void writeUnavailable(Response response, Callback callback) {
      writeError(
          response,
          callback,
          503,
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
        if (t instanceof java.sql.SQLException sql
            && sql.getSQLState() != null
            && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P"))) {
          return true;
        }
      }
      return false;
    }

    private void write(Response response, Callback callback, ApiResponse answer) throws Exception {
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
        case ApiResponse.Bytes b -> {
          b.headers().forEach((k, v) -> response.getHeaders().put(k, v));
          response.setStatus(b.status());
          if (b.body().length == 0) {
            callback.succeeded();
            return;
          }
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, b.contentType());
          response.write(true, ByteBuffer.wrap(b.body()), callback);
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
                      response.write(
                          false, ByteBuffer.wrap(chunk.getBytes(StandardCharsets.UTF_8)), written);
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
        Response response,
        Callback callback,
        int status,
        ErrorBody body,
        Map<String, String> headers) {
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
