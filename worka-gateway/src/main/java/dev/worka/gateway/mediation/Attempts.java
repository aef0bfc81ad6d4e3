package dev.worka.gateway.mediation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.SqlWork;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.token.WorkerClaims;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every decision taken for a caller's step attempt starts from: whether the attempt may still
 * act (its run and step locked, still running), the refusals recorded as deny gates, the refusal of
 * an attempt that ended ({@link Refusal.AttemptEnded}), and the check that a request names only its
 * token's identity. The decisions of this package and the model route take their transactions
 * through {@link #decide}.
 */
public final class Attempts {
  private static final Logger log = LoggerFactory.getLogger(Attempts.class);
  private static final List<String> IDENTITY_FIELDS =
      List.of("run_id", "step_id", "agent", "attempt");

  private final DataSource dataSource;
  private final RunStore runs;
  private final StepStore steps;
  private final Denials denials;

  public Attempts(DataSource dataSource, RunStore runs, StepStore steps, Denials denials) {
    this.dataSource = dataSource;
    this.runs = runs;
    this.steps = steps;
    this.denials = denials;
  }

  /**
   * Inside a transaction that is about to decide on the caller's behalf: locks the run, then the
   * step (always in that order), and says why the caller may no longer act — its attempt ended or
   * its run ended since it authenticated — or empty if it still may. Holding these locks until
   * commit serializes the decision with cancellation, results and the caller's other calls.
   *
   * @param updatesRun whether the transaction may change the run's row: then the run is locked FOR
   *     UPDATE; otherwise FOR SHARE, so decisions of the run's other steps proceed alongside (a
   *     status change of the run still waits for them)
   */
  Optional<String> lockStillRunning(Connection c, Caller caller, boolean updatesRun)
      throws SQLException {
    Optional<Run> run = runs.find(c, caller.run().id(), updatesRun ? Lock.UPDATE : Lock.SHARE);
    Optional<Step> step = steps.find(c, caller.step().id(), Lock.UPDATE);
    if (run.isEmpty() || step.isEmpty()) {
      return Optional.of("the run or step no longer exists");
    }
    if (run.get().status().terminal()) {
      return Optional.of("run " + run.get().id() + " is " + run.get().status().sql());
    }
    if (step.get().status() != StepStatus.RUNNING
        || step.get().attempt() != caller.claims().attempt()) {
      return Optional.of(
          "step "
              + step.get().id()
              + " attempt "
              + caller.claims().attempt()
              + " is no longer running (step is "
              + step.get().status().sql()
              + ", attempt "
              + step.get().attempt()
              + ")");
    }
    return Optional.empty();
  }

  /**
   * One decision transaction for {@code caller}: its run and step locked and still running ({@link
   * #lockStillRunning}), then {@code work}, whose outcome commits with it. If the attempt ended —
   * found by the lock, or by a deny ({@link Denials#record}) inside {@code work}, which then rolls
   * back — the outcome is {@code ended} applied to the refusal of the ended token, recorded after
   * the transaction ({@link #ended}; {@code action} names what was asked).
   */
  public <O> O decide(
      Caller caller,
      boolean updatesRun,
      String action,
      SqlWork<O> work,
      Function<Refusal.AttemptEnded, O> ended) {
    record Decided<O>(O outcome, String endedWhy) {}
    Decided<O> decided;
    try {
      decided =
          Transactions.inTransaction(
              dataSource,
              c -> {
                Optional<String> why = lockStillRunning(c, caller, updatesRun);
                return why.isPresent()
                    ? new Decided<O>(null, why.get())
                    : new Decided<>(work.apply(c), null);
              });
    } catch (Denials.AttemptEnded e) {
      decided = new Decided<>(null, e.getMessage());
    }
    if (decided.endedWhy() != null) {
      return ended.apply(
          ended(caller.run(), caller.step().id(), caller.claims(), action, decided.endedWhy()));
    }
    return decided.outcome();
  }

  /**
   * Records a deny gate in its own transaction. If the attempt ended meanwhile (e.g. its denials
   * reached the cap in a concurrent request), the refusal of an ended attempt instead.
   */
  public Denial deny(Caller caller, GateAction action, String skill, String reason) {
    try {
      return new Denial.Recorded(
          Transactions.inTransaction(
              dataSource,
              c ->
                  denials.record(
                      c,
                      caller.run(),
                      caller.step().id(),
                      caller.claims().attempt(),
                      caller.agent(),
                      action,
                      skill,
                      reason)));
    } catch (Denials.AttemptEnded e) {
      return ended(caller.run(), caller.step().id(), caller.claims(), action.sql(), e.getMessage());
    }
  }

  /**
   * The refusal of a token whose attempt is no longer running. Its first use is recorded as a deny
   * gate; repeats of the same token are only logged, so an ended worker cannot flood the audit.
   */
  public Refusal.AttemptEnded ended(
      Run run, UUID stepId, WorkerClaims claims, String action, String why) {
    UUID gateId = null;
    if (denials.firstStaleUse(claims.jti())) {
      gateId =
          Transactions.inTransaction(
                  dataSource,
                  c ->
                      denials.record(
                          c,
                          run,
                          stepId,
                          claims.attempt(),
                          claims.agent(),
                          GateAction.TOKEN_USE,
                          null,
                          action + ": " + why))
              .id();
    } else {
      log.info(
          "refused another use of ended token {} of step {} ({}): {}",
          claims.jti(),
          stepId,
          action,
          why);
    }
    return new Refusal.AttemptEnded(why, gateId);
  }

  /**
   * Refuses (a deny gate) a request whose query or top-level body fields name another run, step,
   * attempt or agent than the token; otherwise answers the body with the matching identity fields
   * removed.
   *
   * @param query the values of a query parameter by name (empty when none); for a body that came
   *     without a query of its own (an MCP tool's arguments) none
   */
  public IdentityCheck checkIdentity(
      Function<String, List<String>> query, Caller caller, String action, JsonNode body) {
    List<String> mismatches = new ArrayList<>();
    for (String field : IDENTITY_FIELDS) {
      for (String q : query.apply(field)) {
        if (!matches(caller, field, q)) {
          mismatches.add("query " + field + "=" + clip(q));
        }
      }
      if (body instanceof ObjectNode o && o.has(field)) {
        JsonNode v = o.get(field);
        if (!v.isValueNode() || !matches(caller, field, v.asText())) {
          mismatches.add("body " + field + "=" + clip(v.toString()));
        }
      }
    }
    if (!mismatches.isEmpty()) {
      String why =
          "the request names "
              + String.join(", ", mismatches)
              + " but the token is for run "
              + caller.claims().runId()
              + " step "
              + caller.claims().stepId()
              + " attempt "
              + caller.claims().attempt()
              + " agent "
              + caller.agent();
      return switch (deny(caller, GateAction.IDENTITY, null, action + ": " + why)) {
        case Denial.Recorded r -> new Refusal.IdentityMismatch(why, r.gate().id());
        case Refusal.AttemptEnded e -> e;
      };
    }
    if (body instanceof ObjectNode o) {
      ObjectNode copy = o.deepCopy();
      IDENTITY_FIELDS.forEach(copy::remove);
      return new IdentityCheck.Matched(copy);
    }
    return new IdentityCheck.Matched(body);
  }

  private static boolean matches(Caller caller, String field, String value) {
    return switch (field) {
      case "run_id" -> value.equals(caller.claims().runId().toString());
      case "step_id" -> value.equals(caller.claims().stepId().toString());
      case "agent" -> value.equals(caller.agent());
      case "attempt" -> value.equals(Integer.toString(caller.claims().attempt()));
      default -> false;
    };
  }

  private static String clip(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "…" : s;
  }
}
