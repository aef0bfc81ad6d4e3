package dev.worka.gateway.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.mediation.Attempts;
import dev.worka.gateway.mediation.Caller;
import dev.worka.gateway.mediation.Denial;
import dev.worka.gateway.mediation.IdentityCheck;
import dev.worka.gateway.mediation.Refusal;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunEvents;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.telemetry.Tracing;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.gateway.token.Verification;
import dev.worka.gateway.token.VerifiedTokens;
import dev.worka.gateway.token.WorkerClaims;
import dev.worka.protocol.ErrorCodes;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a request into a {@link Caller} or refuses it: {@code 401} for a missing, forged or expired
 * token or one whose step attempt is no longer running (the latter recorded as a deny gate, {@link
 * Attempts#ended}), {@code 403} with a deny gate when a body or query names another run, step,
 * attempt or agent than the token ({@link Attempts#checkIdentity}). Authentication is this
 * adapter's: reading the credentials of a request, verifying them and answering {@code 401}; the
 * gates it records are {@code mediation}'s.
 */
final class Authenticator {
  private static final Logger log = LoggerFactory.getLogger(Authenticator.class);

  private final DataSource dataSource;
  private final TokenVerifier verifier;
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final Attempts attempts;

  /**
   * Tokens minted or verified before; the check that the step attempt is still running is never
   * skipped.
   */
  private final VerifiedTokens verified;

  Authenticator(
      DataSource dataSource,
      TokenVerifier verifier,
      VerifiedTokens verified,
      RunStore runs,
      StepStore steps,
      PolicyStore policies,
      Attempts attempts) {
    this.verified = verified;
    this.dataSource = dataSource;
    this.verifier = verifier;
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.attempts = attempts;
  }

  /**
   * The caller of {@code action}; a result post to an attempt that already reported is {@code 409}.
   */
  Caller authenticate(ApiRequest request, String action, boolean isResult) {
    return authenticate(request, action, isResult, false);
  }

  /**
   * The caller of the model route, whose token may also come as {@code x-api-key} — the header the
   * official SDKs send a key in — with the same verification; {@code 401} when it and {@code
   * Authorization} both come and carry different tokens.
   */
  Caller authenticateApiKey(ApiRequest request, String action) {
    return authenticate(request, action, false, true);
  }

  private Caller authenticate(ApiRequest request, String action, boolean isResult, boolean apiKey) {
    return callerOf(verifiedClaims(request, apiKey), action, isResult);
  }

  /**
   * The caller of {@code action} for a step token held in this process rather than sent over HTTP
   * (a {@code wasm} module's, which its runtime holds): the same verification, the same check that
   * the step attempt is running and the same refusals, as {@link ApiException}s ({@code
   * remoteAddress} in the log is {@code in-process}).
   */
  Caller authenticateToken(String token, String action, boolean isResult) {
    return callerOf(verifiedClaims(token, token, "in-process", action), action, isResult);
  }

  private Caller callerOf(WorkerClaims claims, String action, boolean isResult) {
    record Loaded(Optional<Step> step, Optional<Run> run, boolean agentReported) {}
    Loaded loaded =
        Transactions.withConnection(
            dataSource,
            c -> {
              Optional<Step> step = steps.find(c, claims.stepId(), Lock.NONE);
              Optional<Run> run = runs.find(c, claims.runId(), Lock.NONE);
              boolean reported = false;
              if (isResult && step.isPresent()) {
                reported =
                    RunEvents.movedOutOfRunningBy(
                        c, claims.stepId(), "agent:" + claims.agent() + "#" + claims.attempt());
              }
              return new Loaded(step, run, reported);
            });
    if (loaded.step().isEmpty()
        || loaded.run().isEmpty()
        || !loaded.step().get().runId().equals(claims.runId())
        || !loaded.step().get().agent().equals(claims.agent())) {
      throw new ApiException(
          401, ErrorCodes.TOKEN_INVALID, "the token names a step that does not exist");
    }
    Step step = loaded.step().get();
    Run run = loaded.run().get();
    if (step.status() != StepStatus.RUNNING || step.attempt() != claims.attempt()) {
      if (isResult && loaded.agentReported()) {
        throw new ApiException(
            409,
            ErrorCodes.RESULT_ALREADY_SUBMITTED,
            "a result was already recorded for attempt "
                + claims.attempt()
                + " of step "
                + step.id());
      }
      String why =
          "step "
              + step.id()
              + " attempt "
              + claims.attempt()
              + " is no longer running (step is "
              + step.status().sql()
              + ", attempt "
              + step.attempt()
              + ")";
      throw AgentErrors.of(attempts.ended(run, step.id(), claims, action, why));
    }
    // The rest of this request's log lines carry the run's ids (HttpServer removes them after).
    Tracing.putLogIds(run.traceId(), run.id());
    return new Caller(claims, run, step, policies.byId(run.policyManifestId()));
  }

  private WorkerClaims verifiedClaims(ApiRequest request, boolean apiKeyToo) {
    String header = request.authorization();
    String token =
        header == null
            ? null
            : header.regionMatches(true, 0, "Bearer ", 0, 7)
                ? header.substring(7).trim()
                : header.trim();
    String apiKey = apiKeyToo ? request.header("x-api-key") : null;
    if (apiKey != null && !apiKey.isBlank()) {
      if (token != null && !token.isEmpty() && !token.equals(apiKey.trim())) {
        log.info(
            "agent call {} {} refused from {}: x-api-key and Authorization differ",
            request.method(),
            request.path(),
            request.remoteAddress());
        throw new ApiException(
            401,
            ErrorCodes.TOKEN_INVALID,
            "the request carries two different credentials"
                + " (x-api-key and Authorization): send the step token in one of them");
      }
      token = apiKey.trim();
      header = token;
    }
    return verifiedClaims(
        token, header, request.remoteAddress(), request.method() + " " + request.path());
  }

  /** The claims of {@code token} (as presented: {@code header}), or the {@code 401} refusal. */
  private WorkerClaims verifiedClaims(String token, String header, String from, String call) {
    Optional<WorkerClaims> known = verified.find(token);
    if (known.isPresent()) {
      return known.get();
    }
    return switch (verifier.verify(header)) {
      case Verification.Verified v -> {
        verified.remember(token, v.claims());
        yield v.claims();
      }
      case Verification.Rejected r -> {
        verified.forget(token);
        log.info("agent call {} refused from {}: {}", call, from, r.reason());
        throw new ApiException(401, r.code(), r.reason());
      }
    };
  }

  /**
   * Refuses (403 + deny gate) a request whose query or top-level body fields name another run,
   * step, attempt or agent than the token; returns the body with matching identity fields removed.
   */
  JsonNode checkIdentity(ApiRequest request, Caller caller, String action, JsonNode body) {
    return checkIdentity(
        field -> {
          List<String> values = request.queryParameters().getValues(field);
          return values == null ? List.of() : values;
        },
        caller,
        action,
        body);
  }

  /** As {@link #checkIdentity(ApiRequest, Caller, String, JsonNode)} for a call without a query. */
  JsonNode checkIdentity(Caller caller, String action, JsonNode body) {
    return checkIdentity(field -> List.of(), caller, action, body);
  }

  private JsonNode checkIdentity(
      java.util.function.Function<String, List<String>> query,
      Caller caller,
      String action,
      JsonNode body) {
    return identified(attempts.checkIdentity(query, caller, action, body));
  }

  private static JsonNode identified(IdentityCheck check) {
    return switch (check) {
      case IdentityCheck.Matched m -> m.body();
      case Refusal r -> throw AgentErrors.of(r);
    };
  }

  /**
   * Records a deny gate in its own transaction. If the attempt ended meanwhile (e.g. its denials
   * reached the cap in a concurrent request), the caller gets the 401 of an ended attempt instead.
   */
  Gate deny(Caller caller, GateAction action, String skill, String reason) {
    return switch (attempts.deny(caller, action, skill, reason)) {
      case Denial.Recorded r -> r.gate();
      case Refusal.AttemptEnded e -> throw AgentErrors.of(e);
    };
  }
}
