package dev.worka.agents;

import dev.worka.agents.model.CallSpans;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The spans of one step attempt, noted in memory while it runs — the agent's run of the step (index
 * 0) and a child per Gateway call — without loading OpenTelemetry: {@link SpanExport} turns them
 * into SDK spans once the work is done, so a step's start pays nothing for tracing.
 */
final class StepSpans implements CallSpans {
  /** The step's span: the root of the agent's tree. */
  static final String STEP = "agent.step";

  /** One span as noted: {@code parent} is the index of its parent, or -1 for the root. */
  record Noted(
      int parent,
      String name,
      long startNanos,
      long endNanos,
      Map<String, Object> attributes,
      String error) {}

  private final Clock clock;
  private final List<Open> spans = new ArrayList<>();

  StepSpans(Clock clock, String agent) {
    this.clock = clock;
    Open root = new Open(-1, STEP, now());
    root.attribute("agent.name", agent);
    spans.add(root);
  }

  @Override
  public synchronized Open start(String name) {
    Open span = new Open(0, name, now());
    spans.add(span);
    return span;
  }

  /** The step's own span. */
  synchronized Open step() {
    return spans.get(0);
  }

  /** Every span, the root first; one still open ends now. */
  synchronized List<Noted> noted() {
    long now = now();
    List<Noted> out = new ArrayList<>();
    for (Open s : spans) {
      synchronized (s) {
        out.add(
            new Noted(
                s.parent,
                s.name,
                s.start,
                s.end == 0 ? now : s.end,
                Map.copyOf(s.attributes),
                s.error));
      }
    }
    return out;
  }

  /**
   * Whether {@code traceparent} is W3C trace context with its sampled flag set (no OpenTelemetry
   * class is loaded to tell).
   */
  static boolean sampled(String traceparent) {
    return traceparent != null
        && traceparent.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
        && (Integer.parseInt(traceparent.substring(53, 55), 16) & 1) == 1;
  }

  private long now() {
    Instant at = clock.instant();
    return at.getEpochSecond() * 1_000_000_000L + at.getNano();
  }

  /** A span being noted. */
  final class Open implements CallSpans.Call {
    private final int parent;
    private final String name;
    private final long start;
    private final Map<String, Object> attributes = new LinkedHashMap<>();
    private long end;
    private String error;

    private Open(int parent, String name, long start) {
      this.parent = parent;
      this.name = name;
      this.start = start;
    }

    @Override
    public synchronized Open attribute(String key, String value) {
      if (value != null) {
        attributes.put(key, value);
      }
      return this;
    }

    @Override
    public synchronized Open attribute(String key, long value) {
      attributes.put(key, value);
      return this;
    }

    @Override
    public synchronized Open failed(String message) {
      error = message == null ? "failed" : message;
      return this;
    }

    @Override
    public void end() {
      long at = now();
      synchronized (this) {
        if (end == 0) {
          end = at;
        }
      }
    }
  }
}
