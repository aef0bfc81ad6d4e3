package dev.worka.gateway.ingress.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.mediation.ReplayPolicy;
import dev.worka.gateway.policy.DurationText;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code POST /v1/policy/replay} (operator token): the body {@code {"manifest": "<YAML>", "since":
 * "7d"}} or {@code {"manifest": "…", "runs": 20}} (neither: the newest {@value #DEFAULT_RUNS}
 * runs). Answers what the candidate would change of the recorded decisions ({@link ReplayPolicy}):
 * counts, counts per action, subject and skill, and examples of each change and of what could not
 * be replayed. A manifest that does not compile is {@code 422 invalid_policy} with the compiler's
 * errors; a replay while another runs is {@code 429}.
 */
public final class PolicyReplayApi {
  static final int DEFAULT_RUNS = 100;

  /** Examples of each kind of change in an answer, at most. */
  static final int EXAMPLES = 50;

  private static final Set<String> FIELDS = Set.of("manifest", "since", "runs");

  private final OperatorAuth auth;
  private final ReplayPolicy replay;

  public PolicyReplayApi(String operatorToken, ReplayPolicy replay) {
    this.auth = new OperatorAuth(operatorToken);
    this.replay = replay;
  }

  public void register(Router router) {
    router.add("POST", "/v1/policy/replay", 1024 * 1024 + 4096, this::replay);
  }

  private ApiResponse replay(ApiRequest r) {
    auth.require(r);
    JsonNode body =
        OperatorApi.jsonObject(
            r,
            "a JSON object {\"manifest\": \"<YAML>\", \"since\": \"7d\"} or"
                + " {\"manifest\": \"<YAML>\", \"runs\": 20}");
    List<String> unknown = new ArrayList<>();
    body.fieldNames()
        .forEachRemaining(
            f -> {
              if (!FIELDS.contains(f)) {
                unknown.add(f);
              }
            });
    if (!unknown.isEmpty()) {
      throw invalid("unknown field(s) " + unknown + " (allowed: manifest, since, runs)");
    }
    JsonNode manifest = body.path("manifest");
    if (!manifest.isTextual() || manifest.asText().isBlank()) {
      throw invalid("manifest must be the candidate manifest's YAML text");
    }
    ReplayPolicy.Window window = window(body);
    return switch (replay.replay(manifest.asText(), window)) {
      case ReplayPolicy.Outcome.Replayed done -> ApiResponse.ok(view(done.report()));
      case ReplayPolicy.Outcome.Invalid invalid ->
          throw new ApiException(
              422,
              new ErrorBody(
                  ErrorCodes.INVALID_POLICY,
                  "the candidate manifest is invalid, nothing was replayed: "
                      + String.join("; ", invalid.errors()),
                  null,
                  null,
                  invalid.errors()));
      case ReplayPolicy.Outcome.Busy busy ->
          throw new ApiException(429, ErrorCodes.TOO_MANY_REQUESTS, busy.why());
    };
  }

  private static ReplayPolicy.Window window(JsonNode body) {
    JsonNode since = body.path("since");
    JsonNode runs = body.path("runs");
    boolean hasSince = !since.isMissingNode() && !since.isNull();
    boolean hasRuns = !runs.isMissingNode() && !runs.isNull();
    try {
      if (hasSince && hasRuns) {
        throw invalid("give since or runs, not both");
      }
      if (hasSince) {
        Optional<Duration> d =
            since.isTextual() ? DurationText.parse(since.asText()) : Optional.empty();
        if (d.isEmpty()) {
          throw invalid("since must be a duration such as 7d, 12h or 30m");
        }
        return new ReplayPolicy.Window.Since(d.get());
      }
      if (hasRuns) {
        if (!runs.canConvertToInt() || !runs.isIntegralNumber()) {
          throw invalid("runs must be a whole number 1.." + ReplayPolicy.MAX_RUNS);
        }
        return new ReplayPolicy.Window.LastRuns(runs.intValue());
      }
      return new ReplayPolicy.Window.LastRuns(DEFAULT_RUNS);
    } catch (IllegalArgumentException e) {
      throw invalid(e.getMessage());
    }
  }

  static Map<String, Object> view(ReplayPolicy.Report report) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("replay_id", report.replayId().toString());
    v.put("suite", ReplayPolicy.SUITE);
    v.put("candidate_sha256", report.candidateSha256());
    Map<String, Object> window = new LinkedHashMap<>();
    switch (report.window()) {
      case ReplayPolicy.Window.Since s -> window.put("since", DurationText.format(s.duration()));
      case ReplayPolicy.Window.LastRuns l -> window.put("runs", l.runs());
    }
    window.put("from", report.from().toString());
    window.put("runs_read", report.runs());
    window.put("truncated", report.truncated());
    v.put("window", window);
    Map<String, Object> counts = new LinkedHashMap<>();
    counts.put("decisions", report.decisions().size());
    for (ReplayPolicy.Change c : ReplayPolicy.Change.values()) {
      counts.put(c.label(), report.count(c));
    }
    v.put("counts", counts);
    v.put("by_subject", bySubject(report.decisions()));
    Map<String, Object> examples = new LinkedHashMap<>();
    for (ReplayPolicy.Change c : ReplayPolicy.Change.values()) {
      if (c == ReplayPolicy.Change.UNCHANGED) {
        continue;
      }
      examples.put(
          c.label(),
          report.decisions().stream()
              .filter(d -> d.change() == c)
              .limit(EXAMPLES)
              .map(PolicyReplayApi::decision)
              .toList());
    }
    v.put("examples", examples);
    v.put("not_replayed_gates", report.otherGates());
    v.put("launch_refusals", report.launchRefusals());
    return v;
  }

  /** Counts per action, subject and skill, in first-seen order. */
  private static List<Map<String, Object>> bySubject(List<ReplayPolicy.Redecided> decisions) {
    Map<List<String>, Map<String, Object>> rows = new LinkedHashMap<>();
    for (ReplayPolicy.Redecided d : decisions) {
      List<String> key =
          java.util.Arrays.asList(d.action(), d.subject(), d.skill() == null ? "" : d.skill());
      Map<String, Object> row =
          rows.computeIfAbsent(
              key,
              k -> {
                Map<String, Object> fresh = new LinkedHashMap<>();
                fresh.put("action", d.action());
                fresh.put("subject", d.subject());
                fresh.put("skill", d.skill());
                for (ReplayPolicy.Change c : ReplayPolicy.Change.values()) {
                  fresh.put(c.label(), 0L);
                }
                return fresh;
              });
      row.merge(d.change().label(), 1L, (a, b) -> (Long) a + (Long) b);
    }
    return new ArrayList<>(rows.values());
  }

  private static Map<String, Object> decision(ReplayPolicy.Redecided d) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("action", d.action());
    v.put("run_id", d.runId() == null ? null : d.runId().toString());
    v.put("step_id", d.stepId() == null ? null : d.stepId().toString());
    v.put("step_ref", d.stepRef());
    v.put("subject", d.subject());
    v.put("skill", d.skill());
    v.put("gate_id", d.gateId() == null ? null : d.gateId().toString());
    v.put("plan_id", d.planId() == null ? null : d.planId().toString());
    v.put("decided_at", d.decidedAt() == null ? null : d.decidedAt().toString());
    v.put("recorded", d.recorded());
    v.put("recorded_reason", d.recordedReason());
    v.put("candidate", d.candidate());
    v.put("candidate_reason", d.candidateReason());
    v.put("change", d.change().label());
    return v;
  }

  private static ApiException invalid(String message) {
    return new ApiException(
        422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
  }
}
