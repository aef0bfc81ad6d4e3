package dev.worka.gateway.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every declared transition is exercised against the database (compare-and-set plus its event row),
 * every undeclared one is refused, and terminal states are final. This applies each pair straight
 * through the stores; whether the Gateway's own code paths make every declared move is counted from
 * what the whole suite produced, by {@link StateMachineCoverage} (which leaves this test out).
 */
class StateMachineTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));
  private final StepStore steps = new StepStore(clock);

  @Test
  void theDeclaredRunMachineIsDesignSection4() {
    Set<Map.Entry<RunStatus, RunStatus>> expected = new HashSet<>();
    expected.add(Map.entry(RunStatus.RECEIVED, RunStatus.PLANNING));
    expected.add(Map.entry(RunStatus.PLANNING, RunStatus.RUNNING));
    expected.add(Map.entry(RunStatus.RUNNING, RunStatus.DELIVERING));
    expected.add(Map.entry(RunStatus.DELIVERING, RunStatus.SUCCEEDED));
    for (RunStatus from :
        List.of(RunStatus.RECEIVED, RunStatus.PLANNING, RunStatus.RUNNING, RunStatus.DELIVERING)) {
      for (RunStatus to : List.of(RunStatus.FAILED, RunStatus.REJECTED, RunStatus.CANCELLED)) {
        expected.add(Map.entry(from, to));
      }
    }
    assertEquals(expected, RunStatus.MACHINE.transitions());
  }

  @Test
  void everyDeclaredRunTransitionIsAppliedWithItsEventAndNothingElseIs() throws Exception {
    UUID manifest = insertManifest();
    Set<Map.Entry<RunStatus, RunStatus>> exercised = new HashSet<>();
    for (RunStatus from : RunStatus.values()) {
      for (RunStatus to : RunStatus.values()) {
        UUID runId = newRunIn(manifest, from);
        Transition t =
            Transactions.inTransaction(
                db.dataSource(),
                c -> runs.transition(c, runId, from, to, "test", "move", null, null));
        if (RunStatus.MACHINE.allows(from, to)) {
          assertInstanceOf(Transition.Applied.class, t, from + " -> " + to);
          exercised.add(Map.entry(from, to));
          Run after =
              Transactions.withConnection(db.dataSource(), c -> runs.find(c, runId, Lock.NONE))
                  .orElseThrow();
          assertEquals(to, after.status());
          assertEquals(to.terminal(), after.completedAt() != null);
          var events =
              Transactions.withConnection(db.dataSource(), c -> RunEvents.of(c, runId, 0, 100));
          var last = events.get(events.size() - 1);
          assertEquals(from.sql(), last.from());
          assertEquals(to.sql(), last.to());
        } else {
          assertInstanceOf(Transition.Illegal.class, t, from + " -> " + to);
          Run after =
              Transactions.withConnection(db.dataSource(), c -> runs.find(c, runId, Lock.NONE))
                  .orElseThrow();
          assertEquals(from, after.status(), "an illegal move changes nothing");
        }
      }
    }
    assertEquals(RunStatus.MACHINE.transitions(), exercised);
    for (RunStatus s : RunStatus.values()) {
      if (s.terminal()) {
        for (RunStatus to : RunStatus.values()) {
          assertFalse(RunStatus.MACHINE.allows(s, to), "terminal " + s + " is final");
        }
      }
    }
  }

  @Test
  void everyDeclaredStepTransitionIsAppliedWithItsEventAndNothingElseIs() throws Exception {
    UUID manifest = insertManifest();
    UUID runId = newRunIn(manifest, RunStatus.RUNNING);
    Set<Map.Entry<StepStatus, StepStatus>> exercised = new HashSet<>();
    int n = 0;
    for (StepStatus from : StepStatus.values()) {
      for (StepStatus to : StepStatus.values()) {
        UUID stepId = newStepIn(runId, from, "s" + n++);
        Transition t =
            Transactions.inTransaction(
                db.dataSource(),
                c ->
                    steps.transition(
                        c, stepId, from, to, null, StepStore.Change.NONE, "test", null));
        Step after =
            Transactions.withConnection(db.dataSource(), c -> steps.find(c, stepId, Lock.NONE))
                .orElseThrow();
        if (StepStatus.MACHINE.allows(from, to)) {
          assertInstanceOf(Transition.Applied.class, t, from + " -> " + to);
          assertEquals(to, after.status());
          exercised.add(Map.entry(from, to));
        } else {
          assertInstanceOf(Transition.Illegal.class, t, from + " -> " + to);
          assertEquals(from, after.status());
        }
      }
    }
    assertEquals(StepStatus.MACHINE.transitions(), exercised);
    assertTrue(StepStatus.MACHINE.allows(StepStatus.RUNNING, StepStatus.RETRY_WAIT));
    assertTrue(StepStatus.MACHINE.allows(StepStatus.AWAITING_APPROVAL, StepStatus.QUEUED));
  }

  @Test
  void aCompareAndSetLosesWhenTheRowMovedFirstOrTheAttemptChanged() throws Exception {
    UUID manifest = insertManifest();
    UUID runId = newRunIn(manifest, RunStatus.PLANNING);
    Transition first =
        Transactions.inTransaction(
            db.dataSource(),
            c ->
                runs.transition(
                    c, runId, RunStatus.PLANNING, RunStatus.CANCELLED, "a", null, null, null));
    Transition second =
        Transactions.inTransaction(
            db.dataSource(),
            c ->
                runs.transition(
                    c, runId, RunStatus.PLANNING, RunStatus.RUNNING, "b", null, null, null));
    assertInstanceOf(Transition.Applied.class, first);
    assertEquals(new Transition.LostRace("cancelled"), second);

    UUID stepId = newStepIn(runId, StepStatus.QUEUED, "x");
    Transition start =
        Transactions.inTransaction(
            db.dataSource(),
            c ->
                steps.transition(
                    c,
                    stepId,
                    StepStatus.QUEUED,
                    StepStatus.RUNNING,
                    0,
                    new StepStore.Change(null, null, null, clock.instant(), true),
                    "t",
                    null));
    assertInstanceOf(Transition.Applied.class, start);
    Transition staleAttempt =
        Transactions.inTransaction(
            db.dataSource(),
            c ->
                steps.transition(
                    c,
                    stepId,
                    StepStatus.RUNNING,
                    StepStatus.SUCCEEDED,
                    0,
                    StepStore.Change.NONE,
                    "t",
                    null));
    assertInstanceOf(Transition.LostRace.class, staleAttempt);
    Transition rightAttempt =
        Transactions.inTransaction(
            db.dataSource(),
            c ->
                steps.transition(
                    c,
                    stepId,
                    StepStatus.RUNNING,
                    StepStatus.SUCCEEDED,
                    1,
                    StepStore.Change.NONE,
                    "t",
                    null));
    assertInstanceOf(Transition.Applied.class, rightAttempt);
  }

  private UUID insertManifest() {
    UUID id = UUID.randomUUID();
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "insert into policy_manifests (id, version, sha256, source_text, compiled, created_by)"
                      + " values (?, 1, 'x', 'x', '{}', 'test')")) {
            ps.setObject(1, id);
            return ps.executeUpdate();
          }
        });
    return id;
  }

  private UUID newRunIn(UUID manifest, RunStatus status) throws SQLException {
    return Transactions.inTransaction(
        db.dataSource(),
        c -> {
          Run run =
              runs.insert(
                  c,
                  new RunStore.NewRun(
                      RunSource.API,
                      "t",
                      null,
                      new ReplyTo.Nowhere(),
                      null,
                      null,
                      "trace",
                      manifest,
                      null),
                  "test");
          try (PreparedStatement ps =
              c.prepareStatement("update runs set status = ? where id = ?")) {
            ps.setString(1, status.sql());
            ps.setObject(2, run.id());
            ps.executeUpdate();
          }
          return run.id();
        });
  }

  private UUID newStepIn(UUID runId, StepStatus status, String ref) throws SQLException {
    UUID id = UUID.randomUUID();
    return Transactions.inTransaction(
        db.dataSource(),
        c -> {
          steps.insert(
              c,
              new StepStore.NewStep(
                  id,
                  runId,
                  null,
                  ref,
                  StepRole.WORKER,
                  "ernest",
                  1,
                  "{}",
                  List.of(),
                  List.of(),
                  1),
              "test",
              "trace");
          try (PreparedStatement ps =
              c.prepareStatement("update steps set status = ? where id = ?")) {
            ps.setString(1, status.sql());
            ps.setObject(2, id);
            ps.executeUpdate();
          }
          return id;
        });
  }
}
