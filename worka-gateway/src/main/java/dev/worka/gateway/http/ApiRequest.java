package dev.worka.gateway.http;

import dev.worka.protocol.ErrorCodes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Fields;

/** One HTTP request as a route sees it: method, path, path variables, headers, query, body. */
public final class ApiRequest {
  private final Request request;
  private final Map<String, String> pathVariables;
  private final Fields query;
  private final long maxBodyBytes;
  private final String authorization;
  private byte[] body;

  ApiRequest(Request request, Map<String, String> pathVariables, long maxBodyBytes) {
    this(request, pathVariables, maxBodyBytes, null);
  }

  /**
   * @param authorization the {@code Authorization} this request carries for its route instead of
   *     the client's header (a request {@link Router#forward forwarded} by the console), or null
   */
  private ApiRequest(
      Request request, Map<String, String> pathVariables, long maxBodyBytes, String authorization) {
    this.request = request;
    this.pathVariables = pathVariables;
    this.query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    this.maxBodyBytes = maxBodyBytes;
    this.authorization = authorization;
  }

  /**
   * This request as another route sees it: its variables and body limit, and {@code authorization}.
   */
  ApiRequest forwarded(Map<String, String> variables, long maxBody, String authorization) {
    if (body != null) {
      throw new IllegalStateException("a request whose body was read cannot be forwarded");
    }
    return new ApiRequest(request, variables, maxBody, authorization);
  }

  public String method() {
    return request.getMethod();
  }

  public String path() {
    return Request.getPathInContext(request);
  }

  public String pathVariable(String name) {
    return pathVariables.get(name);
  }

  /** A header of the client's request ({@link #authorization()} for the credential). */
  public String header(String name) {
    return request.getHeaders().get(name);
  }

  /** The credential: the client's {@code Authorization}, or the one a forwarding route gave. */
  public String authorization() {
    return authorization != null
        ? authorization
        : request.getHeaders().get(HttpHeader.AUTHORIZATION);
  }

  /** Whether the client reached this server over TLS (directly, or as its proxy says). */
  public boolean secure() {
    return request.isSecure()
        || "https".equalsIgnoreCase(request.getHeaders().get("X-Forwarded-Proto"));
  }

  /** The values of a header the client sent (e.g. each {@code Cookie} line). */
  public java.util.List<String> headers(String name) {
    return request.getHeaders().getValuesList(name);
  }

  /** A query parameter, or null. */
  public String query(String name) {
    return query.getValue(name);
  }

  public Fields queryParameters() {
    return query;
  }

  public String remoteAddress() {
    return Request.getRemoteAddr(request);
  }

  /** The address of this server that the connection reached (an IP literal). */
  public String localAddress() {
    return Request.getLocalAddr(request);
  }

  /** The port of this server that the connection reached. */
  public int localPort() {
    return Request.getLocalPort(request);
  }

  /** The body, read at most once; {@code 413} beyond the route's limit. */
  public byte[] body() {
    if (body == null) {
      body = readBounded();
    }
    return body;
  }

  public String bodyText() {
    return new String(body(), StandardCharsets.UTF_8);
  }

  /** Requires a JSON content type when there is a body ({@code 415} otherwise). */
  public void requireJson() {
    String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    if (body().length > 0
        && (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json"))) {
      throw new ApiException(
          415,
          ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
          "send the body as Content-Type: application/json");
    }
  }

  /**
   * How much of a refused body is read and discarded before answering 413, so that a client still
   * uploading it can finish and read the answer (answering mid-upload makes many clients see a
   * reset instead). Beyond it the answer goes out at once and the connection is closed.
   */
  static final long DRAIN_LIMIT = 8L * 1024 * 1024;

  private byte[] readBounded() {
    long declared = request.getLength();
    try (InputStream in = Content.Source.asInputStream(request)) {
      if (declared > maxBodyBytes) {
        drain(in);
        throw tooLarge();
      }
      byte[] data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
      if (data.length > maxBodyBytes) {
        drain(in);
        throw tooLarge();
      }
      return data;
    } catch (IOException e) {
      throw new ApiException(
          400, ErrorCodes.INVALID_BODY, "could not read the request body: " + e.getMessage());
    }
  }

  /**
   * Reads and discards whatever of the request's body is still unread (up to {@link #DRAIN_LIMIT});
   * false if some is left, in which case the connection cannot carry another request and the answer
   * must say {@code Connection: close}.
   */
  static boolean discardUnread(Request request) {
    try (InputStream in = Content.Source.asInputStream(request)) {
      drain(in);
      return in.read() == -1;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static void drain(InputStream in) throws IOException {
    byte[] buffer = new byte[64 * 1024];
    long budget = DRAIN_LIMIT;
    for (int n;
        budget > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, budget))) != -1; ) {
      budget -= n;
    }
  }

  private ApiException tooLarge() {
    return new ApiException(
        413, ErrorCodes.TOO_LARGE, "the body is larger than " + maxBodyBytes + " bytes");
  }
}
