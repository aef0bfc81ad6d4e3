package dev.worka.gateway.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateActions;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.run.StepStatus;
import dev.worka.gateway.run.StepStore;
import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Transactions;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.gateway.token.Verification;
import dev.worka.gateway.token.VerifiedTokens;
import dev.worka.gateway.token.WorkerClaims;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a request into a {@link Caller} or refuses it: {@code 401} for a missing, forged or expired
 * token or one whose step attempt is no longer running (the latter recorded as a deny gate), {@code
 * 403} with a deny gate when a body or query names another run, step, attempt or agent than the
 * token.
 */
final class Authenticator {
  private static final Logger log = LoggerFactory.getLogger(Authenticator.class);
  private static final List<String> IDENTITY_FIELDS =
      List.of("run_id", "step_id", "agent", "attempt");

  private final DataSource dataSource;
  private final TokenVerifier verifier;
  private final RunStore runs;
  private final StepStore steps;
  private final PolicyStore policies;
  private final Denials denials;

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
      Denials denials) {
    this.verified = verified;
    this.dataSource = dataSource;
    this.verifier = verifier;
    this.runs = runs;
    this.steps = steps;
    this.policies = policies;
    this.denials = denials;
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
    WorkerClaims claims = verifiedClaims(request, apiKey);
    record Loaded(Optional<Step> step, Optional<Run> run, boolean agentReported) {}
    Loaded loaded =
        Transactions.withConnection(
            dataSource,
            c -> {
              Optional<Step> step = steps.find(c, claims.stepId(), Lock.NONE);
              Optional<Run> run = runs.find(c, claims.runId(), Lock.NONE);
              boolean reported = false;
              if (isResult && step.isPresent()) {
                try (PreparedStatement ps =
                    c.prepareStatement(
                        "select 1 from run_events where step_id = ? and entity = 'step' and from_status = 'running'"
                            + " and actor = ? limit 1")) {
                  ps.setObject(1, claims.stepId());
                  ps.setString(2, "agent:" + claims.agent() + "#" + claims.attempt());
                  try (ResultSet rs = ps.executeQuery()) {
                    reported = rs.next();
                  }
                }
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
      throw staleToken(run, step.id(), claims, action, why);
    }
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
        log.info(
            "agent call {} {} refused from {}: {}",
            request.method(),
            request.path(),
            request.remoteAddress(),
            r.reason());
        throw new ApiException(401, r.code(), r.reason());
      }
    };
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
  Optional<String> lockStillRunning(java.sql.Connection c, Caller caller, boolean updatesRun)
      throws java.sql.SQLException {
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
   * Refuses (403 + deny gate) a request whose query or top-level body fields name another run,
   * step, attempt or agent than the token; returns the body with matching identity fields removed.
   */
  JsonNode checkIdentity(ApiRequest request, Caller caller, String action, JsonNode body) {
    return checkIdentity(request.queryParameters(), caller, action, body);
  }

  /**
   * The same check of a body that did not come with a query of its own: the arguments of an MCP
   * tool call ({@code worka.submit_result}), whose request's query was checked already.
   */
  JsonNode checkIdentity(Caller caller, String action, JsonNode body) {
    return checkIdentity((org.eclipse.jetty.util.Fields) null, caller, action, body);
  }

  private JsonNode checkIdentity(
      org.eclipse.jetty.util.Fields query, Caller caller, String action, JsonNode body) {
    List<String> mismatches = new ArrayList<>();
    for (String field : IDENTITY_FIELDS) {
      List<String> values = query == null ? null : query.getValues(field);
      for (String q : values == null ? List.<String>of() : values) {
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
      Gate gate =
          deny(
              caller.run(),
              caller.step(),
              caller.claims(),
              GateActions.IDENTITY,
              null,
              action + ": " + why);
      throw new ApiException(
          403, new ErrorBody(ErrorCodes.IDENTITY_MISMATCH, why, gate.id().toString(), why, null));
    }
    if (body instanceof ObjectNode o) {
      ObjectNode copy = o.deepCopy();
      IDENTITY_FIELDS.forEach(copy::remove);
      return copy;
    }
    return body;
  }

  /**
   * Records a deny gate in its own transaction. If the attempt ended meanwhile (e.g. its denials
   * reached the cap in a concurrent request), the caller gets the 401 of an ended attempt instead.
   */
  Gate deny(Run run, Step step, WorkerClaims claims, String action, String skill, String reason) {
    try {
      return Transactions.inTransaction(
          dataSource,
          c ->
              denials.record(
                  c, run, step.id(), claims.attempt(), claims.agent(), action, skill, reason));
    } catch (Denials.AttemptEnded ended) {
      throw staleToken(run, step.id(), claims, action, ended.getMessage());
    }
  }

  /**
   * The 401 for a token whose attempt is no longer running. Its first use is recorded as a deny
   * gate; repeats of the same token are only logged, so an ended worker cannot flood the audit.
   */
  ApiException staleToken(
      Run run, java.util.UUID stepId, WorkerClaims claims, String action, String why) {
    String gateId = null;
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
                          GateActions.TOKEN_USE,
                          null,
                          action + ": " + why))
              .id()
              .toString();
    } else {
      log.info(
          "refused another use of ended token {} of step {} ({}): {}",
          claims.jti(),
          stepId,
          action,
          why);
    }
    return new ApiException(
        401, new ErrorBody(ErrorCodes.STEP_NOT_RUNNING, why, gateId, why, null));
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
