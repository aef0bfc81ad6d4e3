package dev.worka.gateway.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.HexFormat;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The bounds of {@link WorkerSpans} (the route's behaviour through a real Gateway is {@code
 * agent.WorkerSpansTest}): spans per step attempt, another trace's spans, tracing off.
 */
class WorkerSpansBoundsTest {
  static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String OTHER = "0af7651916cd43dd8448eb211c80319c";

  @Test
  void anAttemptSendsAtMostItsCapAndNothingOfAnotherTrace() {
    WorkerSpans spans = new WorkerSpans(Tracing.off());
    WorkerSpans.Stamp stamp =
        new WorkerSpans.Stamp(TRACE, UUID.randomUUID(), UUID.randomUUID(), 1, "ernest");
    ExportTraceServiceRequest.Builder first = ExportTraceServiceRequest.newBuilder();
    ScopeSpans.Builder scope = ScopeSpans.newBuilder();
    for (int i = 0; i < WorkerSpans.MAX_SPANS_PER_ATTEMPT - 1; i++) {
      scope.addSpans(span(TRACE, i));
    }
    scope.addSpans(span(OTHER, 0));
    first.addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(scope));
    assertEquals(
        new WorkerSpans.Forwarded(WorkerSpans.MAX_SPANS_PER_ATTEMPT - 1, 1, 0),
        spans.forward(first.build(), stamp));

    ExportTraceServiceRequest second =
        ExportTraceServiceRequest.newBuilder()
            .addResourceSpans(
                ResourceSpans.newBuilder()
                    .addScopeSpans(
                        ScopeSpans.newBuilder().addSpans(span(TRACE, 1)).addSpans(span(TRACE, 2))))
            .build();
    assertEquals(new WorkerSpans.Forwarded(1, 0, 1), spans.forward(second, stamp));
    // The cap is per attempt: the next attempt of the step starts again.
    WorkerSpans.Stamp next =
        new WorkerSpans.Stamp(TRACE, stamp.runId(), stamp.stepId(), 2, "ernest");
    assertEquals(new WorkerSpans.Forwarded(2, 0, 0), spans.forward(second, next));
  }

  private static Span span(String trace, int i) {
    return Span.newBuilder()
        .setTraceId(ByteString.copyFrom(HexFormat.of().parseHex(trace)))
        .setSpanId(ByteString.copyFrom(HexFormat.of().parseHex(String.format("%016x", i + 1))))
        .setName("s" + i)
        .build();
  }
}
