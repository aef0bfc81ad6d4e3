package dev.worka.gateway.ingress.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.eval.EvalStore;
import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * {@code GET /v1/evals} and {@code POST /v1/evals}: eval results, read and recorded with the
 * operator token. An eval row is a report of what a judge (the CLI's {@code worka eval run}) saw in
 * a run it created through {@code POST /v1/runs}; recording one changes nothing else — no policy,
 * no run, no gate reads it (DESIGN §2.8: evals inform, never authorize).
 */
public final class EvalsApi {
  /** The most characters of {@code expected} or {@code actual} (as JSON) one row keeps. */
  static final int MAX_JSON_CHARS = 64 * 1024;

  private static final Pattern NAME =
      Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N} ._:/#'()-]{0,199}");
  private static final List<String> FIELDS =
      List.of("suite", "case", "run_id", "passed", "expected", "actual");

  private final DataSource dataSource;
  private final OperatorAuth auth;
  private final Map<String, Object> environment;

  /**
   * @param sideEffects {@code WORKA_SIDE_EFFECTS} ({@code dry-run} or {@code live})
   * @param model {@code WORKA_MODEL} ({@code scripted} or {@code anthropic})
   */
  public EvalsApi(DataSource dataSource, String operatorToken, String sideEffects, String model) {
    this.dataSource = dataSource;
    this.auth = new OperatorAuth(operatorToken);
    Map<String, Object> env = new LinkedHashMap<>();
    env.put("side_effects", sideEffects);
    env.put("model", model);
    this.environment = java.util.Collections.unmodifiableMap(env);
  }

  public void register(Router router) {
    router.add("GET", "/v1/evals", this::list);
    router.add("POST", "/v1/evals", 4L * MAX_JSON_CHARS, this::record);
  }

  /**
   * {@code GET /v1/evals?suite=&run=&limit=}: rows newest first, and the environment a runner needs
   * to know before it starts (side effects, model).
   */
  private ApiResponse list(ApiRequest r) {
    auth.require(r);
    String suite = blankToNull(r.query("suite"));
    if (suite != null && !NAME.matcher(suite).matches()) {
      throw invalid("suite must be a suite name (1-200 letters, digits, spaces and ._:/#'()-)");
    }
    UUID run = null;
    if (blankToNull(r.query("run")) != null) {
      try {
        run = UUID.fromString(r.query("run").strip());
      } catch (IllegalArgumentException e) {
        throw invalid("run must be a run id (a UUID)");
      }
    }
    int limit = OperatorApi.limit(r);
    UUID runId = run;
    List<EvalStore.EvalRow> rows =
        Transactions.withConnection(dataSource, c -> EvalStore.recent(c, suite, runId, limit));
    List<Map<String, Object>> views = new ArrayList<>();
    for (EvalStore.EvalRow row : rows) {
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("eval_id", row.id().toString());
      v.put("suite", row.suite());
      v.put("case", row.caseName());
      v.put("run_id", row.runId() == null ? null : row.runId().toString());
      v.put("passed", row.passed());
      v.put("expected", row.expectedJson() == null ? null : Json.parse(row.expectedJson()));
      v.put("actual", row.actualJson() == null ? null : Json.parse(row.actualJson()));
      v.put("at", row.createdAt().toString());
      views.add(v);
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("evals", views);
    body.put("environment", environment);
    return ApiResponse.ok(body);
  }

  /**
   * {@code POST /v1/evals}: {@code {"suite", "case", "run_id", "passed", "expected", "actual"}} →
   * {@code 201 {"eval_id"}}.
   */
  private ApiResponse record(ApiRequest r) {
    auth.require(r);
    JsonNode body =
        OperatorApi.jsonObject(
            r,
            "a JSON object {\"suite\", \"case\", \"run_id\", \"passed\","
                + " \"expected\", \"actual\"}");
    List<String> problems = new ArrayList<>();
    body.fieldNames()
        .forEachRemaining(
            f -> {
              if (!FIELDS.contains(f)) {
                problems.add(
                    "unknown field " + f + " (allowed: " + String.join(", ", FIELDS) + ")");
              }
            });
    String suite = name(body, "suite", problems);
    String caseName = name(body, "case", problems);
    UUID runId = null;
    JsonNode run = body.path("run_id");
    if (!run.isMissingNode() && !run.isNull()) {
      try {
        runId = UUID.fromString(run.isTextual() ? run.asText() : "");
      } catch (IllegalArgumentException e) {
        problems.add("run_id must be a run id (a UUID) or null");
      }
    }
    if (!body.path("passed").isBoolean()) {
      problems.add("passed is required: true or false");
    }
    String expected = object(body, "expected", problems);
    String actual = object(body, "actual", problems);
    if (!problems.isEmpty()) {
      throw new ApiException(
          422,
          new ErrorBody(
              ErrorCodes.INVALID_BODY, String.join("; ", problems), null, null, problems));
    }
    UUID named = runId;
    UUID id =
        Transactions.inTransaction(
            dataSource,
            c -> {
              if (named != null && !EvalStore.runExists(c, named)) {
                return null;
              }
              return EvalStore.insert(
                  c, suite, caseName, named, body.get("passed").asBoolean(), expected, actual);
            });
    if (id == null) {
      throw new ApiException(
          404,
          ErrorCodes.NOT_FOUND,
          "no run " + runId + ": an eval row names a run created through POST /v1/runs, or none");
    }
    return ApiResponse.status(201, Map.of("eval_id", id.toString()));
  }

  private static String name(JsonNode body, String field, List<String> problems) {
    JsonNode value = body.path(field);
    if (!value.isTextual() || !NAME.matcher(value.asText()).matches()) {
      problems.add(
          field
              + " is required: 1-200 letters, digits, spaces and ._:/#'()-, starting with a"
              + " letter or digit");
      return null;
    }
    return value.asText();
  }

  /** The field as JSON text (an object, or null when absent), within {@link #MAX_JSON_CHARS}. */
  private static String object(JsonNode body, String field, List<String> problems) {
    JsonNode value = body.path(field);
    if (value.isMissingNode() || value.isNull()) {
      return null;
    }
    if (!value.isObject()) {
      problems.add(field + " must be a JSON object");
      return null;
    }
    String text = Json.write(value);
    if (text.length() > MAX_JSON_CHARS) {
      problems.add(
          field + " is " + text.length() + " characters as JSON; at most " + MAX_JSON_CHARS);
      return null;
    }
    return text;
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }

  private static ApiException invalid(String message) {
    return new ApiException(
        422, new ErrorBody(ErrorCodes.INVALID_BODY, message, null, null, List.of(message)));
  }
}
