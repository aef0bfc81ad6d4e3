package dev.worka.gateway.invocation;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.run.ReplyTo;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The model budget's reservations and the lock that makes a run's decisions one at a time. */
class ModelBudgetTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final ModelUsageStore usage = new ModelUsageStore();
  private final AuditLog audit = new AuditLog(clock);
  private Run run;

  @BeforeEach
  void aRun() {
    UUID policy =
        new dev.worka.gateway.policy.PolicyStore(db.dataSource(), clock)
            .activate(dev.worka.gateway.policy.BuiltinPolicy.source(), "test")
            .id();
    run =
        Transactions.inTransaction(
            db.dataSource(),
            c ->
                new RunStore(clock, new RunNotifications(clock))
                    .insert(
                        c,
                        new RunStore.NewRun(
                            RunSource.API,
                            "t",
                            null,
                            new ReplyTo.Nowhere(),
                            null,
                            "hash",
                            "trace",
                            policy,
                            null),
                        "test"));
  }

  private Gate allowGate(Connection c) throws java.sql.SQLException {
    return allowGate(c, null);
  }

  private Gate allowGate(Connection c, UUID step) throws java.sql.SQLException {
    return audit.recordGate(
        c,
        new AuditLog.Decision(
            GateAction.MODEL_INVOKE,
            GateStatus.ALLOW,
            "hari",
            run.id(),
            step,
            step == null ? null : 1,
            null,
            "test",
            run.policyManifestId(),
            "trace"));
  }

  @Test
  void aCallWithoutUsageStopsBeingUnderWayAfterItsLifetimeButItsReservationStaysSpent() {
    UUID step = UUID.randomUUID();
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          usage.reserve(c, allowGate(c, step).id(), run.id(), 800, clock.instant());
          return null;
        });
    assertEquals(
        800L,
        (long)
            Transactions.withConnection(db.dataSource(), c -> usage.reservedTokens(c, run.id())));
    assertEquals(
        1,
        (int)
            Transactions.withConnection(
                db.dataSource(), c -> usage.callsUnderWay(c, run.id(), step, clock.instant())));
    clock.advance(ModelUsageStore.RESERVATION_LIFETIME.plusSeconds(1));
    assertEquals(
        0,
        (int)
            Transactions.withConnection(
                db.dataSource(), c -> usage.callsUnderWay(c, run.id(), step, clock.instant())),
        "a call whose Gateway died mid-call no longer holds one of its step's places");
    assertEquals(
        800L,
        (long) Transactions.withConnection(db.dataSource(), c -> usage.reservedTokens(c, run.id())),
        "but the provider may have served it: its reservation stays spent");
  }

  @Test
  void aSecondDecisionOfTheRunWaitsForTheFirstAndSeesItsReservation() throws Exception {
    try (Connection first = db.dataSource().getConnection()) {
      first.setAutoCommit(false);
      usage.lockBudget(first, run.id());
      usage.reserve(first, allowGate(first).id(), run.id(), 800, clock.instant());

      CompletableFuture<Long> second =
          CompletableFuture.supplyAsync(
              () ->
                  Transactions.inTransaction(
                      db.dataSource(),
                      c -> {
                        usage.lockBudget(c, run.id());
                        return usage.reservedTokens(c, run.id());
                      }));
      awaitWaitingForAdvisoryLock();
      first.commit();
      assertEquals(
          800L,
          second.get(30, TimeUnit.SECONDS),
          "it decided after the first committed, seeing its reservation");
    }
  }

  /**
   * Until some backend waits for an advisory lock (the second decision is blocked on the first).
   */
  private static void awaitWaitingForAdvisoryLock() throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      await("the second decision waiting for the first (advisory locks not granted)")
          .atMost(Duration.ofSeconds(30))
          .pollInSameThread() // on the test's connection
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                try (ResultSet rs =
                    s.executeQuery(
                        "select count(*) from pg_locks where locktype = 'advisory' and not granted")) {
                  rs.next();
                  return rs.getInt(1);
                }
              },
              waiting -> waiting > 0);
    }
  }
}
