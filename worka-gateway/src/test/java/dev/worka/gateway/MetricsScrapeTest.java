package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.skill.model.StubMessagesApi;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} of a real Gateway after real runs (docs/observability.md, "Metrics"): the
 * scrape is parsed by a strict Prometheus text-format parser; each family exists with its labels,
 * the counters moved by what the runs did, no label value is a run id, a trace id or request text,
 * and every query of the Grafana dashboard (docs/grafana/worka.json) names a metric of the scrape.
 */
class MetricsScrapeTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  StubMessagesApi stub;
  TestGateway gw;

  static final String ISSUE = "open an issue in acme/widgets titled 'Metered flake'";
  static final String DANGER = "delete the repository acme/widgets right now";

  @BeforeEach
  void start() throws Exception {
    stub = StubMessagesApi.start(ModelThroughGatewayTest.KEY, MetricsScrapeTest::play);
    gw =
        TestGateway.startWithEnvironment(
            home,
            db.url(),
            TestGateway.builtinPolicyForTests(),
            "dry-run",
            Map.of(
                "WORKA_MODEL",
                "anthropic",
                "ANTHROPIC_API_KEY",
                ModelThroughGatewayTest.KEY,
                "ANTHROPIC_BASE_URL",
                stub.baseUrl(),
                "WORKA_ANTHROPIC_MODEL",
                ModelThroughGatewayTest.MODEL));
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (stub != null) {
      stub.close();
    }
  }

  /** The model of ModelThroughGatewayTest, which also plans a forbidden skill when asked to. */
  static JsonNode play(JsonNode request) {
    boolean planning = false;
    for (JsonNode t : request.path("tools")) {
      planning |= t.path("name").asText().equals("submit_plan");
    }
    if (planning && request.path("messages").toString().contains("delete the repository")) {
      ObjectNode plan = Json.LENIENT.createObjectNode();
      plan.put("summary", "Delete it (stub model)");
      ObjectNode step = plan.putArray("steps").addObject();
      step.put("step_ref", "delete");
      step.put("agent", "ernest");
      step.put("objective", "Delete acme/widgets");
      step.putArray("skills").add("github.delete_repository");
      step.putArray("depends_on");
      return StubMessagesApi.toolUse(
          request,
          "submit_plan",
          plan,
          ModelThroughGatewayTest.PLAN_IN,
          ModelThroughGatewayTest.PLAN_OUT);
    }
    return ModelThroughGatewayTest.playModel(request);
  }

  @Test
  void theScrapeHasEveryFamilyWithItsLabelsAndTheRunsMovedThemByWhatTheyDid() throws Exception {
    assertEquals(
        401,
        gw.call("GET", "/metrics", null, Map.of()).status(),
        "/metrics needs the operator token, as before");
    Scrape before = scrape();

    JsonNode ok = gw.finish(gw.submit(ISSUE));
    assertEquals("succeeded", ok.path("status").asText(), ok.toPrettyString());
    JsonNode refused = gw.finish(gw.submit(DANGER));
    assertEquals("rejected", refused.path("status").asText(), refused.toPrettyString());
    // Step attempts are counted when their worker has exited, which may be after the run ended;
    // a scrape reads the observed gauges (running workers) before the counters, not atomically.
    Scrape after =
        scrapeUntil(
            s ->
                s.sum("worka_step_duration_seconds_count", Map.of())
                        >= before.sum("worka_step_duration_seconds_count", Map.of()) + 3
                    && s.value("worka_workers_running", Map.of()) == 0);

    // Families, types and label names.
    Map<String, String> types =
        Map.ofEntries(
            Map.entry("worka_runs_total", "counter"),
            Map.entry("worka_run_duration_seconds", "histogram"),
            Map.entry("worka_step_duration_seconds", "histogram"),
            Map.entry("worka_gates_total", "counter"),
            Map.entry("worka_skill_calls_total", "counter"),
            Map.entry("worka_model_tokens_total", "counter"),
            Map.entry("worka_worker_starts_total", "counter"),
            Map.entry("worka_worker_failures_total", "counter"),
            Map.entry("worka_deliveries_total", "counter"),
            Map.entry("worka_workers_running", "gauge"),
            Map.entry("worka_queue_depth", "gauge"),
            Map.entry("worka_queue_lag_seconds", "gauge"));
    for (Map.Entry<String, String> t : types.entrySet()) {
      assertEquals(t.getValue(), after.types.get(t.getKey()), t.getKey() + after.text);
    }
    Map<String, Set<String>> labels =
        Map.ofEntries(
            Map.entry("worka_runs_total", Set.of("source", "status")),
            Map.entry("worka_run_duration_seconds_count", Set.of("source", "status")),
            Map.entry("worka_step_duration_seconds_count", Set.of("agent", "runtime", "status")),
            Map.entry("worka_gates_total", Set.of("action", "decision")),
            Map.entry("worka_skill_calls_total", Set.of("skill", "outcome")),
            Map.entry("worka_model_tokens_total", Set.of("agent", "type")),
            Map.entry("worka_worker_starts_total", Set.of("runtime")),
            Map.entry("worka_worker_failures_total", Set.of("runtime", "reason")),
            Map.entry("worka_deliveries_total", Set.of("channel", "kind", "outcome")),
            Map.entry("worka_workers_running", Set.of()),
            Map.entry("worka_queue_depth", Set.of("state")),
            Map.entry("worka_queue_lag_seconds", Set.of()));
    for (Map.Entry<String, Set<String>> l : labels.entrySet()) {
      List<Sample> of = after.samples(l.getKey());
      assertFalse(of.isEmpty(), l.getKey() + " is missing:\n" + after.text);
      for (Sample s : of) {
        assertEquals(l.getValue(), s.labels().keySet(), s.toString());
      }
    }
    assertTrue(
        after.samples("worka_step_duration_seconds_bucket").stream()
            .allMatch(s -> s.labels().containsKey("le")),
        "histograms have buckets");

    // What the two runs did, counted once each.
    assertEquals(
        1, after.delta(before, "worka_runs_total", Map.of("source", "api", "status", "succeeded")));
    assertEquals(
        1, after.delta(before, "worka_runs_total", Map.of("source", "api", "status", "rejected")));
    assertEquals(
        1,
        after.delta(
            before,
            "worka_run_duration_seconds_count",
            Map.of("source", "api", "status", "succeeded")));
    assertEquals(
        2,
        after.sum(
                "worka_step_duration_seconds_count", Map.of("agent", "hari", "runtime", "process"))
            - before.sum(
                "worka_step_duration_seconds_count", Map.of("agent", "hari", "runtime", "process")),
        "the two planning attempts: " + after.text);
    assertEquals(
        1,
        after.delta(
            before,
            "worka_step_duration_seconds_count",
            Map.of("agent", "ernest", "runtime", "process", "status", "succeeded")));
    assertEquals(
        1,
        after.delta(
            before, "worka_gates_total", Map.of("action", "plan.submit", "decision", "allow")));
    assertEquals(
        1,
        after.delta(
            before, "worka_gates_total", Map.of("action", "plan.submit", "decision", "deny")));
    assertEquals(
        1,
        after.delta(
            before, "worka_gates_total", Map.of("action", "skill.invoke", "decision", "allow")));
    assertEquals(
        4,
        after.delta(
            before, "worka_gates_total", Map.of("action", "model.invoke", "decision", "allow")),
        "two planning calls, two turns of ernest: " + after.text);
    assertEquals(
        1,
        after.delta(
            before,
            "worka_skill_calls_total",
            Map.of("skill", "github.create_issue", "outcome", "performed")));
    assertEquals(
        2 * ModelThroughGatewayTest.PLAN_IN,
        after.delta(before, "worka_model_tokens_total", Map.of("agent", "hari", "type", "input")));
    assertEquals(
        2 * ModelThroughGatewayTest.PLAN_OUT,
        after.delta(before, "worka_model_tokens_total", Map.of("agent", "hari", "type", "output")));
    assertEquals(
        2 * ModelThroughGatewayTest.TURN_IN,
        after.delta(
            before, "worka_model_tokens_total", Map.of("agent", "ernest", "type", "input")));
    assertEquals(
        2 * ModelThroughGatewayTest.TURN_OUT,
        after.delta(
            before, "worka_model_tokens_total", Map.of("agent", "ernest", "type", "output")));
    assertEquals(3, after.delta(before, "worka_worker_starts_total", Map.of("runtime", "process")));
    assertEquals(
        0,
        after.delta(
            before,
            "worka_worker_failures_total",
            Map.of("runtime", "process", "reason", "exited")));
    assertEquals(0, after.value("worka_workers_running", Map.of()), after.text);
    // The queue's values are TaskQueueTest's (exact, on a settable clock); here: read, not
    // negative.
    for (String state : List.of("ready", "scheduled", "claimed")) {
      assertEquals(
          1,
          after.samples("worka_queue_depth").stream()
              .filter(q -> q.labels().equals(Map.of("state", state)) && q.value() >= 0)
              .count(),
          state);
    }
    assertTrue(after.value("worka_queue_lag_seconds", Map.of()) >= 0);
    assertEquals(
        0,
        after.delta(
            before,
            "worka_deliveries_total",
            Map.of("channel", "github", "kind", "result", "outcome", "retrying")),
        "API runs are answered on the API, not delivered");

    // Cardinality and privacy: no label value names a run, a trace, or words of a request.
    List<String> forbidden = new ArrayList<>();
    for (JsonNode run : List.of(ok, refused)) {
      forbidden.add(run.path("run_id").asText());
      forbidden.add(run.path("trace_id").asText());
      run.path("steps").forEach(s -> forbidden.add(s.path("step_id").asText()));
    }
    forbidden.addAll(List.of("Metered", "flake", "acme", "widgets", "right now"));
    forbidden.removeIf(String::isEmpty);
    assertEquals(12, forbidden.size(), "2 run ids, 2 trace ids, 3 step ids, 5 words: " + forbidden);
    for (Sample s : after.all) {
      for (String v : s.labels().values()) {
        assertTrue(v.matches("[A-Za-z0-9_.:+-]{1,64}"), "a short name: " + s);
        for (String f : forbidden) {
          assertFalse(v.contains(f), f + " in " + s);
        }
      }
    }
    assertFalse(after.text.contains(TestGateway.OPERATOR_TOKEN));
    assertFalse(after.text.contains(ModelThroughGatewayTest.KEY));

    everyQueryOfTheGrafanaDashboardNamesAMetricOf(after);
  }

  /** The dashboard cannot drift: each of its queries names only metrics of a real scrape. */
  private static void everyQueryOfTheGrafanaDashboardNamesAMetricOf(Scrape scrape)
      throws Exception {
    Path dashboard = Path.of("..", "docs", "grafana", "worka.json");
    JsonNode json = Json.LENIENT.readTree(Files.readString(dashboard));
    List<String> exprs = new ArrayList<>();
    collectExprs(json, exprs);
    assertTrue(exprs.size() >= 8, "the dashboard has its panels' queries: " + exprs);
    Set<String> names = new TreeSet<>();
    scrape.all.forEach(s -> names.add(s.name()));
    Pattern metric = Pattern.compile("\\bworka_[a-z_]+");
    for (String expr : exprs) {
      Matcher m = metric.matcher(expr);
      assertTrue(m.find(), "a query names a Worka metric: " + expr);
      do {
        assertTrue(
            names.contains(m.group()), m.group() + " (in " + expr + ") is not in the scrape");
      } while (m.find());
    }
  }

  private static void collectExprs(JsonNode node, List<String> out) {
    if (node.isObject()) {
      if (node.path("expr").isTextual()) {
        out.add(node.path("expr").asText());
      }
      node.forEach(n -> collectExprs(n, out));
    } else if (node.isArray()) {
      node.forEach(n -> collectExprs(n, out));
    }
  }

  private Scrape scrape() {
    TestGateway.Answer a = gw.operator("GET", "/metrics", null);
    assertEquals(200, a.status(), a.raw().body());
    assertTrue(
        a.raw().headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
        a.raw().headers().toString());
    return Scrape.parse(a.raw().body());
  }

  private Scrape scrapeUntil(java.util.function.Predicate<Scrape> done) {
    AtomicReference<Scrape> last = new AtomicReference<>();
    await("the scrape after the runs' workers ended")
        .atMost(Duration.ofMinutes(1))
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              last.set(scrape());
              return done.test(last.get());
            });
    return last.get();
  }

  record Sample(String name, Map<String, String> labels, double value) {}

  /**
   * A scrape parsed strictly by the Prometheus text format 0.0.4: {@code # HELP}, {@code # TYPE}
   * (once per family, before its samples), samples {@code name{label="value",...} value}; anything
   * else fails the test.
   */
  static final class Scrape {
    final String text;
    final Map<String, String> types = new TreeMap<>();
    final List<Sample> all = new ArrayList<>();

    private Scrape(String text) {
      this.text = text;
    }

    static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    static Scrape parse(String text) {
      Scrape s = new Scrape(text);
      Set<String> helped = new TreeSet<>();
      for (String line : text.split("\n", -1)) {
        if (line.isEmpty()) {
          continue;
        }
        if (line.startsWith("# HELP ")) {
          String[] p = line.substring(7).split(" ", 2);
          assertTrue(NAME.matcher(p[0]).matches() && helped.add(p[0]), line);
        } else if (line.startsWith("# TYPE ")) {
          String[] p = line.substring(7).split(" ");
          assertEquals(2, p.length, line);
          assertTrue(NAME.matcher(p[0]).matches(), line);
          assertTrue(
              Set.of("counter", "gauge", "histogram", "summary", "untyped").contains(p[1]), line);
          assertTrue(s.types.put(p[0], p[1]) == null, "one TYPE per family: " + line);
        } else if (line.startsWith("#")) {
          fail("an unexpected comment: " + line);
        } else {
          s.all.add(sample(line, s.types));
        }
      }
      return s;
    }

    private static Sample sample(String line, Map<String, String> types) {
      int i = 0;
      while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
        i++;
      }
      String name = line.substring(0, i);
      assertTrue(NAME.matcher(name).matches(), line);
      assertTrue(
          types.containsKey(name) || types.containsKey(name.replaceAll("_(bucket|sum|count)$", "")),
          "a sample of a typed family: " + line);
      Map<String, String> labels = new LinkedHashMap<>();
      if (i < line.length() && line.charAt(i) == '{') {
        i++;
        while (line.charAt(i) != '}') {
          int eq = line.indexOf('=', i);
          String label = line.substring(i, eq);
          assertTrue(LABEL.matcher(label).matches(), line);
          assertEquals('"', line.charAt(eq + 1), line);
          StringBuilder value = new StringBuilder();
          int j = eq + 2;
          for (; line.charAt(j) != '"'; j++) {
            char c = line.charAt(j);
            if (c == '\\') {
              char n = line.charAt(++j);
              value.append(
                  switch (n) {
                    case '\\' -> '\\';
                    case '"' -> '"';
                    case 'n' -> '\n';
                    default -> throw new AssertionError("bad escape in " + line);
                  });
            } else {
              value.append(c);
            }
          }
          assertTrue(labels.put(label, value.toString()) == null, "label once: " + line);
          i = j + 1;
          if (line.charAt(i) == ',') {
            i++;
          } else {
            assertEquals('}', line.charAt(i), line);
          }
        }
        i++;
      }
      assertEquals(' ', line.charAt(i), line);
      String[] rest = line.substring(i + 1).split(" ");
      assertTrue(rest.length == 1 || rest.length == 2, line);
      double value =
          switch (rest[0]) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(rest[0]);
          };
      Map<String, String> withoutLe = new TreeMap<>(labels);
      if (!name.endsWith("_bucket")) {
        assertFalse(withoutLe.containsKey("le"), line);
      }
      return new Sample(name, labels, value);
    }

    List<Sample> samples(String name) {
      return all.stream().filter(s -> s.name().equals(name)).toList();
    }

    /** The value of the one sample of {@code name} with exactly {@code labels} (0 if none). */
    double value(String name, Map<String, String> labels) {
      List<Sample> of =
          all.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).toList();
      assertTrue(of.size() <= 1, of.toString());
      return of.isEmpty() ? 0 : of.get(0).value();
    }

    /** The sum of the samples of {@code name} whose labels include {@code labels}. */
    double sum(String name, Map<String, String> labels) {
      return all.stream()
          .filter(
              s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet()))
          .mapToDouble(Sample::value)
          .sum();
    }

    long delta(Scrape before, String name, Map<String, String> labels) {
      return Math.round(value(name, labels) - before.value(name, labels));
    }
  }
}
