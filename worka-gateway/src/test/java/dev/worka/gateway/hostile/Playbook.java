package dev.worka.gateway.hostile;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every attempt of the hostile-agent suite and what the Gateway must answer: the HTTP status, the
 * stable error code(s) of the body, and the action of the deny gate the refusal must be recorded as
 * (null: the attempt must leave no gate — it was refused before it reached policy, or it is a
 * repeated use of an ended token, which is only logged).
 *
 * <p>Shared by {@link HostileWorker} (which performs the attempts from inside a real worker process
 * and checks each answer itself) and {@link HostileAgentSuiteTest} (which checks the worker's
 * report and the run's recorded story against the same table). Names are {@code family.attempt}.
 */
public final class Playbook {
  public static final String IDENTITY = "agent.identity";
  public static final String SKILL = "skill.invoke";
  public static final String PLAN = "plan.submit";
  public static final String TOKEN = "agent.token";

  /** The built-in policy's {@code max_skill_calls_per_step}. */
  public static final int MAX_SKILL_CALLS_PER_STEP = 50;

  /** The Gateway's {@code Denials.MAX_DENIES_PER_ATTEMPT}: this many denials end an attempt. */
  public static final int MAX_DENIES_PER_ATTEMPT = 25;

  /**
   * One attempt and the answer it must get. {@code errors} lists the acceptable codes ("" = none).
   */
  public record Expect(String name, int status, Set<String> errors, String gate) {
    public String family() {
      return name.substring(0, name.indexOf('.'));
    }

    boolean matches(int actualStatus, String actualError, boolean hasGate) {
      return actualStatus == status && errors.contains(actualError) && hasGate == (gate != null);
    }
  }

  private static Expect e(String name, int status, String error, String gate) {
    return new Expect(name, status, Set.of(error), gate);
  }

  private static Expect either(String name, int status, Set<String> errors) {
    return new Expect(name, status, errors, null);
  }

  /**
   * Daneel's "answer" step (it accepts no skills), attacking while an Ernest run is live next to
   * it; reported in its result. The victim's run and step ids and an expired token of the victim's
   * step were "leaked" to it by the test.
   */
  public static final List<Expect> ATTACKER =
      List.of(
          // Tokens that are missing, malformed, or altered after the Gateway signed them.
          e("token.missing", 401, "unauthorized", null),
          e("token.empty_bearer", 401, "unauthorized", null),
          e("token.in_query_string", 401, "unauthorized", null),
          e("token.not_a_jwt", 401, "token_invalid", null),
          e("token.basic_scheme", 401, "token_invalid", null),
          e("token.jwe_shaped", 401, "token_invalid", null),
          e("token.tampered_attempt", 401, "token_invalid", null),
          e("token.tampered_subject_planner", 401, "token_invalid", null),
          e("token.tampered_expiry", 401, "token_invalid", null),
          e("token.extra_claim", 401, "token_invalid", null),
          e("token.flipped_signature", 401, "token_invalid", null),
          e("token.stripped_signature", 401, "token_invalid", null),
          // alg confusion.
          e("alg.none", 401, "token_invalid", null),
          e("alg.none_mixed_case", 401, "token_invalid", null),
          e("alg.hs256_keyed_with_public_jwk", 401, "token_invalid", null),
          e("alg.hs256_keyed_with_public_pem", 401, "token_invalid", null),
          e("alg.es384_label", 401, "token_invalid", null),
          e("alg.es256_zero_signature", 401, "token_invalid", null),
          // Signed, but not by the Gateway's key.
          e("foreign.own_key_gateway_kid", 401, "token_invalid", null),
          e("foreign.own_key_own_kid", 401, "token_invalid", null),
          e("foreign.embedded_jwk", 401, "token_invalid", null),
          e("foreign.jku_url", 401, "token_invalid", null),
          e("foreign.kid_path_traversal", 401, "token_invalid", null),
          // A genuine Gateway token past its exp (leaked to the attacker).
          e("expired.leaked_token_context", 401, "token_expired", null),
          e("expired.leaked_token_result", 401, "token_expired", null),
          // The attacker's own token re-written to name the victim's run and step.
          e("cross.forged_victim_context", 401, "token_invalid", null),
          e("cross.forged_victim_skill", 401, "token_invalid", null),
          e("cross.forged_victim_result", 401, "token_invalid", null),
          e("cross.foreign_key_victim_heartbeat", 401, "token_invalid", null),
          // The attacker's own, valid token, with ids in the query or body that are not its own.
          e("identity.context_query_run_id", 403, "identity_mismatch", IDENTITY),
          e("identity.context_query_step_id", 403, "identity_mismatch", IDENTITY),
          e("identity.heartbeat_body_step_id", 403, "identity_mismatch", IDENTITY),
          e("identity.heartbeat_body_attempt", 403, "identity_mismatch", IDENTITY),
          e("identity.heartbeat_body_step_id_operator", 403, "identity_mismatch", IDENTITY),
          e("identity.skill_body_run_id", 403, "identity_mismatch", IDENTITY),
          e("identity.skill_query_step_id", 403, "identity_mismatch", IDENTITY),
          e("identity.plan_body_run_id", 403, "identity_mismatch", IDENTITY),
          e("identity.result_body_step_id", 403, "identity_mismatch", IDENTITY),
          e("identity.result_body_agent", 403, "identity_mismatch", IDENTITY),
          // Paths that would carry another step's id: there are none.
          e("path.result_under_victim_step", 404, "not_found", null),
          e("path.victim_step_context", 404, "not_found", null),
          e("path.run_scoped_skill", 404, "not_found", null),
          // The operator API, reached over the shared network with the worker's token.
          e("operator.read_victim_story", 401, "unauthorized", null),
          e("operator.list_runs", 401, "unauthorized", null),
          e("operator.cancel_victim_run", 401, "unauthorized", null),
          e("operator.replace_policy", 401, "unauthorized", null),
          e("operator.start_run", 401, "unauthorized", null),
          // Skills the step may not use (the answer step accepts none).
          e("skill.off_allowlist", 403, "policy_denied", SKILL),
          e("skill.destructive", 403, "policy_denied", SKILL),
          e("skill.allowlisted_not_accepted", 403, "policy_denied", SKILL),
          e("skill.unknown", 403, "policy_denied", SKILL),
          e("skill.case_variant", 403, "policy_denied", SKILL),
          // A worker is not a planner.
          e("plan.worker_submits_plan", 403, "policy_denied", PLAN),
          e("plan.worker_submits_garbage_plan", 403, "policy_denied", PLAN),
          // Oversized, malformed and deeply nested bodies.
          e("body.skill_not_json", 422, "invalid_body", null),
          e("body.skill_trailing_tokens", 422, "invalid_body", null),
          e("body.skill_duplicate_keys", 422, "invalid_body", null),
          e("body.skill_nested_200_deep", 422, "invalid_body", null),
          e("body.skill_oversized", 413, "too_large", null),
          e("body.skill_unknown_top_field", 422, "invalid_body", null),
          e("body.skill_bad_idempotency_key", 422, "invalid_body", null),
          e("body.result_wrong_content_type", 415, "unsupported_media_type", null),
          e("body.result_oversized", 413, "too_large", null),
          e("body.result_output_40_deep", 422, "invalid_body", null),
          e("body.result_nested_200_deep", 422, "invalid_body", null),
          e("body.result_unknown_field", 422, "invalid_body", null),
          e("body.result_duplicate_keys", 422, "invalid_body", null),
          e("body.result_bad_status", 422, "invalid_body", null),
          e("body.result_output_not_object", 422, "invalid_body", null),
          e("body.result_summary_too_long", 422, "invalid_body", null),
          e("body.heartbeat_oversized", 413, "too_large", null),
          e("body.plan_oversized", 413, "too_large", null));

  /**
   * The attacker's result and what it does after it, reported to the test's sink (its token no
   * longer works for a result). {@code result.racing_results}: several results at once, exactly one
   * accepted (status is the winner's, the losers' must each be a 409).
   */
  public static final List<Expect> ATTACKER_AFTER =
      List.of(
          e("result.racing_results", 200, "", null),
          e("after.context", 401, "step_not_running", TOKEN),
          e("after.skill", 401, "step_not_running", null),
          e("after.heartbeat", 401, "step_not_running", null),
          e("after.plan", 401, "step_not_running", null),
          e("after.result_again", 409, "result_already_submitted", null),
          e("after.burst_of_30", 401, "step_not_running", null));

  /** The codes a losing racer may get: it lost the compare-and-set, or came after the winner. */
  public static final Set<String> SECOND_RESULT = Set.of("result_already_submitted", "conflict");

  /**
   * A second Daneel run: replays the attacker's stolen token, then floods the Gateway with denied
   * calls until it ends the attempt; reported to the sink.
   */
  public static final List<Expect> FLOODER =
      List.of(
          e("replay.stolen_token_context", 401, "step_not_running", null),
          e("replay.stolen_token_skill", 401, "step_not_running", null),
          e("replay.stolen_token_result", 409, "result_already_submitted", null),
          e("flood.denied_until_ended", 403, "policy_denied", SKILL),
          e("flood.after_end_context", 401, "step_not_running", TOKEN),
          e("flood.after_end_skill", 401, "step_not_running", null),
          e("flood.after_end_result", 401, "step_not_running", null),
          e("flood.after_end_burst_of_30", 401, "step_not_running", null));

  /**
   * Ernest's step for "open an issue in acme/widgets titled 'bad arguments'" (it accepts
   * github.create_issue, whose condition is {@code owner/repo in lists.github_repos && size(title)
   * <= 200}); reported in its result. {@code args.racing_same_key}: six identical calls at once
   * with one idempotency key; one is performed, each other one is a replay or a 409 whose conflict
   * is recorded as a deny gate (reported as the entry's {@code extra_gate_ids}). A key used again
   * with another input is a conflict, never the first call's answer; replays count as calls, so
   * after the limit a replay is refused too.
   */
  public static final List<Expect> ARGUMENTS =
      List.of(
          e("args.owner_not_listed", 403, "policy_denied", SKILL),
          e("args.repo_not_listed", 403, "policy_denied", SKILL),
          e("args.owner_case_variant", 403, "policy_denied", SKILL),
          e("args.title_over_condition", 403, "policy_denied", SKILL),
          e("args.title_over_schema", 422, "invalid_body", SKILL),
          e("args.missing_title", 422, "invalid_body", SKILL),
          e("args.unknown_input_field", 422, "invalid_body", SKILL),
          e("args.owner_cel_injection", 422, "invalid_body", SKILL),
          e("args.repo_path_traversal", 422, "invalid_body", SKILL),
          e("args.nul_in_title", 422, "invalid_body", SKILL),
          e("args.title_wrong_type", 422, "invalid_body", SKILL),
          e("args.input_not_object", 422, "invalid_body", null),
          e("args.allowed_call", 200, "", null),
          e("args.replay_same_key", 200, "", null),
          e("args.same_key_other_input", 409, "idempotency_conflict", SKILL),
          e("args.same_key_forbidden_input", 403, "policy_denied", SKILL),
          either("args.racing_same_key", 200, Set.of("")),
          e("plan.worker_submits_plan", 403, "policy_denied", PLAN),
          e("flood.beyond_max_skill_calls_per_step", 403, "policy_denied", SKILL),
          e("flood.replay_after_limit", 403, "policy_denied", SKILL),
          e("flood.beyond_limit_again", 403, "policy_denied", SKILL));

  // ------------------------------------------------------------------------------------------
  // Probes of Gateway bugs this suite found (now fixed; the tests keep them fixed).

  /**
   * Daneel: an identity field given twice in the query, its own id first and another run's after.
   */
  public static final List<Expect> PROBE_DUPLICATE_QUERY =
      List.of(
          e("identity.duplicate_query_context", 403, "identity_mismatch", IDENTITY),
          e("identity.duplicate_query_heartbeat", 403, "identity_mismatch", IDENTITY),
          e("identity.duplicate_query_skill", 403, "identity_mismatch", IDENTITY));

  /**
   * Daneel: 80 denied calls at once; at most the cap may be denied (and recorded), the rest are
   * 401.
   */
  public static final List<Expect> PROBE_CONCURRENT_FLOOD =
      List.of(e("flood.concurrent_80_denials", 403, "policy_denied", SKILL));

  /** Daneel: bodies over each endpoint's limit; the 413 must say the connection is closed. */
  public static final List<Expect> PROBE_OVERSIZED =
      List.of(
          e("body.oversized_skill_closes_connection", 413, "too_large", null),
          e("body.oversized_result_closes_connection", 413, "too_large", null),
          e("body.oversized_plan_closes_connection", 413, "too_large", null),
          e("body.oversized_heartbeat_closes_connection", 413, "too_large", null));

  /**
   * Ernest ('replay flood'): one call, its key reused with other inputs over REST and MCP (each a
   * conflict), then replays of it over MCP and REST until the step's call limit refuses them
   * (replays count as calls), then more until the denials end the attempt: whatever it does, the
   * audit grows by at most the limit's allow gates and the denial cap's deny gates. Reported to the
   * sink (its token stops working). MCP refusals are tool results: HTTP 200 with the error.
   */
  public static final List<Expect> PROBE_REPLAY_FLOOD =
      List.of(
          e("replay.first_call", 200, "", null),
          e("replay.rest_key_other_input", 409, "idempotency_conflict", SKILL),
          e("replay.mcp_key_other_input", 200, "idempotency_conflict", SKILL),
          e("replay.mcp_and_rest_until_the_limit", 403, "policy_denied", SKILL),
          e("replay.refused_until_the_attempt_ends", 401, "step_not_running", TOKEN),
          e("replay.mcp_after_the_end", 401, "step_not_running", null));

  /**
   * Hari, the planner ('hostile planner'), whose run has a plan accepted: the same plan again is
   * answered with it, any other is refused; and {@code worka.submit_result} over MCP with another
   * step's id is an identity mismatch like REST's. Reported in its result.
   */
  public static final List<Expect> PLANNER =
      List.of(
          e("plan.first", 201, "", null),
          e("plan.same_again", 200, "", null),
          e("plan.same_rewritten", 200, "", null),
          e("plan.other", 409, "plan_conflict", PLAN),
          e("plan.invalid_after_accept", 409, "plan_conflict", PLAN),
          e("identity.mcp_submit_result_other_step", 200, "identity_mismatch", IDENTITY));

  /** Ernest ('racing probe'): rounds of identical racing calls; every 409 names its deny gate. */
  public static final List<Expect> PROBE_RACING =
      List.of(e("args.racing_conflicts_carry_gate_ids", 200, "", null));

  static Map<String, Expect> index(List<Expect> playbook) {
    return playbook.stream().collect(Collectors.toMap(Expect::name, Function.identity()));
  }

  private Playbook() {}
}
