package dev.worka.gateway.http;

import dev.worka.protocol.ErrorCodes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
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
  private byte[] body;

  ApiRequest(Request request, Map<String, String> pathVariables, long maxBodyBytes) {
    this.request = request;
    this.pathVariables = pathVariables;
    this.query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    this.maxBodyBytes = maxBodyBytes;
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

  public String header(String name) {
    return request.getHeaders().get(name);
  }

  public String authorization() {
    return request.getHeaders().get(HttpHeader.AUTHORIZATION);
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
    if (body().length > 0 && (type == null || !type.toLowerCase().startsWith("application/json"))) {
      throw new ApiException(
          415, ErrorCodes.UNSUPPORTED_MEDIA_TYPE, "send the body as Content-Type: application/json");
    }
  }

  private byte[] readBounded() {
    long declared = request.getLength();
    if (declared > maxBodyBytes) {
      throw tooLarge();
    }
    try (InputStream in = Content.Source.asInputStream(request)) {
      byte[] data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
      if (data.length > maxBodyBytes) {
        throw tooLarge();
      }
      return data;
    } catch (IOException e) {
      throw new ApiException(400, ErrorCodes.INVALID_BODY, "could not read the request body: " + e.getMessage());
    }
  }

  private ApiException tooLarge() {
    return new ApiException(
        413, ErrorCodes.TOO_LARGE, "the body is larger than " + maxBodyBytes + " bytes");
  }
}
