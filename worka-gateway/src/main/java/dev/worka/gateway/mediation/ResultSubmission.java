package dev.worka.gateway.mediation;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an attempt's result came to ({@link AcceptResult#submit}): recorded, invalid, or too late
 * (the step no longer running). Never thrown: the REST route and the MCP tool {@code
 * worka.submit_result} switch on it.
 */
public sealed interface ResultSubmission
    permits ResultSubmission.Recorded, Refusal.InvalidInput, Refusal.Conflict {

  /**
   * Recorded: the step succeeded, or the attempt failed (retried unless it said it may not be);
   * {@code cleaned} counts what the output cleaner changed, by kind (in the kinds' order).
   */
  record Recorded(boolean succeeded, Map<String, Integer> cleaned) implements ResultSubmission {
    public Recorded {
      cleaned = Collections.unmodifiableSortedMap(new TreeMap<>(cleaned));
    }
  }
}
