package dev.worka.gateway.agent;

import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.mediation.Refusal;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import java.util.Map;
import java.util.UUID;

/**
 * The agent protocol's answer to a {@link Refusal} (DESIGN §5): its status, error body and headers,
 * in one place, so the REST routes and the MCP server (whose {@code isError} results carry the same
 * body) say the same thing for the same outcome.
 */
public final class AgentErrors {
  private AgentErrors() {}

  /** The error answer of {@code refusal}. */
  public static ApiException of(Refusal refusal) {
    return switch (refusal) {
      case Refusal.AttemptEnded e ->
          new ApiException(
              401,
              new ErrorBody(ErrorCodes.STEP_NOT_RUNNING, e.why(), id(e.gateId()), e.why(), null));
      case Refusal.IdentityMismatch m ->
          new ApiException(
              403,
              new ErrorBody(ErrorCodes.IDENTITY_MISMATCH, m.why(), id(m.gateId()), m.why(), null));
      case Refusal.Denied d -> policyDenied(d.reason(), d.gateId());
      case Refusal.LimitReached l -> policyDenied(l.reason(), l.gateId());
      case Refusal.SkillUnavailable u ->
          new ApiException(
              403,
              new ErrorBody(
                  ErrorCodes.SKILL_UNAVAILABLE, u.reason(), id(u.gateId()), u.reason(), null));
      case Refusal.InvalidInput i ->
          new ApiException(
              422,
              new ErrorBody(
                  ErrorCodes.INVALID_BODY,
                  i.message(),
                  id(i.gateId()),
                  i.gateId() == null ? null : i.message(),
                  i.violations()));
      case Refusal.KeyConflict k ->
          new ApiException(
              409,
              new ErrorBody(
                  ErrorCodes.IDEMPOTENCY_CONFLICT, k.reason(), id(k.gateId()), k.reason(), null));
      case Refusal.Conflict c ->
          new ApiException(
              409,
              new ErrorBody(ErrorCodes.CONFLICT, c.message(), id(c.gateId()), c.reason(), null));
      case Refusal.NotAdmitted n ->
          new ApiException(
              503,
              ErrorBody.of(ErrorCodes.UNAVAILABLE, n.why()),
              n.retryShortly() ? Map.of("Retry-After", "1") : Map.of());
      case Refusal.UpstreamFailed f ->
          new ApiException(502, ErrorBody.of(ErrorCodes.UNAVAILABLE, f.message()));
      case Refusal.OutputInvalid o ->
          new ApiException(
              502,
              new ErrorBody(ErrorCodes.INVALID_OUTPUT, o.message(), null, null, o.violations()));
      case Refusal.OutputTooLarge t ->
          new ApiException(502, ErrorBody.of(ErrorCodes.TOO_LARGE, t.message()));
    };
  }

  private static ApiException policyDenied(String reason, UUID gateId) {
    return new ApiException(
        403, new ErrorBody(ErrorCodes.POLICY_DENIED, reason, id(gateId), reason, null));
  }

  private static String id(UUID gateId) {
    return gateId == null ? null : gateId.toString();
  }
}
