package dev.worka.gateway.run;

import java.time.Instant;
import java.util.UUID;

/** One recorded transition of a run or of one of its steps. */
public record RunEvent(
    long id,
    UUID runId,
    UUID stepId,
    String entity,
    String from,
    String to,
    String actor,
    String detail,
    String traceId,
    Instant at) {}
