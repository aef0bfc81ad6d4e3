package dev.worka.gateway.memory;

import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes what a succeeded run's steps did into their agents' namespaces: the poisoning guard. Only
 * a run that <b>succeeded</b> is remembered (a failed, rejected or cancelled run — whatever its
 * steps said — is not), only its <b>succeeded</b> steps, and only what the Gateway accepted and
 * cleaned of them: the step's objective (the accepted plan's), its cleaned summary and, for a
 * worker, its cleaned output — never a worker's raw words, which the Gateway does not keep. The
 * text is cleaned again here (the cleaning of outputs: secrets, token formats, broadcasts,
 * invisible characters) and cut to {@value #MAX_TEXT} characters. A text an operator forgot in that
 * namespace is not remembered again.
 *
 * <p>Best-effort: a store that fails is logged, and the run stays what it is. Called by the control
 * loop after a run succeeded, never from an agent route.
 */
public final class RememberRun {
  private static final Logger log = LoggerFactory.getLogger(RememberRun.class);

  /** The longest text one memory holds, in characters. */
  public static final int MAX_TEXT = 2000;

  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final MemoryStore store;
  private final OutputCleaner cleaner;
  private final InstantSource clock;

  RememberRun(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      MemoryStore store,
      OutputCleaner cleaner,
      InstantSource clock) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.store = store;
    this.cleaner = cleaner;
    this.clock = clock;
  }

  /**
   * Remembers run {@code runId}'s work if it succeeded; returns how many memories were written.
   * Reading the run is the database's (a failure there is thrown, so the task is retried); writing
   * to the store is best-effort (a failure is logged, nothing thrown).
   */
  public int remember(UUID runId) {
    record Work(Run run, List<Step> steps) {}
    Optional<Work> work =
        Transactions.withConnection(
            dataSource,
            c ->
                runs.find(c, runId, Lock.NONE)
                    .filter(r -> r.status() == RunStatus.SUCCEEDED)
                    .map(r -> new Work(r, uncheckedSteps(c, runId))));
    if (work.isEmpty()) {
      return 0; // not succeeded: nothing of it is remembered
    }
    int written = 0;
    for (Step step : work.get().steps()) {
      if (step.status() != StepStatus.SUCCEEDED) {
        continue;
      }
      String text = text(step);
      if (text.isBlank() || forgotten(step.agent(), text)) {
        continue;
      }
      try {
        store.add(
            new Memory(
                UUID.randomUUID().toString(),
                step.agent(),
                runId,
                step.id(),
                text,
                clock.instant()));
        written++;
      } catch (RuntimeException e) {
        log.warn(
            "memory: could not remember step {} of run {} in {}'s namespace ({} store): {}"
                + " (the run is not affected)",
            step.id(),
            runId,
            step.agent(),
            store.name(),
            e.toString());
      }
    }
    return written;
  }

  private List<Step> uncheckedSteps(java.sql.Connection c, UUID runId) {
    try {
      return steps.ofRun(c, runId);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("could not read the steps of run " + runId, e);
    }
  }

  /**
   * The memory of {@code step}: its objective, summary and (for a worker) output, each cleaned as
   * outputs are, cut to {@value #MAX_TEXT} characters.
   */
  String text(Step step) {
    StringBuilder b = new StringBuilder();
    String objective = Json.parse(step.instructionJson()).path("objective").asText("");
    if (!objective.isBlank()) {
      b.append("objective: ").append(objective.strip()).append('\n');
    }
    if (step.summary() != null && !step.summary().isBlank()) {
      b.append("summary: ").append(step.summary().strip()).append('\n');
    }
    if (step.role() == StepRole.WORKER && step.outputJson() != null) {
      String output = step.outputJson().strip();
      if (!output.isEmpty() && !output.equals("null") && !output.equals("{}")) {
        b.append("output: ").append(output);
      }
    }
    String cleaned = cleaner.cleanText(b.toString().strip(), new HashMap<>());
    return cut(cleaned, MAX_TEXT);
  }

  /** Whether an operator forgot this very text in {@code agent}'s namespace. */
  private boolean forgotten(String agent, String text) {
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.one(
                    c,
                    "select 1 from memory_forgets where agent = ? and sha256 = ? limit 1",
                    rs -> true,
                    agent,
                    Digest.sha256(text))
                .isPresent());
  }

  /** {@code s} cut to at most {@code max} characters, never inside a surrogate pair. */
  static String cut(String s, int max) {
    if (s.length() <= max) {
      return s;
    }
    int end = max - 1;
    if (Character.isHighSurrogate(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(0, end) + "…";
  }
}
