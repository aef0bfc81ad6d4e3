package dev.worka.gateway.invocation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds mediated calls whose outcome was never recorded and that no Gateway can still be waiting on
 * — {@code started}, older than their provider's call timeout, and their attempt no longer running
 * (its Gateway died) — and records them as {@code unknown}; then asks the upstream about each
 * {@code unknown} one: an effect found is recorded ({@code succeeded}, with its output and
 * reference); otherwise it stays {@code unknown} with what was found, and is performed only if the
 * worker calls again (the mediator reconciles first). Run at start and periodically; safe to run on
 * several Gateways at once (every change is a compare-and-set).
 */
public final class ReconcileInvocations {
  private static final Logger log = LoggerFactory.getLogger(ReconcileInvocations.class);
  private static final int BATCH = 100;

  /**
   * How long an unknown invocation the upstream could not tell about waits before it is asked
   * again.
   */
  public static final java.time.Duration ASK_AGAIN_AFTER = java.time.Duration.ofMinutes(10);

  private final DataSource dataSource;
  private final SkillRegistry skills;
  private final InvocationStore invocations;
  private final OutputCleaner cleaner;

  /**
   * @param secrets the credentials redacted from a found output, as from every output
   */
  public ReconcileInvocations(
      DataSource dataSource,
      SkillRegistry skills,
      InvocationStore invocations,
      java.util.Collection<String> secrets) {
    this.dataSource = dataSource;
    this.skills = skills;
    this.invocations = invocations;
    this.cleaner = new OutputCleaner(secrets);
  }

  /** What one sweep did. */
  public record Swept(int markedUnknown, int foundPerformed, int stillUnknown) {}

  public Swept sweep() {
    int marked = 0;
    for (InvocationStore.Invocation i : abandoned()) {
      String why =
          "the outcome of this call was never recorded and attempt "
              + i.attempt()
              + " is no longer running (its Gateway stopped)";
      if (Transactions.inTransaction(dataSource, c -> invocations.markUnknown(c, i.id(), why))) {
        marked++;
      }
    }
    int found = 0;
    int unresolved = 0;
    for (InvocationStore.Invocation i : unknown()) {
      JsonNode input = Json.parse(i.inputJson());
      SkillProvider.Reconciliation answer =
          skills.reconcile(
              i.skill(),
              input,
              new InvocationContext(i.runId(), i.stepId(), i.agent(), i.id(), i.idempotencyKey()));
      switch (answer) {
        case SkillProvider.Reconciliation.Performed p -> {
          OutputCleaner.Cleaned cleaned = cleaner.clean(p.output());
          boolean resolved =
              Transactions.inTransaction(
                  dataSource,
                  c ->
                      invocations.resolvePerformed(
                          c,
                          i.id(),
                          Json.write(cleaned.value()),
                          p.upstreamRef(),
                          Json.write(cleaned.changes()),
                          "reconciled by the Gateway: the effect exists upstream"
                              + (p.upstreamRef() == null ? "" : " (" + p.upstreamRef() + ")")));
          found += resolved ? 1 : 0;
        }
        case SkillProvider.Reconciliation.NotPerformed n -> {
          Transactions.inTransaction(
              dataSource,
              c -> {
                invocations.noteUnresolved(
                    c,
                    i.id(),
                    "reconciled by the Gateway: no effect upstream ("
                        + n.evidence()
                        + "); performed only if the call is made again");
                return null;
              });
          unresolved++;
        }
        case SkillProvider.Reconciliation.Unknown u -> {
          Transactions.inTransaction(
              dataSource,
              c -> {
                invocations.noteUnresolved(c, i.id(), "reconciliation could not tell: " + u.why());
                return null;
              });
          unresolved++;
        }
      }
    }
    if (marked + found + unresolved > 0) {
      log.info(
          "reconciled skill invocations: {} marked unknown, {} found performed upstream, {} still unknown",
          marked,
          found,
          unresolved);
    }
    return new Swept(marked, found, unresolved);
  }

  private List<InvocationStore.Invocation> abandoned() {
    List<InvocationStore.Invocation> out = new ArrayList<>();
    for (InvocationStore.Invocation i :
        select(
            "select i.* from skill_invocations i join steps s on s.id = i.step_id"
                + " where i.status = 'started' and (s.status <> 'running' or s.attempt <> i.attempt)"
                + " order by i.created_at limit "
                + BATCH)) {
      if (invocations.olderThan(i, skills.callTimeout(i.skill()))) {
        out.add(i);
      }
    }
    return out;
  }

  /**
   * Unknown live invocations not asked about in the last {@link #ASK_AGAIN_AFTER}, the
   * longest-unasked first.
   */
  private List<InvocationStore.Invocation> unknown() {
    return select(
        "select * from skill_invocations where status = 'unknown' and not dry_run"
            + " and (reconciled_at is null or reconciled_at < ?) order by reconciled_at nulls first, created_at limit "
            + BATCH,
        invocations.now().minus(ASK_AGAIN_AFTER));
  }

  private List<InvocationStore.Invocation> select(String sql, java.time.Instant... instants) {
    return Transactions.withConnection(
        dataSource, c -> Sql.list(c, sql, InvocationStore::read, (Object[]) instants));
  }
}
