package dev.worka.gateway.control;

import dev.worka.gateway.audit.Burn;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.run.Transition;
import dev.worka.gateway.store.StoreException;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.SQLException;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/** Creates runs (idempotently) and cancels them. */
public final class RunService {
  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final TaskQueue queue;
  private final RunningWorkers workers;
  private final AuditLog audit;
  private final InstantSource clock;

  public RunService(
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      TaskQueue queue,
      RunningWorkers workers,
      AuditLog audit,
      InstantSource clock) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.queue = queue;
    this.workers = workers;
    this.audit = audit;
    this.clock = clock;
  }

  /** A request to start a run. {@code idempotencyKey} may be null. */
  public record Request(
      String source,
      String text,
      String requester,
      String slackChannel,
      String slackUser,
      String slackThreadTs,
      String deliveryJson,
      String idempotencyKey,
      String traceId) {

    /** A request whose run starts a trace of its own. */
    public Request(String source, String text, String requester, String slackChannel, String slackUser,
        String slackThreadTs, String deliveryJson, String idempotencyKey) {
      this(source, text, requester, slackChannel, slackUser, slackThreadTs, deliveryJson, idempotencyKey, null);
    }

    /**
     * @param traceId the W3C trace id the ingress started for this request (32 lowercase hex,
     *     not all zero), which the run continues; null = a new one
     */
    public Request {
      if (traceId != null && !isTraceId(traceId)) {
        throw new IllegalArgumentException("traceId must be 32 lowercase hex digits, not all zero");
      }
    }
  }

  /** Whether {@code id} is a valid W3C trace id. */
  public static boolean isTraceId(String id) {
    return id != null && id.matches("[0-9a-f]{32}") && !id.equals("0".repeat(32));
  }

  /** The outcome of {@link #create}. */
  public sealed interface Creation {
    /** A new run, or the run an earlier request with the same key and body created. */
    record Created(Run run, boolean replayed) implements Creation {}

    /** The key was used before with a different body. */
    record KeyConflict(UUID existingRunId) implements Creation {}
  }

  public Creation create(Request r) {
    String requestHash = requestHash(r);
    for (int tries = 0; ; tries++) {
      try {
        Creation creation =
            Transactions.inTransaction(
                dataSource,
                c -> {
                  if (r.idempotencyKey() != null) {
                    Optional<Run> existing = runs.findByIdempotencyKey(c, r.idempotencyKey());
                    if (existing.isPresent()) {
                      return existing.get().requestHash().equals(requestHash)
                          ? new Creation.Created(existing.get(), true)
                          : new Creation.KeyConflict(existing.get().id());
                    }
                  }
                  StoredPolicy policy =
                      policies
                          .active()
                          .orElseThrow(() -> new IllegalStateException("no active policy manifest"));
                  Run run =
                      runs.insert(
                          c,
                          new RunStore.NewRun(
                              r.source(),
                              r.text(),
                              r.requester(),
                              r.slackChannel(),
                              r.slackUser(),
                              r.slackThreadTs(),
                              r.deliveryJson(),
                              r.idempotencyKey(),
                              requestHash,
                              r.traceId() != null ? r.traceId() : newTraceId(),
                              policy.id(),
                              clock.instant().plus(policy.policy().limits().runDeadline())),
                          "requester:" + (r.requester() == null ? r.source() : r.requester()));
                  queue.enqueue(c, TaskKinds.START_RUN, run.id(), null, TaskKinds.startKey(run.id()), null);
                  return new Creation.Created(run, false);
                });
        queue.wakeUp();
        return creation;
      } catch (StoreException e) {
        // Two requests with one new key raced: the loser reads the winner's run.
        if (tries == 0 && isUniqueViolation(e)) {
          continue;
        }
        throw e;
      }
    }
  }

  /** The outcome of {@link #cancel}. */
  public sealed interface Cancellation {
    record Cancelled(Run run) implements Cancellation {}

    record AlreadyEnded(Run run) implements Cancellation {}

    record NotFound() implements Cancellation {}
  }

  /** Cancels a run that has not ended: its steps are cancelled and its running workers stopped. */
  public Cancellation cancel(UUID runId, String actor, String reason) {
    List<UUID> wereRunning = new ArrayList<>();
    Cancellation result =
        Transactions.inTransaction(
            dataSource,
            c -> {
              Optional<Run> locked = runs.lock(c, runId);
              if (locked.isEmpty()) {
                return new Cancellation.NotFound();
              }
              Run run = locked.get();
              if (run.status().terminal()) {
                return new Cancellation.AlreadyEnded(run);
              }
              String why = "cancelled by " + actor + (reason == null || reason.isBlank() ? "" : ": " + reason);
              wereRunning.addAll(OpenSteps.cancel(c, steps, steps.ofRun(c, runId), why, actor));
              Transition t =
                  runs.transition(c, runId, run.status(), RunStatus.CANCELLED, actor, why, why, null);
              if (!t.applied()) {
                throw new IllegalStateException("run " + runId + " moved while locked: " + t);
              }
              for (UUID stepId : wereRunning) {
                audit.recordBurn(c, runId, stepId, null, null, Burn.CANCELLED, why, "{}");
              }
              return new Cancellation.Cancelled(runs.find(c, runId).orElseThrow());
            });
    wereRunning.forEach(stepId -> workers.stop(stepId, "run cancelled"));
    return result;
  }

  static String requestHash(Request r) {
    Map<String, Object> canonical = new LinkedHashMap<>();
    canonical.put("source", r.source());
    canonical.put("text", r.text());
    canonical.put("requester", r.requester());
    canonical.put("slack_channel", r.slackChannel());
    canonical.put("slack_thread_ts", r.slackThreadTs());
    try {
      byte[] bytes = Json.STRICT.writeValueAsBytes(canonical);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot hash a request", e);
    }
  }

  /** A W3C trace id: 16 random bytes, hex. */
  public static String newTraceId() {
    UUID u = UUID.randomUUID();
    return String.format("%016x%016x", u.getMostSignificantBits(), u.getLeastSignificantBits());
  }

  private static boolean isUniqueViolation(StoreException e) {
    return e.getCause() instanceof SQLException s && "23505".equals(s.getSQLState());
  }
}
