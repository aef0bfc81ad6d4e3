package dev.worka.gateway.http;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a route answers: a status and a value serialized as JSON (or null for no body), with extra
 * headers. Streaming answers (server-sent events) use {@link Streaming} instead.
 */
public sealed interface ApiResponse {

  record Json(int status, Object body, Map<String, String> headers) implements ApiResponse {
    public Json {
      headers = Map.copyOf(headers);
    }
  }

  record Text(int status, String contentType, String body) implements ApiResponse {}

  /**
   * A body of bytes with its content type and headers (which replace the server's defaults, e.g.
   * {@code Cache-Control}): the console's static files and pages.
   */
  @SuppressWarnings("ArrayRecordComponent") // written once as it is, never compared or hashed
  record Bytes(int status, String contentType, byte[] body, Map<String, String> headers)
      implements ApiResponse {
    public Bytes {
      headers = Map.copyOf(headers);
    }
  }

  /** The route writes the body itself, chunk by chunk, until it returns. */
  record Streaming(int status, String contentType, StreamBody body) implements ApiResponse {}

  /** Writes a streamed body. */
  @FunctionalInterface
  interface StreamBody {
    void writeTo(ChunkWriter out) throws Exception;
  }

  /** Sends one chunk and waits until it is written; throws once the client is gone. */
  @FunctionalInterface
  interface ChunkWriter {
    void write(String chunk) throws Exception;
  }

  static ApiResponse ok(Object body) {
    return new Json(200, body, Map.of());
  }

  static ApiResponse status(int status, Object body) {
    return new Json(status, body, Map.of());
  }

  static ApiResponse withHeader(int status, Object body, String name, String value) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put(name, value);
    return new Json(status, body, h);
  }
}
