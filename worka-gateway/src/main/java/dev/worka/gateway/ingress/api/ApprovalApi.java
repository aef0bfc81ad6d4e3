package dev.worka.gateway.ingress.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.mediation.Approvals;
import dev.worka.gateway.mediation.Refusal;
import dev.worka.gateway.mediation.SkillCall;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The operator's approvals ({@code GET /v1/approvals}, {@code GET /v1/approvals/{id}}, {@code POST
 * /v1/approvals/{id}/approve|deny}; docs/approvals.md): the operator token only — a step token is
 * not one, so no worker decides its own request. The decider's identity is {@code operator}.
 */
public final class ApprovalApi {
  /** The identity the operator token stands for, as approvers name it. */
  static final String OPERATOR = "operator";

  private static final Set<String> STATUSES = Set.of("pending", "approved", "denied", "expired");

  private final OperatorAuth auth;
  private final Approvals approvals;

  public ApprovalApi(String operatorToken, Approvals approvals) {
    this.auth = new OperatorAuth(operatorToken);
    this.approvals = approvals;
  }

  public void register(Router router) {
    router.add("GET", "/v1/approvals", this::list);
    router.add("GET", "/v1/approvals/{id}", this::show);
    router.add("POST", "/v1/approvals/{id}/approve", this::approve);
    router.add("POST", "/v1/approvals/{id}/deny", this::deny);
  }

  private ApiResponse list(ApiRequest r) {
    auth.require(r);
    String status = r.query("status");
    if (status != null && status.isBlank()) {
      status = null;
    }
    if (status != null && !STATUSES.contains(status.strip())) {
      throw invalid("status must be one of pending, approved, denied, expired");
    }
    int limit = 50;
    String limitText = r.query("limit");
    if (limitText != null && !limitText.isBlank()) {
      try {
        limit = Integer.parseInt(limitText.strip());
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > 500) {
        throw invalid("limit must be a whole number from 1 to 500");
      }
    }
    List<Map<String, Object>> items =
        approvals.list(status == null ? null : status.strip(), limit).stream()
            .map(ApprovalApi::view)
            .toList();
    return ApiResponse.ok(Map.of("approvals", items));
  }

  private ApiResponse show(ApiRequest r) {
    auth.require(r);
    UUID id = id(r);
    return ApiResponse.ok(view(approvals.find(id).orElseThrow(() -> notFound(id))));
  }

  private ApiResponse approve(ApiRequest r) {
    auth.require(r);
    UUID id = id(r);
    if (r.body().length > 0) {
      body(r, Set.of());
    }
    return answer(id, approvals.approve(id, OPERATOR));
  }

  private ApiResponse deny(ApiRequest r) {
    auth.require(r);
    UUID id = id(r);
    String reason = null;
    if (r.body().length > 0) {
      JsonNode reasonNode = body(r, Set.of("reason")).path("reason");
      if (!reasonNode.isMissingNode() && !reasonNode.isNull()) {
        if (!reasonNode.isTextual() || reasonNode.asText().length() > 1000) {
          throw invalid("reason must be a string of at most 1000 characters");
        }
        reason = reasonNode.asText();
      }
    }
    return answer(id, approvals.deny(id, OPERATOR, reason));
  }

  /** A decision's outcome as the routes answer it (shared by approve and deny). */
  static ApiResponse answer(UUID id, Approvals.Decided decided) {
    return switch (decided) {
      case Approvals.Decided.Approved a -> {
        Map<String, Object> body = view(a.approval());
        if (a.call() != null) {
          body.put("call", call(a.call()));
        }
        yield ApiResponse.ok(body);
      }
      case Approvals.Decided.Denied d -> ApiResponse.ok(view(d.approval()));
      case Approvals.Decided.NotFound n -> throw notFound(id);
      case Approvals.Decided.AlreadyDecided a ->
          throw new ApiException(
              409,
              ErrorCodes.APPROVAL_DECIDED,
              "approval "
                  + id
                  + " was already "
                  + a.approval().status()
                  + " by "
                  + a.approval().decidedBy()
                  + " at "
                  + a.approval().decidedAt()
                  + "; a second decision changes nothing");
      case Approvals.Decided.Expired e ->
          throw new ApiException(
              409,
              ErrorCodes.APPROVAL_EXPIRED,
              "approval "
                  + id
                  + " expired at "
                  + e.approval().expiresAt()
                  + " (its step failed with approval_expired); the call was not performed. Run the"
                  + " request again to ask anew");
      case Approvals.Decided.NotAnApprover n ->
          throw new ApiException(
              403,
              new ErrorBody(
                  ErrorCodes.NOT_AN_APPROVER,
                  "you are not one of approval "
                      + id
                      + "'s approvers "
                      + n.approval().approvers()
                      + "; ask one of them, or change the skill's approval in the policy",
                  n.gate().id().toString(),
                  n.gate().reason(),
                  null));
      case Approvals.Decided.StepNotWaiting s ->
          throw new ApiException(409, ErrorCodes.ILLEGAL_STATE, s.why());
    };
  }

  /** What the approved call came to, as the answer shows it. */
  private static Map<String, Object> call(SkillCall call) {
    Map<String, Object> v = new LinkedHashMap<>();
    switch (call) {
      case SkillCall.Performed p -> {
        v.put("status", "performed");
        v.put("invocation_id", p.invocationId().toString());
      }
      case SkillCall.Replayed p -> {
        v.put("status", "replayed");
        v.put("invocation_id", p.invocationId().toString());
      }
      case SkillCall.AwaitingApproval w -> v.put("status", "awaiting_approval");
      case Refusal f -> {
        v.put("status", "failed");
        v.put("reason", f.toString());
      }
    }
    return v;
  }

  /** An approval as the API shows it (DESIGN §11). */
  static Map<String, Object> view(Approvals.Approval a) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("approval_id", a.id().toString());
    v.put("run_id", a.runId().toString());
    v.put("step_id", a.stepId().toString());
    v.put("attempt", a.attempt());
    v.put("agent", a.agent());
    v.put("status", a.status());
    v.put("skill", a.skill());
    v.put("input", a.input());
    v.put("input_sha256", a.inputSha256());
    v.put("policy_version", a.policyVersion());
    v.put("reason", a.reason());
    v.put("requested_at", a.requestedAt().toString());
    v.put("expires_at", a.expiresAt().toString());
    v.put("approvers", a.approvers());
    v.put("decided_by", a.decidedBy());
    v.put("decided_at", a.decidedAt() == null ? null : a.decidedAt().toString());
    v.put("request_gate_id", a.requestGateId().toString());
    v.put("decision_gate_id", a.decisionGateId() == null ? null : a.decisionGateId().toString());
    v.put("invocation_id", a.invocationId() == null ? null : a.invocationId().toString());
    return v;
  }

  private static UUID id(ApiRequest r) {
    try {
      return UUID.fromString(r.pathVariable("id"));
    } catch (IllegalArgumentException e) {
      throw new ApiException(404, ErrorCodes.NOT_FOUND, "no approval " + r.pathVariable("id"));
    }
  }

  private static JsonNode body(ApiRequest r, Set<String> allowed) {
    JsonNode body = OperatorApi.jsonObject(r, "a JSON object");
    body.fieldNames()
        .forEachRemaining(
            f -> {
              if (!allowed.contains(f)) {
                throw invalid("unknown field " + f + " (allowed: " + allowed + ")");
              }
            });
    return body;
  }

  private static ApiException notFound(UUID id) {
    return new ApiException(404, ErrorCodes.NOT_FOUND, "no approval " + id);
  }

  private static ApiException invalid(String message) {
    return new ApiException(
        422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
  }
}
