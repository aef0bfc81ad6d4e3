package dev.worka.gateway.delivery;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.BurnKind;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.StoreException;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.protocol.Json;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends what runs owe the places their requests came from ({@code run_notifications}): claims due
 * acknowledgements and results (each claim starts an attempt), records a {@code delivery.post} gate
 * for the attempt before anything is posted ({@link DeliveryPolicy}: only to the place the request
 * came from; a deny fails the notification for good, with a burn), hands it to its source's {@link
 * RunNotifier}, and records the outcome. A failure is tried again after a growing delay (with
 * jitter) up to {@link #MAX_ATTEMPTS} (attempts cut off by a dying Gateway count too); after the
 * last, or at once when it is not retryable, the notification is {@code failed} and a {@code
 * delivery} burn says why. A Gateway that dies while sending leaves its claim to expire, so the
 * next one sends again; a notifier told that an earlier attempt may have posted looks for that
 * answer first (GitHub and Slack answers carry a marker), so it is posted once, never lost.
 */
public final class NotifyRuns implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NotifyRuns.class);
  static final int MAX_ATTEMPTS = 6;
  static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  static final Duration MAX_RETRY = Duration.ofMinutes(2);
  private static final Duration CLAIM = Duration.ofMinutes(2);
  private static final Duration IDLE_POLL = Duration.ofMillis(500);

  private final DataSource dataSource;
  private final RunStore runs;
  private final RunNotifications notifications;
  private final AuditLog audit;
  private final Map<RunSource, RunNotifier> notifiers;
  private final InstantSource clock;
  private final RandomGenerator random;
  private final String owner;
  private final Semaphore wake = new Semaphore(0);
  private final Tracing tracing;
  private volatile Thread loop;
  private volatile boolean stopping;

  public NotifyRuns(
      DataSource dataSource,
      RunStore runs,
      RunNotifications notifications,
      AuditLog audit,
      Collection<RunNotifier> notifiers,
      InstantSource clock,
      RandomGenerator random,
      String owner) {
    this(dataSource, runs, notifications, audit, notifiers, clock, random, owner, Tracing.off());
  }

  /** As the other constructor, each sending a span of its run's trace ({@code tracing}). */
  public NotifyRuns(
      DataSource dataSource,
      RunStore runs,
      RunNotifications notifications,
      AuditLog audit,
      Collection<RunNotifier> notifiers,
      InstantSource clock,
      RandomGenerator random,
      String owner,
      Tracing tracing) {
    this.tracing = tracing;
    this.dataSource = dataSource;
    this.runs = runs;
    this.notifications = notifications;
    this.audit = audit;
    this.notifiers =
        notifiers.stream()
            .collect(Collectors.toUnmodifiableMap(RunNotifier::source, Function.identity()));
    this.clock = clock;
    this.random = random;
    this.owner = owner;
  }

  public void start() {
    loop =
        Thread.ofVirtual()
            .name("notify-runs")
            .start(
                () -> {
                  while (!stopping) {
                    try {
                      if (sendDue(16) == 0) {
                        wake.tryAcquire(IDLE_POLL.toMillis(), TimeUnit.MILLISECONDS);
                      }
                    } catch (InterruptedException e) {
                      return;
                    } catch (StoreException e) {
                      log.warn(
                          "sending run notifications: the database failed ({}); trying again shortly",
                          e.getMessage());
                      sleepQuietly();
                    } catch (RuntimeException e) {
                      log.error("sending run notifications failed; trying again shortly", e);
                      sleepQuietly();
                    }
                  }
                });
  }

  /** Asks the loop to look for due notifications now (e.g. a run just ended). */
  public void wakeUp() {
    wake.release();
  }

  /** Claims and sends up to {@code max} due notifications; returns how many were handled. */
  int sendDue(int max) {
    List<RunNotifications.Notification> due =
        Transactions.inTransaction(dataSource, c -> notifications.claim(c, owner, max, CLAIM));
    for (RunNotifications.Notification n : due) {
      send(n);
    }
    return due.size();
  }

  @SuppressWarnings("try") // the span's scope is used by what runs inside it (its children)
  private void send(RunNotifications.Notification n) {
    Run run =
        Transactions.withConnection(dataSource, c -> runs.find(c, n.runId(), Lock.NONE))
            .orElseThrow();
    Span span = tracing.delivery(run.traceId(), run.id(), n.source().sql());
    String kind = n.kind().name().toLowerCase(java.util.Locale.ROOT);
    span.setAttribute("worka.delivery.kind", kind);
    span.setAttribute("worka.delivery.attempt", (long) n.attempts());
    Tracing.LogScope logs = Tracing.logScope(run.traceId(), run.id());
    try (Scope scope = span.makeCurrent()) {
      String outcome = send(n, run);
      span.setAttribute("worka.delivery.outcome", outcome);
      tracing.metrics().delivery(n.source().sql(), kind, outcome);
    } finally {
      logs.close();
      span.end();
    }
  }

  /**
   * Sends {@code n}; answers what happened: {@code sent}, {@code refused}, {@code retrying}, {@code
   * failed}.
   */
  private String send(RunNotifications.Notification n, Run run) {
    RunNotifier notifier = notifiers.get(n.source());
    String error;
    boolean retryable;
    if (n.attempts() > MAX_ATTEMPTS) {
      // The last attempts were cut off (their Gateways died while sending): no more.
      error = "the last attempt ended without an outcome";
      retryable = false;
    } else if (notifier == null) {
      error =
          "no " + n.source().sql() + " connection is configured on this Gateway to answer there";
      retryable = true; // another Gateway, or this one after a restart, may have it
    } else if (!gate(run, n, notifier)) {
      return "refused";
    } else {
      try {
        Optional<String> ref =
            switch (n.kind()) {
              case ACK -> notifier.acknowledge(run, n.maybeSentBefore());
              case RESULT -> notifier.deliver(run, n.maybeSentBefore());
              case APPROVAL -> notifier.askApproval(run, n.approvalId(), n.maybeSentBefore());
              case DECISION -> notifier.tellDecision(run, n.approvalId(), n.maybeSentBefore());
            };
        Transactions.inTransaction(
            dataSource,
            c -> notifications.sent(c, n.runId(), n.storedKind(), owner, ref.orElse(null)));
        log.info(
            "run {}: {} sent to {}{}",
            n.runId(),
            n.kind(),
            n.source(),
            ref.map(r -> " (" + r + ")").orElse(""));
        return "sent";
      } catch (NotificationFailedException e) {
        error = e.getMessage();
        retryable = e.retryable();
      } catch (RuntimeException e) {
        error = e.toString();
        retryable = true;
      }
    }
    int attempt = n.attempts();
    Instant next =
        retryable && attempt < MAX_ATTEMPTS ? clock.instant().plus(delay(attempt)) : null;
    String why = error;
    Transactions.inTransaction(
        dataSource,
        c -> {
          if (notifications.attemptFailed(c, n.runId(), n.storedKind(), owner, why, next)
              && next == null) {
            deliveryBurn(
                c, n, "could not be sent after " + attempt + " attempt(s): " + why, retryable);
          }
          return null;
        });
    if (next == null) {
      log.warn(
          "run {}: the {} to {} failed for good after {} attempt(s): {}",
          n.runId(),
          n.kind(),
          n.source(),
          attempt,
          why);
    } else {
      log.info(
          "run {}: the {} to {} failed (attempt {}), trying again at {}: {}",
          n.runId(),
          n.kind(),
          n.source(),
          attempt,
          next,
          why);
    }
    return next == null ? "failed" : "retrying";
  }

  /**
   * The {@code delivery} burn of a notification that failed for good: "the KIND to SOURCE " +
   * {@code what}, with its kind, source, attempts and whether its last failure was retryable.
   */
  private void deliveryBurn(
      Connection c, RunNotifications.Notification n, String what, boolean retryable)
      throws SQLException {
    audit.recordBurn(
        c,
        n.runId(),
        null,
        null,
        null,
        BurnKind.DELIVERY,
        "the " + n.kind().sql() + " to " + n.source().sql() + " " + what,
        Json.write(
            Map.of(
                "kind",
                n.kind().sql(),
                "source",
                n.source().sql(),
                "attempts",
                n.attempts(),
                "retryable",
                retryable)));
  }

  /**
   * Records the {@code delivery.post} gate of this attempt before anything is posted ({@link
   * DeliveryPolicy}): allow — the post may go; deny — the notification fails for good, with a
   * {@code delivery} burn, in the same transaction. Returns whether to post.
   */
  private boolean gate(Run run, RunNotifications.Notification n, RunNotifier notifier) {
    DeliveryPolicy.Decision decision =
        DeliveryPolicy.decide(run, n, notifier.source(), notifier.place(run), MAX_ATTEMPTS);
    boolean allowed = decision instanceof DeliveryPolicy.Decision.Allow;
    Transactions.inTransaction(
        dataSource,
        c -> {
          if (!allowed
              && notifications.attemptFailed(
                  c, n.runId(), n.storedKind(), owner, decision.reason(), null)) {
            deliveryBurn(c, n, "was refused: " + decision.reason(), false);
          }
          return audit.recordGate(
              c,
              new AuditLog.Decision(
                  GateAction.DELIVERY_POST,
                  allowed ? GateStatus.ALLOW : GateStatus.DENY,
                  DeliveryPolicy.SUBJECT,
                  n.runId(),
                  null,
                  null,
                  null,
                  decision.reason(),
                  run.policyManifestId(),
                  run.traceId()));
        });
    if (!allowed) {
      log.warn(
          "run {}: the {} to {} was refused: {}",
          n.runId(),
          n.kind(),
          n.source(),
          decision.reason());
    }
    return allowed;
  }

  /**
   * Full jitter over an exponential cap: uniform in [0, min(MAX_RETRY, FIRST_RETRY·2^(attempt-1))].
   */
  private Duration delay(int attempt) {
    long cap = Math.min(MAX_RETRY.toMillis(), FIRST_RETRY.toMillis() << Math.min(attempt - 1, 20));
    return Duration.ofMillis(random.nextLong(cap + 1));
  }

  private void sleepQuietly() {
    try {
      Thread.sleep(IDLE_POLL.toMillis() * 4);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopping = true;
    }
  }

  @Override
  public void close() {
    stopping = true;
    Thread t = loop;
    if (t != null) {
      t.interrupt();
      try {
        t.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
