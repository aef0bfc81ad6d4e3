package dev.worka.gateway.ingress.api;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.InvalidPolicyException;
import dev.worka.gateway.policy.LaunchAllowance;
import dev.worka.gateway.policy.PolicyRefusedException;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.store.Transactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides an uploaded manifest ({@code PUT /v1/policy}): it becomes the active version only if it
 * compiles and every launch spec in it is one the host allows ({@link LaunchAllowance}). Either way
 * the decision is a gate of action {@link GateAction#POLICY_APPLY}, subject {@code operator}: an
 * allow gate in the very transaction that activates the new version (so no version is active
 * without it), or a deny gate naming what was refused, committed before the refusal is answered,
 * with the active policy unchanged. Uploading the active manifest again changes nothing and records
 * nothing; a manifest that does not compile is a {@code 422} that reached no decision.
 *
 * <p>An applied policy that declares resource limits this host cannot enforce is logged with a
 * warning naming them ({@link CompiledPolicy#unenforcedResources}).
 */
public final class ApplyPolicy {
  private static final Logger log = LoggerFactory.getLogger(ApplyPolicy.class);

  /** Who uploads through the operator API: the gates' subject and the activations' actor. */
  static final String OPERATOR = "operator";

  /** The outcome. */
  public sealed interface Outcome {
    /**
     * {@code policy} is active; {@code changed} if it is a new activation (then {@code gateId} is
     * its gate).
     */
    record Applied(StoredPolicy policy, boolean changed, UUID gateId) implements Outcome {}

    /** Refused by the host; nothing stored; {@code gateId} is the deny gate. */
    record Refused(List<String> reasons, UUID gateId) implements Outcome {}

    /** The manifest does not compile; nothing stored. */
    record Invalid(List<String> errors) implements Outcome {}
  }

  private final DataSource dataSource;
  private final PolicyStore policies;
  private final LaunchAllowance launches;
  private final AuditLog audit;

  /** The resource limits the process runtime cannot enforce on this host. */
  private final List<String> unenforcedLimits;

  public ApplyPolicy(
      DataSource dataSource,
      PolicyStore policies,
      LaunchAllowance launches,
      List<String> unenforcedLimits,
      AuditLog audit) {
    this.unenforcedLimits = List.copyOf(unenforcedLimits);
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.policies = Objects.requireNonNull(policies, "policies");
    this.launches = Objects.requireNonNull(launches, "launches");
    this.audit = Objects.requireNonNull(audit, "audit");
  }

  public Outcome apply(String source) {
    Optional<StoredPolicy> before = policies.active();
    UUID[] allowGate = new UUID[1];
    try {
      StoredPolicy stored =
          policies.activate(
              source,
              OPERATOR,
              new PolicyStore.Admission() {
                @Override
                public List<String> refusals(CompiledPolicy policy) {
                  return launches.refusals(policy);
                }

                @Override
                public void activated(Connection c, StoredPolicy activated) throws SQLException {
                  Gate gate =
                      audit.recordGate(
                          c,
                          new AuditLog.Decision(
                              GateAction.POLICY_APPLY,
                              GateStatus.ALLOW,
                              OPERATOR,
                              null,
                              null,
                              null,
                              null,
                              "policy v"
                                  + activated.version()
                                  + " (sha256 "
                                  + activated.sha256().substring(0, 12)
                                  + ") activated; every launch spec"
                                  + " in it ("
                                  + activated.policy().agents().size()
                                  + " agent(s)) is one the host allows",
                              activated.id(),
                              null));
                  allowGate[0] = gate.id();
                }
              });
      boolean changed = before.isEmpty() || !before.get().id().equals(stored.id());
      stored
          .policy()
          .unenforcedResources(unenforcedLimits)
          .ifPresent(warning -> log.warn("policy v{}: {}", stored.version(), warning));
      return new Outcome.Applied(stored, changed, allowGate[0]);
    } catch (InvalidPolicyException e) {
      return new Outcome.Invalid(e.errors());
    } catch (PolicyRefusedException e) {
      UUID activeId = before.map(StoredPolicy::id).orElse(null);
      Gate gate =
          Transactions.inTransaction(
              dataSource,
              c ->
                  audit.recordGate(
                      c,
                      new AuditLog.Decision(
                          GateAction.POLICY_APPLY,
                          GateStatus.DENY,
                          OPERATOR,
                          null,
                          null,
                          null,
                          null,
                          "manifest refused, the active policy is unchanged: "
                              + String.join("; ", e.refusals()),
                          activeId,
                          null)));
      return new Outcome.Refused(e.refusals(), gate.id());
    }
  }
}
