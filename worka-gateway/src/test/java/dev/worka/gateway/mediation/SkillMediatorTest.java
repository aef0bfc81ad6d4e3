package dev.worka.gateway.mediation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.agent.AgentErrors;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.control.RunningWorkers;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.invocation.InvocationStore;
import dev.worka.gateway.invocation.ReconcileInvocations;
import dev.worka.gateway.invocation.ResolveInvocation;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.queue.TaskQueue;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.run.RunStatus;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepRole;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.StoreException;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.token.WorkerClaims;
import dev.worka.protocol.Json;
import dev.worka.protocol.SkillCallResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The mediated call path against the database: re-checks under locks, limits under races, hostile
 * input.
 */
class SkillMediatorTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));
  private final StepStore steps = new StepStore(clock);
  private final AuditLog audit = new AuditLog(clock);
  private PolicyStore policies;
  private RunService service;
  private SkillMediator mediator;
  private Caller caller;

  @BeforeEach
  void setUp() {
    policies = new PolicyStore(db.dataSource(), clock);
    StoredPolicy policy =
        policies.activate(
            BuiltinPolicy.source()
                .replaceAll("max_skill_calls_per_step: *\\d+", "max_skill_calls_per_step: 5")
                .replaceAll("max_skill_calls_per_run: *\\d+", "max_skill_calls_per_run: 7"),
            "test");
    TaskQueue queue = new TaskQueue(db.dataSource(), clock, "test", Duration.ofSeconds(30));
    service =
        new RunService(
            db.dataSource(), runs, steps, policies, queue, new RunningWorkers(), audit, clock);
    denials = new Denials(audit, steps, queue);
    attempts = new Attempts(db.dataSource(), runs, steps, denials);
    mediator =
        new SkillMediator(
            db.dataSource(),
            new SkillRegistry(CatalogOnlyProvider.builtIn(Map.of()), SideEffectMode.DRY_RUN),
            new InvocationStore(clock),
            audit,
            attempts,
            denials,
            new OutputCleaner(List.of()),
            true);

    this.policy = policy;
    Run run =
        ((RunService.Creation.Created)
                service.create(new RunService.Request(RunSource.API, "t", null, null)))
            .run();
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          runs.transition(
                  c, run.id(), RunStatus.RECEIVED, RunStatus.PLANNING, "t", null, null, null)
              .requireApplied("test setup: run");
          return runs.transition(
              c, run.id(), RunStatus.PLANNING, RunStatus.RUNNING, "t", null, null, null);
        });
    caller = runningStep(run, 1);
  }

  private StoredPolicy policy;
  private Denials denials;
  private Attempts attempts;
  private final Upstream upstream = new Upstream();

  /** A mediator whose github provider is {@link #upstream}, in live mode. */
  private SkillMediator live() {
    return new SkillMediator(
        db.dataSource(),
        new SkillRegistry(List.of(upstream), SideEffectMode.LIVE),
        new InvocationStore(clock),
        audit,
        attempts,
        denials,
        new OutputCleaner(List.of()),
        false);
  }

  /**
   * Thrown where the Gateway would die: nothing after it in the mediator runs (it is not caught
   * there).
   */
  static final class GatewayDied extends Error {
    GatewayDied() {
      super("the Gateway died here", null, false, false);
    }
  }

  /**
   * An upstream that creates issues carrying their invocation's marker, counts its effects, and can
   * "kill the Gateway" before or after the effect, or be unreachable for reconciliation.
   */
  static final class Upstream implements dev.worka.gateway.skill.SkillProvider {
    final List<String> created = java.util.Collections.synchronizedList(new ArrayList<>());
    final java.util.concurrent.atomic.AtomicInteger lookups =
        new java.util.concurrent.atomic.AtomicInteger();
    volatile String dieNext;
    volatile String failWith; // "before" or "after" the effect
    volatile boolean unreachable;
    volatile boolean badOutput;
    private final dev.worka.gateway.skill.SkillProvider catalog = CatalogOnlyProvider.github(true);

    @Override
    public String name() {
      return "github";
    }

    @Override
    public List<dev.worka.gateway.skill.SkillDefinition> skills() {
      return catalog.skills();
    }

    @Override
    public dev.worka.gateway.skill.Availability availability() {
      return new dev.worka.gateway.skill.Availability.Available();
    }

    @Override
    public JsonNode invoke(
        dev.worka.gateway.skill.SkillDefinition skill,
        JsonNode input,
        dev.worka.gateway.skill.InvocationContext ctx) {
      if (failWith != null) {
        throw new dev.worka.gateway.skill.SkillFailedException(skill.name(), failWith, false);
      }
      String die = dieNext;
      dieNext = null;
      if ("before".equals(die)) {
        throw new GatewayDied();
      }
      created.add(input.path("title").asText() + " <!-- " + ctx.marker() + " -->");
      if ("after".equals(die)) {
        throw new GatewayDied();
      }
      if (badOutput) {
        return Json.STRICT
            .createObjectNode()
            .put("number", "seven")
            .put("html_url", "https://example/" + created.size());
      }
      return Json.STRICT
          .createObjectNode()
          .put("number", created.size())
          .put("html_url", "https://example/" + created.size());
    }

    @Override
    public Reconciliation reconcile(
        dev.worka.gateway.skill.SkillDefinition skill,
        JsonNode input,
        dev.worka.gateway.skill.InvocationContext ctx) {
      lookups.incrementAndGet();
      if (unreachable) {
        return new Reconciliation.Unknown("the upstream did not answer");
      }
      synchronized (created) {
        for (int i = 0; i < created.size(); i++) {
          if (created.get(i).contains(ctx.marker())) {
            return new Reconciliation.Performed(
                Json.STRICT
                    .createObjectNode()
                    .put("number", i + 1)
                    .put("html_url", "https://example/" + (i + 1)),
                "https://example/" + (i + 1));
          }
        }
      }
      return new Reconciliation.NotPerformed(
          "none of " + created.size() + " issues carries " + ctx.marker());
    }

    @Override
    public java.util.Optional<String> upstreamRef(
        dev.worka.gateway.skill.SkillDefinition skill, JsonNode output) {
      return java.util.Optional.of(output.path("html_url").asText());
    }
  }

  /**
   * The answer of a call that went through, as the REST route gives it; a refusal is thrown as the
   * agent routes answer it ({@link AgentErrors}), so a test that expects one catches that.
   */
  private static SkillCallResult answered(SkillCall outcome) {
    return switch (outcome) {
      case SkillCall.Performed p ->
          new SkillCallResult(p.invocationId().toString(), p.output(), false);
      case SkillCall.Replayed r ->
          new SkillCallResult(r.invocationId().toString(), r.output(), true);
      case SkillCall.AwaitingApproval w ->
          throw new AssertionError("the call waits for approval " + w.approvalId());
      case Refusal r -> throw AgentErrors.of(r);
    };
  }

  /**
   * The refusal a call came to (never thrown: returned), as the agent routes answer it ({@link
   * AgentErrors}): its status, error body and headers.
   */
  private static ApiException refused(SkillCall outcome) {
    return AgentErrors.of(
        assertInstanceOf(Refusal.class, outcome, () -> "a refusal, not " + outcome));
  }

  private InvocationStore.Invocation onlyInvocation() {
    List<InvocationStore.Invocation> all =
        Transactions.withConnection(
            db.dataSource(), c -> new InvocationStore(clock).ofRun(c, caller.run().id()));
    assertEquals(1, all.size(), all.toString());
    return all.get(0);
  }

  @Test
  void aCallWhoseGatewayDiedAfterTheEffectIsFoundUpstreamAndNeverPerformedTwice() {
    SkillMediator mediator = live();
    upstream.dieNext = "after";
    assertThrows(
        GatewayDied.class,
        () -> mediator.call(caller, "github.create_issue", issue("crash"), null));
    assertEquals("started", onlyInvocation().status(), "the outcome was never recorded");

    ApiException early =
        refused(mediator.call(caller, "github.create_issue", issue("crash"), null));
    assertEquals(
        409, early.status(), "within the call timeout the first call may still be under way");
    assertEquals(0, upstream.lookups.get());

    clock.advance(Duration.ofSeconds(31));
    var again = answered(mediator.call(caller, "github.create_issue", issue("crash"), null));
    assertTrue(again.replayed());
    assertEquals(1, upstream.created.size(), "one effect");
    assertEquals(1, upstream.lookups.get());
    InvocationStore.Invocation i = onlyInvocation();
    assertEquals("succeeded", i.status());
    assertEquals("https://example/1", i.upstreamRef());
    assertEquals(i.id().toString(), again.invocationId());
    assertEquals(List.of("acquired", "conflict", "replayed"), lockEvents().get(i.id()));
    Gate last = gates().get(gates().size() - 1);
    assertEquals("allow", last.status().sql());
    assertTrue(last.reason().contains("reconciliation found its effect upstream"), last.reason());
  }

  @Test
  void aCallWhoseGatewayDiedBeforeTheEffectIsPerformedOnceUnderTheSameInvocation() {
    SkillMediator mediator = live();
    upstream.dieNext = "before";
    assertThrows(
        GatewayDied.class, () -> mediator.call(caller, "github.create_issue", issue("late"), null));
    UUID id = onlyInvocation().id();
    clock.advance(Duration.ofSeconds(31));

    var again = answered(mediator.call(caller, "github.create_issue", issue("late"), null));
    assertTrue(!again.replayed());
    assertEquals(id.toString(), again.invocationId());
    assertEquals(
        List.of("late <!-- worka-invocation:" + id + " -->"),
        upstream.created,
        "one effect, with the marker");
    assertEquals("succeeded", onlyInvocation().status());
    assertEquals(List.of("acquired", "acquired", "released"), lockEvents().get(id));
    List<Gate> allows = gates().stream().filter(g -> g.status().sql().equals("allow")).toList();
    assertEquals(2, allows.size(), "the original allow gate and the one before the effect now");
    assertTrue(allows.get(1).reason().contains("found no effect upstream"), allows.get(1).reason());

    var replay = answered(mediator.call(caller, "github.create_issue", issue("late"), null));
    assertTrue(replay.replayed());
    assertEquals(1, upstream.created.size());
  }

  @Test
  void anOutcomeTheUpstreamCannotTellStaysUnknownAndIsNotPerformedUntilItCan() {
    SkillMediator mediator = live();
    upstream.dieNext = "after";
    assertThrows(
        GatewayDied.class, () -> mediator.call(caller, "github.create_issue", issue("dark"), null));
    clock.advance(Duration.ofSeconds(31));
    upstream.unreachable = true;

    ApiException e = refused(mediator.call(caller, "github.create_issue", issue("dark"), null));
    assertEquals(409, e.status());
    assertTrue(e.body().message().contains("could not be reconciled"), e.body().message());
    assertEquals("unknown", onlyInvocation().status());
    assertTrue(onlyInvocation().error().contains("did not answer"), onlyInvocation().error());
    assertEquals("deny", gates().get(gates().size() - 1).status().sql());

    upstream.unreachable = false;
    var found = answered(mediator.call(caller, "github.create_issue", issue("dark"), null));
    assertTrue(found.replayed());
    assertEquals(1, upstream.created.size());
    assertEquals("succeeded", onlyInvocation().status());
  }

  @Test
  void anOperatorResolvesAnUnknownOutcomeWithAGateAndTheKeyThenReplaysOrRefusesNeverPerforms() {
    SkillMediator mediator = live();
    ResolveInvocation resolver =
        new ResolveInvocation(db.dataSource(), new InvocationStore(clock), runs, audit);
    // Two calls whose Gateway died after the effect, left unknown because the upstream cannot tell.
    for (String title : List.of("seen", "not-seen")) {
      upstream.dieNext = "after";
      assertThrows(
          GatewayDied.class,
          () -> mediator.call(caller, "github.create_issue", issue(title), "k-" + title));
    }
    clock.advance(Duration.ofSeconds(31));
    upstream.unreachable = true;
    for (String title : List.of("seen", "not-seen")) {
      assertEquals(
          409,
          refused(mediator.call(caller, "github.create_issue", issue(title), "k-" + title))
              .status());
    }
    Map<String, InvocationStore.Invocation> byKey = new java.util.HashMap<>();
    Transactions.withConnection(
            db.dataSource(), c -> new InvocationStore(clock).ofRun(c, caller.run().id()))
        .forEach(i -> byKey.put(i.idempotencyKey(), i));
    UUID seen = byKey.get("key:k-seen").id();
    UUID notSeen = byKey.get("key:k-not-seen").id();
    int created = upstream.created.size();

    var performed =
        (ResolveInvocation.Result.Resolved)
            resolver.resolve(
                seen,
                ResolveInvocation.Outcome.PERFORMED,
                "found it in the tracker",
                "https://example/42");
    assertEquals("succeeded", performed.status());
    Gate gate = gates().get(gates().size() - 1);
    assertEquals(performed.gateId(), gate.id());
    assertEquals("invocation.resolve", gate.action().sql());
    assertEquals("operator", gate.subject());
    assertEquals("allow", gate.status().sql());
    assertTrue(
        gate.reason().contains("performed (https://example/42): found it in the tracker"),
        gate.reason());
    var notPerformed =
        (ResolveInvocation.Result.Resolved)
            resolver.resolve(
                notSeen, ResolveInvocation.Outcome.NOT_PERFORMED, "no such issue upstream", null);
    assertEquals("failed", notPerformed.status());
    assertEquals(
        new ResolveInvocation.Result.NotUnknown("failed"),
        resolver.resolve(notSeen, ResolveInvocation.Outcome.PERFORMED, "changed my mind", null),
        "resolved once only");
    assertEquals(
        new ResolveInvocation.Result.NotFound(),
        resolver.resolve(UUID.randomUUID(), ResolveInvocation.Outcome.PERFORMED, "x", null));

    // The same keys again: the performed one replays the operator's statement, the other is
    // refused;
    // neither reaches the upstream.
    upstream.unreachable = false;
    var replay = answered(mediator.call(caller, "github.create_issue", issue("seen"), "k-seen"));
    assertTrue(replay.replayed());
    assertEquals("operator", replay.output().path("resolved_by").asText());
    assertEquals("https://example/42", replay.output().path("upstream_ref").asText());
    assertEquals(
        409,
        refused(mediator.call(caller, "github.create_issue", issue("not-seen"), "k-not-seen"))
            .status());
    assertEquals(
        created, upstream.created.size(), "no effect performed by a resolution or after it");
    Map<UUID, List<String>> events =
        Transactions.withConnection(
            db.dataSource(), c -> new InvocationStore(clock).lockEventsOfRun(c, caller.run().id()));
    // Died before any outcome was recorded, each had no "released" until the operator's resolution.
    assertEquals(
        1,
        java.util.Collections.frequency(events.get(seen), "released"),
        events.get(seen).toString());
    assertEquals(
        1,
        java.util.Collections.frequency(events.get(notSeen), "released"),
        events.get(notSeen).toString());
  }

  @Test
  void theSweepRecordsAbandonedCallsAsUnknownAndResolvesThoseFoundUpstream() {
    SkillMediator mediator = live();
    upstream.dieNext = "after";
    assertThrows(
        GatewayDied.class, () -> mediator.call(caller, "github.create_issue", issue("done"), null));
    var other = runningStep(caller.run(), 2);
    upstream.dieNext = "before";
    assertThrows(
        GatewayDied.class, () -> mediator.call(other, "github.create_issue", issue("never"), null));
    ReconcileInvocations sweep =
        new ReconcileInvocations(
            db.dataSource(),
            new SkillRegistry(List.of(upstream), SideEffectMode.LIVE),
            new InvocationStore(clock),
            List.of());

    clock.advance(Duration.ofSeconds(31));
    assertEquals(
        new ReconcileInvocations.Swept(0, 0, 0),
        sweep.sweep(),
        "their attempts still run: they may call again");
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          for (Caller ended : List.of(caller, other)) {
            steps
                .transition(
                    c,
                    ended.step().id(),
                    StepStatus.RUNNING,
                    StepStatus.FAILED,
                    1,
                    StepStore.Change.error("the Gateway died"),
                    "gateway",
                    null)
                .requireApplied("test setup: step");
          }
          return null;
        });
    assertEquals(new ReconcileInvocations.Swept(2, 1, 1), sweep.sweep());
    Map<String, InvocationStore.Invocation> byTitle = new java.util.HashMap<>();
    Transactions.withConnection(
            db.dataSource(), c -> new InvocationStore(clock).ofRun(c, caller.run().id()))
        .forEach(i -> byTitle.put(Json.parse(i.inputJson()).path("title").asText(), i));
    assertEquals("succeeded", byTitle.get("done").status());
    assertEquals("https://example/1", byTitle.get("done").upstreamRef());
    assertEquals("unknown", byTitle.get("never").status());
    assertTrue(
        byTitle.get("never").error().contains("no effect upstream"), byTitle.get("never").error());
    assertEquals(1, upstream.created.size());

    int asked = upstream.lookups.get();
    assertEquals(
        new ReconcileInvocations.Swept(0, 0, 0),
        sweep.sweep(),
        "an answered invocation is not asked again at once");
    assertEquals(asked, upstream.lookups.get());
    clock.advance(ReconcileInvocations.ASK_AGAIN_AFTER.plusSeconds(1));
    assertEquals(new ReconcileInvocations.Swept(0, 0, 1), sweep.sweep());
  }

  @Test
  void anOutputThatDoesNotMatchTheSkillsOutputSchemaIsNotPassedOnAndNeverRepeated() {
    SkillMediator mediator = live();
    upstream.badOutput = true;
    ApiException e = refused(mediator.call(caller, "github.create_issue", issue("odd"), null));
    assertEquals(502, e.status());
    assertEquals("invalid_output", e.body().error());
    assertTrue(
        e.body().violations().stream().anyMatch(v -> v.contains("$.number")),
        e.body().violations().toString());
    InvocationStore.Invocation i = onlyInvocation();
    assertEquals("failed", i.status());
    assertEquals(null, i.outputJson(), "the unchecked answer is not stored");
    assertEquals("https://example/1", i.upstreamRef(), "the effect it made is still named");

    upstream.badOutput = false;
    ApiException again = refused(mediator.call(caller, "github.create_issue", issue("odd"), null));
    assertEquals(409, again.status());
    assertEquals(1, upstream.created.size(), "no second effect");
  }

  @Test
  void atCapacityACallWaitsThenIsRefusedWithRetryAfterBeforeAnythingIsDecided() throws Exception {
    int gatesBefore = gates().size();
    mediator.admission.acquire(SkillMediator.ADMITTED);
    try {
      long t0 = System.nanoTime();
      ApiException e = refused(mediator.call(caller, "github.create_issue", issue("full"), null));
      assertTrue(
          System.nanoTime() - t0 >= SkillMediator.ADMISSION_WAIT.toNanos(),
          "it waited for a place first");
      assertEquals(503, e.status());
      assertEquals("unavailable", e.body().error());
      assertEquals("1", e.headers().get("Retry-After"));
    } finally {
      mediator.admission.release(SkillMediator.ADMITTED);
    }
    assertEquals(gatesBefore, gates().size(), "nothing was decided");
    assertEquals(0, invocations());
    answered(mediator.call(caller, "github.create_issue", issue("full"), null));
    assertEquals(1, invocations(), "with a place free the same call goes through");
  }

  @Test
  void aLiveOutputRecordsItsUpstreamReference() {
    var first = answered(live().call(caller, "github.create_issue", issue("ref"), null));
    assertTrue(!first.replayed());
    assertEquals("https://example/1", onlyInvocation().upstreamRef());
  }

  /** A running Ernest step of {@code run} (sequence {@code sequence}) and its caller. */
  private Caller runningStep(Run run, int sequence) {
    return runningStep(run, sequence, policy);
  }

  /** A running Ernest step of {@code run} under {@code policy} (its limits), and its caller. */
  private Caller runningStep(Run run, int sequence, StoredPolicy policy) {
    UUID stepId = UUID.randomUUID();
    Step step =
        Transactions.inTransaction(
            db.dataSource(),
            c -> {
              steps.insert(
                  c,
                  new StepStore.NewStep(
                      stepId,
                      run.id(),
                      null,
                      "file-" + sequence,
                      StepRole.WORKER,
                      "ernest",
                      sequence,
                      "{\"objective\": \"x\"}",
                      List.of("github.create_issue"),
                      List.of(),
                      1),
                  "t",
                  run.traceId());
              steps
                  .transition(
                      c,
                      stepId,
                      StepStatus.PENDING,
                      StepStatus.QUEUED,
                      null,
                      StepStore.Change.NONE,
                      "t",
                      null)
                  .requireApplied("test setup: step");
              steps
                  .transition(
                      c,
                      stepId,
                      StepStatus.QUEUED,
                      StepStatus.RUNNING,
                      0,
                      new StepStore.Change(null, null, null, clock.instant().plusSeconds(60), true),
                      "t",
                      null)
                  .requireApplied("test setup: step");
              return steps.find(c, stepId, Lock.NONE).orElseThrow();
            });
    return new Caller(
        new WorkerClaims(
            "ernest",
            run.id(),
            stepId,
            1,
            UUID.randomUUID().toString(),
            clock.instant(),
            clock.instant().plusSeconds(60)),
        run,
        step,
        policy);
  }

  private static JsonNode issue(String title) {
    return Json.STRICT
        .createObjectNode()
        .put("owner", "acme")
        .put("repo", "widgets")
        .put("title", title);
  }

  @Test
  void anAttemptThatEndedAfterAuthenticationGetsNoEffect() {
    service.cancel(caller.run().id(), "operator", "stop");
    ApiException e = refused(mediator.call(caller, "github.create_issue", issue("late"), null));
    assertEquals(401, e.status());
    assertEquals("step_not_running", e.body().error());
    assertTrue(e.body().message().contains("cancelled"), e.body().message());
    assertEquals(0, invocations());
    assertEquals("agent.token", gates().get(gates().size() - 1).action().sql());
  }

  @Test
  void concurrentCallsNeverExceedTheStepLimit() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Integer>> results = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      String title = "issue " + i;
      results.add(
          pool.submit(
              () -> {
                try {
                  answered(mediator.call(caller, "github.create_issue", issue(title), null));
                  return 200;
                } catch (ApiException e) {
                  return e.status();
                }
              }));
    }
    int allowed = 0;
    for (Future<Integer> f : results) {
      allowed += f.get() == 200 ? 1 : 0;
    }
    pool.shutdown();
    assertEquals(5, allowed, "max_skill_calls_per_step is 5");
    assertEquals(5, invocations());
  }

  @Test
  void concurrentCallsOfSeveralStepsNeverExceedTheRunLimitAndRefusedCallsAreNotCounted()
      throws Exception {
    List<Caller> callers =
        List.of(caller, runningStep(caller.run(), 2), runningStep(caller.run(), 3));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<ApiException>> results = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      Caller who = callers.get(i % callers.size());
      String title = "issue " + i;
      results.add(
          pool.submit(
              () -> {
                try {
                  answered(mediator.call(who, "github.create_issue", issue(title), null));
                  return null;
                } catch (ApiException e) {
                  return e;
                }
              }));
    }
    int allowed = 0;
    for (Future<ApiException> f : results) {
      ApiException refused = f.get();
      if (refused == null) {
        allowed++;
      } else {
        assertEquals(403, refused.status());
        assertTrue(
            refused.body().message().contains("max_skill_calls_per"), refused.body().message());
      }
    }
    pool.shutdown();
    assertEquals(7, allowed, "max_skill_calls_per_run is 7");
    assertEquals(7, invocations());
    assertEquals(
        7,
        (int)
            Transactions.withConnection(
                db.dataSource(),
                c -> {
                  try (var ps =
                      c.prepareStatement("select sum(skill_calls) from steps where run_id = ?")) {
                    ps.setObject(1, caller.run().id());
                    try (var rs = ps.executeQuery()) {
                      rs.next();
                      return rs.getInt(1);
                    }
                  }
                }),
        "the steps' counters hold exactly the allowed calls");
    assertEquals(7, runCount(), "the run's counter holds exactly the allowed calls");
  }

  private int runCount() {
    return Transactions.withConnection(
        db.dataSource(),
        c -> {
          try (var ps =
              c.prepareStatement("select skill_calls from run_call_counts where run_id = ?")) {
            ps.setObject(1, caller.run().id());
            try (var rs = ps.executeQuery()) {
              return rs.next() ? rs.getInt(1) : 0;
            }
          }
        });
  }

  @Test
  void aNulInTheInputIsRefusedWithAGateNotAServerError() {
    ApiException e = refused(mediator.call(caller, "github.create_issue", issue("a\u0000b"), null));
    assertEquals(422, e.status());
    assertTrue(e.body().message().contains("NUL"), e.body().message());
    assertEquals("deny", gates().get(gates().size() - 1).status().sql());
    assertEquals(0, invocations());
  }

  @Test
  void aReplayedKeyReturnsTheRecordedOutputWithoutASecondInvocation() {
    var first = answered(mediator.call(caller, "github.create_issue", issue("once"), "k-1"));
    var again = answered(mediator.call(caller, "github.create_issue", issue("once"), "k-1"));
    assertEquals(first.invocationId(), again.invocationId());
    assertTrue(again.replayed());
    assertEquals(first.output(), again.output());
    assertEquals(1, invocations());
    assertEquals(
        List.of("acquired", "released", "replayed"),
        lockEvents().get(UUID.fromString(first.invocationId())));
    assertEquals("allow", gates().get(gates().size() - 1).status().sql());
    assertTrue(gates().get(gates().size() - 1).reason().contains("no second effect"));
  }

  @Test
  void concurrentIdenticalCallsMakeOneInvocationAndRecordTheOthers() throws Exception {
    // Replays count as calls: the step's limit must leave room for all eight answers.
    caller = runningStep(caller.run(), 2, roomyPolicy());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<String>> results = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      results.add(
          pool.submit(
              () -> {
                try {
                  return answered(
                              mediator.call(
                                  caller, "github.create_issue", issue("same"), "same-key"))
                          .replayed()
                      ? "replayed"
                      : "new";
                } catch (ApiException e) {
                  return Integer.toString(e.status());
                }
              }));
    }
    List<String> outcomes = new ArrayList<>();
    for (Future<String> f : results) {
      outcomes.add(f.get());
    }
    pool.shutdown();
    assertEquals(1, outcomes.stream().filter("new"::equals).count(), outcomes.toString());
    assertTrue(
        outcomes.stream().allMatch(o -> o.equals("new") || o.equals("replayed") || o.equals("409")),
        outcomes.toString());
    assertEquals(1, invocations());
    List<String> events = lockEvents().values().iterator().next();
    assertEquals(
        List.of("acquired", "released"),
        events.stream().filter(e -> e.equals("acquired") || e.equals("released")).toList());
    assertEquals(
        7,
        events.stream().filter(e -> e.equals("replayed") || e.equals("conflict")).count(),
        events.toString());
  }

  /** The built-in policy's own limits (50 calls a step, 200 a run), not this test's tight ones. */
  private StoredPolicy roomyPolicy() {
    return policies.activate(BuiltinPolicy.source(), "test");
  }

  // ---- A key binds its input (issue 11): the same key with another input is a conflict.

  @Test
  void aRecordedCallsInputAndLockEventsCannotBeChangedOrRemovedEvenByTheOwner() throws Exception {
    answered(mediator.call(caller, "github.create_issue", issue("recorded"), null));
    UUID id = onlyInvocation().id();
    for (String sql :
        List.of(
            "update skill_invocations set input = '{}'::jsonb",
            "update skill_invocations set skill = 'github.delete_repository'",
            "update skill_invocations set idempotency_key = 'other'",
            "delete from skill_invocations",
            "truncate skill_invocations cascade",
            "update invocation_lock_events set lock_status = 'conflict'",
            "delete from invocation_lock_events",
            "truncate invocation_lock_events")) {
      StoreException refused =
          assertThrows(
              StoreException.class,
              () ->
                  Transactions.inTransaction(
                      db.dataSource(),
                      c -> {
                        try (java.sql.Statement st = c.createStatement()) {
                          return st.execute(sql);
                        }
                      }),
              sql);
      assertEquals(
          "42501",
          ((java.sql.SQLException) refused.getCause()).getSQLState(),
          sql + ": " + refused.getMessage());
    }
    // Its outcome columns are the Gateway's to fill in; its input is what was decided on.
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          try (java.sql.Statement st = c.createStatement()) {
            return st.executeUpdate("update skill_invocations set error = error");
          }
        });
    assertEquals(
        "recorded", Json.STRICT.readTree(onlyInvocation().inputJson()).path("title").asText());
    assertEquals(List.of("acquired", "released"), lockEvents().get(id));
  }

  @Test
  void anUpstreamsErrorReachesTheWorkerAndTheRecordCleanedLikeTheModelRoutes() throws Exception {
    String secret = "s3cr3t-configured-credential";
    SkillMediator mediator =
        new SkillMediator(
            db.dataSource(),
            new SkillRegistry(List.of(upstream), SideEffectMode.LIVE),
            new InvocationStore(clock),
            audit,
            attempts,
            denials,
            new OutputCleaner(List.of(secret)),
            false);
    upstream.failWith =
        "POST https://x-access-token:ghp_"
            + "Z".repeat(36)
            + "@api.github.com/repos/acme/widgets"
            + " answered 422 (req_011CSHoEeqs5C35K2UUqR7Fy): the key "
            + secret
            + " is wrong\n\tat Foo.bar(Foo.java:1)";
    ApiException failed =
        refused(mediator.call(caller, "github.create_issue", issue("boom"), null));
    assertEquals(502, failed.status());
    String stored = onlyInvocation().error();
    for (String shown : List.of(failed.getMessage(), stored)) {
      for (String leak :
          List.of("ghp_", "x-access-token", "api.github.com", "req_011", secret, "\n")) {
        assertFalse(shown.contains(leak), leak + " in " + shown);
      }
      assertTrue(
          shown.contains("[url] answered 422 ([request id]): the key [redacted] is wrong"), shown);
    }
    assertEquals("failed", onlyInvocation().status());
  }

  @Test
  void aKeyUsedAgainWithAnotherInputIsRefusedNeverAnsweredWithTheFirstCallsOutput() {
    SkillMediator mediator = live();
    var first = answered(mediator.call(caller, "github.create_issue", issue("the first"), "k-1"));

    ApiException e =
        refused(
            mediator.call(caller, "github.create_issue", issue("another issue entirely"), "k-1"));
    assertEquals(409, e.status());
    assertEquals("idempotency_conflict", e.body().error());
    assertTrue(
        e.body().message().contains("'k-1'") && e.body().message().contains(first.invocationId()),
        e.body().message());
    Gate gate = gates().get(gates().size() - 1);
    assertEquals(e.body().gateId(), gate.id().toString());
    assertEquals("deny", gate.status().sql());
    assertEquals("skill.invoke", gate.action().sql());
    assertEquals(
        List.of("acquired", "released", "conflict"),
        lockEvents().get(UUID.fromString(first.invocationId())));
    assertEquals(1, invocations());
    assertEquals(
        List.of("the first <!-- worka-invocation:" + first.invocationId() + " -->"),
        upstream.created,
        "one effect: the second input was neither performed nor answered");

    // The same input again (its members in another order) is still the replay it always was.
    JsonNode reordered =
        Json.STRICT
            .createObjectNode()
            .put("title", "the first")
            .put("repo", "widgets")
            .put("owner", "acme");
    var again = answered(mediator.call(caller, "github.create_issue", reordered, "k-1"));
    assertTrue(again.replayed());
    assertEquals(first.invocationId(), again.invocationId());
    assertEquals(first.output(), again.output());
    assertEquals(1, upstream.created.size());
  }

  @Test
  void aKeyUsedAgainWithAnotherInputNeverReconcilesNorPerformsTheEarlierCall() {
    SkillMediator mediator = live();
    upstream.dieNext = "before";
    assertThrows(
        GatewayDied.class,
        () -> mediator.call(caller, "github.create_issue", issue("crashed"), "k-c"));
    clock.advance(Duration.ofSeconds(31));

    // The earlier call's outcome is unknown and its effect absent upstream; a call with its key and
    // another input must not become it (reconciled, then performed with the recorded input).
    ApiException e =
        refused(mediator.call(caller, "github.create_issue", issue("something else"), "k-c"));
    assertEquals(409, e.status());
    assertEquals("idempotency_conflict", e.body().error());
    assertEquals(0, upstream.lookups.get(), "the upstream was not even asked");
    assertEquals(List.of(), upstream.created);
    assertEquals("started", onlyInvocation().status(), "the earlier call is left as it was");

    // Its own input again: reconciled, then performed once under the same invocation.
    var same = answered(mediator.call(caller, "github.create_issue", issue("crashed"), "k-c"));
    assertEquals(onlyInvocation().id().toString(), same.invocationId());
    assertEquals(1, upstream.created.size());
    assertTrue(upstream.created.get(0).startsWith("crashed "), upstream.created.toString());
  }

  @Test
  void concurrentCallsWithOneKeyAndDifferentInputsMakeOneInvocationAndRefuseTheRestAsConflicts()
      throws Exception {
    caller = runningStep(caller.run(), 2, roomyPolicy());
    SkillMediator mediator = live();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Object>> results = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      String title = "racer " + i;
      results.add(
          pool.submit(
              () -> {
                try {
                  return answered(
                      mediator.call(caller, "github.create_issue", issue(title), "one-key"));
                } catch (ApiException e) {
                  return e;
                }
              }));
    }
    List<String> performed = new ArrayList<>();
    int conflicts = 0;
    for (Future<Object> f : results) {
      Object outcome = f.get();
      if (outcome instanceof ApiException e) {
        assertEquals(409, e.status(), e.body().toString());
        assertEquals("idempotency_conflict", e.body().error(), e.body().toString());
        assertTrue(e.body().gateId() != null);
        conflicts++;
      } else {
        var result = (SkillCallResult) outcome;
        assertTrue(!result.replayed(), "no other input's output is ever replayed");
        performed.add(result.invocationId());
      }
    }
    pool.shutdown();
    assertEquals(1, performed.size());
    assertEquals(7, conflicts);
    assertEquals(1, invocations());
    assertEquals(1, upstream.created.size());
    String input = onlyInvocation().inputJson();
    assertTrue(
        upstream.created.get(0).startsWith(Json.parse(input).path("title").asText() + " "),
        "the effect is the recorded input's: " + upstream.created + " / " + input);
    List<String> events = lockEvents().get(UUID.fromString(performed.get(0)));
    assertEquals(7, java.util.Collections.frequency(events, "conflict"), events.toString());
  }

  @Test
  void replaysCountAgainstTheCallLimitsSoAKeyCannotBeRepeatedWithoutBound() {
    var first = answered(mediator.call(caller, "github.create_issue", issue("once"), "k-r"));
    for (int i = 0; i < 4; i++) {
      assertTrue(
          answered(mediator.call(caller, "github.create_issue", issue("once"), "k-r")).replayed());
    }
    int gatesBefore = gates().size();
    for (int i = 0; i < 3; i++) {
      ApiException e = refused(mediator.call(caller, "github.create_issue", issue("once"), "k-r"));
      assertEquals(403, e.status());
      assertEquals("policy_denied", e.body().error());
      assertTrue(
          e.body().message().contains("max_skill_calls_per_step")
              && e.body().message().contains("replay"),
          e.body().message());
    }
    List<Gate> after = gates().subList(gatesBefore, gates().size());
    assertTrue(after.stream().allMatch(g -> g.status().sql().equals("deny")), after.toString());
    assertEquals(
        List.of("acquired", "released", "replayed", "replayed", "replayed", "replayed"),
        lockEvents().get(UUID.fromString(first.invocationId())),
        "a refused replay adds no lock event");
    assertEquals(
        5,
        (int)
            Transactions.withConnection(
                db.dataSource(),
                c -> {
                  try (var ps = c.prepareStatement("select skill_calls from steps where id = ?")) {
                    ps.setObject(1, caller.step().id());
                    try (var rs = ps.executeQuery()) {
                      rs.next();
                      return rs.getInt(1);
                    }
                  }
                }),
        "the call and its four replays");
    assertEquals(5, runCount());
  }

  @Test
  void inputsAreTheSameWhenTheirJsonValuesAre() throws Exception {
    assertTrue(
        SkillMediator.sameValue(
            Json.STRICT.readTree("{\"a\":1,\"b\":[1.0,\"x\",{\"c\":null}]}"),
            Json.STRICT.readTree("{\"b\":[1,\"x\",{\"c\":null}],\"a\":1e0}")));
    assertTrue(
        SkillMediator.sameValue(
            Json.STRICT.readTree("{\"n\":12345678901234567890}"),
            Json.STRICT.readTree("{\"n\":12345678901234567890}")));
    for (String[] pair :
        new String[][] {
          {"{\"a\":1}", "{\"a\":\"1\"}"},
          {"{\"a\":1}", "{\"a\":1,\"b\":null}"},
          {"{\"a\":[1,2]}", "{\"a\":[2,1]}"},
          {"{\"a\":\"x\"}", "{\"a\":\"x \"}"},
          {"{\"a\":\"\u00e9\"}", "{\"a\":\"e\u0301\"}"},
          {"{\"n\":12345678901234567890}", "{\"n\":12345678901234567891}"},
          {"{\"a\":true}", "{\"a\":1}"}
        }) {
      assertTrue(
          !SkillMediator.sameValue(Json.STRICT.readTree(pair[0]), Json.STRICT.readTree(pair[1])),
          pair[0] + " vs " + pair[1]);
    }
  }

  private Map<UUID, List<String>> lockEvents() {
    return Transactions.withConnection(
        db.dataSource(), c -> new InvocationStore(clock).lockEventsOfRun(c, caller.run().id()));
  }

  private int invocations() {
    return Transactions.withConnection(
            db.dataSource(), c -> new InvocationStore(clock).ofRun(c, caller.run().id()))
        .size();
  }

  private List<Gate> gates() {
    return Transactions.withConnection(
        db.dataSource(), c -> audit.gatesOfRun(c, caller.run().id()));
  }
}
