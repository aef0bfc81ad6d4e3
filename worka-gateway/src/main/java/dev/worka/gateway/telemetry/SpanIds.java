package dev.worka.gateway.telemetry;

import io.opentelemetry.sdk.trace.IdGenerator;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;

/**
 * The span ids of a run's long-lived spans, derived from the ids the database stores, so any thread
 * of any Gateway recreates a parent from {@code (trace id, span id)} without holding it: the first
 * 8 bytes of SHA-256 over {@code kind:id}. Also the SDK's {@link IdGenerator}: a span started
 * inside {@link #next} gets the given ids instead of random ones.
 */
public final class SpanIds implements IdGenerator {
  private static final ThreadLocal<String[]> NEXT = new ThreadLocal<>();
  private final IdGenerator random = IdGenerator.random();

  SpanIds() {}

  /** The ingress span of a run's first request. */
  public static String ingress(UUID runId) {
    return derive("ingress:" + runId);
  }

  /** The run's span. */
  public static String run(UUID runId) {
    return derive("run:" + runId);
  }

  /** A step attempt's span (the worker's {@code TRACEPARENT} parent). */
  public static String attempt(UUID stepId, int attempt) {
    return derive("attempt:" + stepId + ":" + attempt);
  }

  /** A W3C {@code traceparent} (sampled). */
  public static String traceparent(String traceId, String spanId) {
    return "00-" + traceId + "-" + spanId + "-01";
  }

  static String derive(String what) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(what.getBytes(StandardCharsets.UTF_8));
      String id = HexFormat.of().formatHex(h, 0, 8);
      return id.equals("0000000000000000") ? "0000000000000001" : id;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * Runs {@code start} so that the span it starts gets {@code traceId} (or a random one) and {@code
   * spanId}.
   */
  static <T> T next(String traceId, String spanId, java.util.function.Supplier<T> start) {
    NEXT.set(new String[] {traceId, spanId});
    try {
      return start.get();
    } finally {
      NEXT.remove();
    }
  }

  @Override
  public String generateSpanId() {
    String[] next = NEXT.get();
    if (next != null && next[1] != null) {
      String id = next[1];
      next[1] = null;
      return id;
    }
    return random.generateSpanId();
  }

  @Override
  public String generateTraceId() {
    String[] next = NEXT.get();
    if (next != null && next[0] != null) {
      String id = next[0];
      next[0] = null;
      return id;
    }
    return random.generateTraceId();
  }
}
