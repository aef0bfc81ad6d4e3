package dev.worka.gateway.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateActions;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.ConditionContext;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.Permissions;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.gateway.store.StoreException;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import dev.worka.protocol.SkillCallResult;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import org.erdtman.jcs.JsonCanonicalizer;

/**
 * A worker's skill call, mediated: decide (permission, the agent's allowlist, the step's accepted
 * skills, availability, the input schema, the call limits), record the decision as a gate — an
 * allow gate and the invocation row commit before the effect starts — then perform the call with
 * the Gateway's credentials, clean its output and record the outcome. A call repeating a recorded
 * idempotency key returns the recorded output without a second effect.
 */
final class SkillMediator {
  static final int MAX_OUTPUT_BYTES = 1024 * 1024;

  private final DataSource dataSource;
  private final SkillRegistry skills;
  private final InvocationStore invocations;
  private final AuditLog audit;
  private final Authenticator auth;
  private final Denials denials;
  private final OutputCleaner cleaner;
  private final boolean dryRun;

  SkillMediator(DataSource dataSource, SkillRegistry skills, InvocationStore invocations, AuditLog audit,
      Authenticator auth, Denials denials, OutputCleaner cleaner, boolean dryRun) {
    this.dataSource = dataSource;
    this.skills = skills;
    this.invocations = invocations;
    this.audit = audit;
    this.auth = auth;
    this.denials = denials;
    this.cleaner = cleaner;
    this.dryRun = dryRun;
  }

  /** What the decision transaction found. */
  private sealed interface Begun {
    record Replay(InvocationStore.Invocation recorded, Gate gate) implements Begun {}

    record Limited(Gate gate) implements Begun {}

    /** The attempt or run ended since the caller authenticated. */
    record Ended(String why) implements Begun {}

    record Started(Gate gate) implements Begun {}
  }

  SkillCallResult call(Caller caller, String skill, JsonNode input, String idempotencyKey) {
    CompiledPolicy policy = caller.policy().policy();
    Optional<SkillDefinition> definition = skills.find(skill);

    String refusal = refusal(caller, policy, skill, definition);
    if (refusal != null) {
      throw denied(caller, skill, refusal, 403, ErrorCodes.POLICY_DENIED, null);
    }
    Optional<String> unavailable = skills.unavailableReason(skill);
    if (unavailable.isPresent()) {
      throw denied(caller, skill, "skill " + skill + " is unavailable: " + unavailable.get(), 403,
          ErrorCodes.SKILL_UNAVAILABLE, null);
    }
    List<String> violations = new java.util.ArrayList<>(skills.validateInput(skill, input));
    if (Json.write(input).contains("\\u0000")) {
      violations.add("the input contains a NUL character (\\u0000), which no skill accepts");
    }
    if (!violations.isEmpty()) {
      throw denied(caller, skill, "input does not match " + skill + "'s schema: " + String.join("; ", violations),
          422, ErrorCodes.INVALID_BODY, violations);
    }
    if (PolicyDecider.condition(policy, skill, conditionContext(caller, input)) instanceof Decision.Deny d) {
      throw denied(caller, skill, d.reason(), 403, ErrorCodes.POLICY_DENIED, null);
    }

    String key = idempotencyKey != null ? "key:" + idempotencyKey
        : definition.get().sideEffect() ? "derived:" + canonicalHash(input) : "call:" + UUID.randomUUID();
    UUID invocationId = UUID.randomUUID();
    Begun begun;
    try {
      begun = Transactions.inTransaction(dataSource, c -> {
        Optional<String> ended = auth.lockStillRunning(c, caller, false);
        if (ended.isPresent()) {
          return new Begun.Ended(ended.get());
        }
        Optional<InvocationStore.Invocation> existing = invocations.find(c, caller.step().id(), skill, key);
        if (existing.isPresent()) {
          InvocationStore.Invocation recorded = existing.get();
          boolean finished = "succeeded".equals(recorded.status());
          Gate gate = finished
              ? gate(c, caller, skill, GateStatus.ALLOW, "replay of invocation " + recorded.id()
                  + " (same idempotency key): its recorded output is returned, no second effect")
              : denials.record(c, caller.run(), caller.step().id(), caller.claims().attempt(), caller.agent(),
                  GateActions.SKILL_INVOKE, skill, "the call with this idempotency key is " + recorded.status()
                      + "; it is not performed again");
          invocations.lockEvent(c, recorded, finished ? "replayed" : "conflict", gate.id());
          return new Begun.Replay(recorded, gate);
        }
        // The step's count on its locked row; the run's count last before the writes, on a row
        // of its own that calls of the run's other steps wait for only until this commits.
        Optional<String> limit = invocations.countStepCall(c, caller.step().id(), policy.limits().maxSkillCallsPerStep());
        if (limit.isEmpty()) {
          limit = invocations.countRunCall(c, caller.run().id(), policy.limits().maxSkillCallsPerRun());
          if (limit.isPresent()) {
            invocations.uncountStepCall(c, caller.step().id());
          }
        }
        if (limit.isPresent()) {
          return new Begun.Limited(denials.record(c, caller.run(), caller.step().id(), caller.claims().attempt(),
              caller.agent(), GateActions.SKILL_INVOKE, skill, limit.get()));
        }
        // The invocation and its lock event first, the allow gate last: the gate chain's lock is
        // then held only for the gate and the commit (the references are checked at commit).
        UUID gateId = UUID.randomUUID();
        InvocationStore.Invocation started = new InvocationStore.Invocation(invocationId, caller.run().id(),
            caller.step().id(), caller.claims().attempt(), caller.agent(), skill, key, gateId, "allow",
            "acquired", Json.STRICT.writeValueAsString(input), null, null, dryRun, "started", null, null);
        invocations.insertStarted(c, started);
        invocations.lockEvent(c, started, "acquired", gateId);
        return new Begun.Started(gate(c, caller, skill, GateStatus.ALLOW, allowReason(caller, skill), gateId));
      });
    } catch (StoreException e) {
      if (e.getCause() instanceof SQLException s && "23505".equals(s.getSQLState())) {
        Gate gate;
        try {
          gate = Transactions.inTransaction(dataSource, c -> {
          Optional<InvocationStore.Invocation> first = invocations.find(c, caller.step().id(), skill, key);
          Gate deny = denials.record(c, caller.run(), caller.step().id(), caller.claims().attempt(), caller.agent(),
              GateActions.SKILL_INVOKE, skill, "an identical call (same idempotency key) is in progress");
          if (first.isPresent()) {
            invocations.lockEvent(c, first.get(), "conflict", deny.id());
          }
          return deny;
          });
        } catch (Denials.AttemptEnded ended) {
          throw auth.staleToken(caller.run(), caller.step().id(), caller.claims(), "skills/" + skill, ended.getMessage());
        }
        throw new ApiException(409, new ErrorBody(ErrorCodes.CONFLICT,
            "an identical call to " + skill + " (same idempotency key) is in progress", gate.id().toString(),
            gate.reason(), null));
      }
      throw e;
    }
    switch (begun) {
      case Begun.Replay r -> {
        return replay(skill, r.recorded(), r.gate());
      }
      case Begun.Limited l -> throw new ApiException(403, new ErrorBody(ErrorCodes.POLICY_DENIED,
          l.gate().reason(), l.gate().id().toString(), l.gate().reason(), null));
      case Begun.Ended e -> throw auth.staleToken(caller.run(), caller.step().id(), caller.claims(),
          "skills/" + skill, e.why());
      case Begun.Started s -> { }
    }

    // The allow gate and the invocation are committed: now, and only now, the effect.
    JsonNode output;
    try {
      output = skills.invoke(skill, input, new InvocationContext(caller.run().id(), caller.step().id(),
          caller.agent(), invocationId, key));
    } catch (SkillUnavailableException | SkillFailedException e) {
      finish(invocationId, "failed", null, e.getMessage(), null);
      throw new ApiException(502, ErrorCodes.UNAVAILABLE, skill + " failed upstream: " + e.getMessage());
    } catch (RuntimeException e) {
      finish(invocationId, "unknown", null, e.toString(), null);
      throw e;
    }
    OutputCleaner.Cleaned cleaned = cleaner.clean(output);
    String outputJson = Json.write(cleaned.value());
    if (outputJson.getBytes(StandardCharsets.UTF_8).length > MAX_OUTPUT_BYTES) {
      finish(invocationId, "failed", null, "output larger than " + MAX_OUTPUT_BYTES + " bytes", null);
      throw new ApiException(502, ErrorCodes.TOO_LARGE, skill + " returned more than " + MAX_OUTPUT_BYTES + " bytes");
    }
    finish(invocationId, "succeeded", outputJson, null, Json.write(cleaned.changes()));
    return new SkillCallResult(invocationId.toString(), cleaned.value(), false);
  }

  private String refusal(Caller caller, CompiledPolicy policy, String skill, Optional<SkillDefinition> definition) {
    if (PolicyDecider.permission(policy, caller.agent(), Permissions.SKILL_INVOKE) instanceof Decision.Deny d) {
      return d.reason();
    }
    if (PolicyDecider.skill(policy, caller.agent(), caller.step().allowedSkills(), skill) instanceof Decision.Deny d) {
      return d.reason();
    }
    if (definition.isEmpty()) {
      return "skill " + skill + " is not known to this Gateway";
    }
    return null;
  }

  /** The facts a skill's {@code when} condition may read. */
  private static ConditionContext conditionContext(Caller caller, JsonNode input) {
    var run = caller.run();
    var step = caller.step();
    return new ConditionContext(input,
        new ConditionContext.Run(run.id().toString(), run.source(), run.text(), run.requester(), run.slackChannel(),
            run.slackThreadTs()),
        new ConditionContext.Step(step.id().toString(), step.stepRef(), step.agent(), step.allowedSkills()));
  }

  private String allowReason(Caller caller, String skill) {
    return "agent " + caller.agent() + " holds skill.invoke, " + skill + " is on its allowlist and among the"
        + " step's accepted skills, and its condition holds (policy v" + caller.policy().version() + ")"
        + (dryRun ? "; dry-run" : "");
  }

  private ApiException denied(Caller caller, String skill, String reason, int status, String code, List<String> violations) {
    Gate gate = auth.deny(caller.run(), caller.step(), caller.claims(), GateActions.SKILL_INVOKE, skill, reason);
    return new ApiException(status, new ErrorBody(code, reason, gate.id().toString(), reason, violations));
  }

  private Gate gate(java.sql.Connection c, Caller caller, String skill, GateStatus status, String reason)
      throws SQLException {
    return gate(c, caller, skill, status, reason, UUID.randomUUID());
  }

  private Gate gate(java.sql.Connection c, Caller caller, String skill, GateStatus status, String reason, UUID id)
      throws SQLException {
    return audit.recordGate(c, new AuditLog.Decision(GateActions.SKILL_INVOKE, status, caller.agent(),
        caller.run().id(), caller.step().id(), caller.claims().attempt(), skill, reason,
        caller.policy().id(), caller.run().traceId()), id);
  }

  private SkillCallResult replay(String skill, InvocationStore.Invocation recorded, Gate gate) {
    if (!"succeeded".equals(recorded.status())) {
      String why = "the call to " + skill + " with this idempotency key is " + recorded.status()
          + (recorded.error() == null ? "" : ": " + recorded.error());
      throw new ApiException(409, new ErrorBody(ErrorCodes.CONFLICT, why, gate.id().toString(), gate.reason(), null));
    }
    return new SkillCallResult(recorded.id().toString(), Json.parse(recorded.outputJson()), true);
  }

  private void finish(UUID id, String status, String outputJson, String error, String cleaningJson) {
    Transactions.inTransaction(dataSource, c -> {
      invocations.finish(c, id, status, outputJson, null, error, cleaningJson);
      InvocationStore.Invocation done = invocations.byId(c, id).orElseThrow();
      invocations.lockEvent(c, done, "released", done.gateId());
      return null;
    });
  }

  static String canonicalHash(JsonNode input) {
    try {
      String canonical = new JsonCanonicalizer(Json.STRICT.writeValueAsString(input)).getEncodedString();
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8)));
    } catch (java.io.IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot hash a skill input", e);
    }
  }

}
