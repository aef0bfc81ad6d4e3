package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.StringReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * An eval suite, read from YAML (the format is docs/evals.md's). Reading is strict: an unknown key,
 * a missing field, a wrong type, an invalid regular expression or a source the API cannot take is
 * an error naming the line and the field, and nothing runs. The YAML is only composed into nodes —
 * nothing in it constructs a Java type.
 *
 * <p>A suite names requests and what to expect of their runs; it carries no URL, token or header:
 * the runner creates its runs through {@code POST /v1/runs} with the operator's own token, so a
 * suite can do nothing its reader could not do with {@code worka run}.
 */
record EvalSuite(String name, Optional<String> model, Duration timeout, List<Case> cases) {
  static final int MAX_CHARS = 1024 * 1024;
  static final int MAX_CASES = 500;
  static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(2);
  static final Duration MAX_TIMEOUT = Duration.ofMinutes(30);
  static final Pattern NAME = Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N} ._:/#'()-]{0,199}");
  static final List<String> STATUSES = List.of("succeeded", "failed", "rejected", "cancelled");

  /** One case: a request and what its run must show. */
  record Case(String name, String request, String source, Expect expect, JsonNode expected) {}

  /** What a case expects; an absent part is not checked. */
  record Expect(
      Optional<String> status,
      Optional<Pattern> error,
      Optional<PlanExpect> plan,
      List<GateExpect> gates,
      List<OutputExpect> output) {}

  /** {@code status}: accepted, rejected or none; {@code steps}: the exact shape, in order. */
  record PlanExpect(
      Optional<String> status, Optional<List<StepShape>> steps, Optional<Pattern> reason) {}

  record StepShape(
      Optional<String> ref, String agent, List<String> skills, List<String> dependsOn) {}

  /** A gate the run must (or, {@code absent}, must not) have: each given field matches. */
  record GateExpect(
      Optional<String> action,
      Optional<String> status,
      Optional<String> skill,
      Optional<String> subject,
      Optional<Pattern> reason,
      boolean absent) {}

  /** One property of the delivered result. */
  sealed interface OutputExpect {
    record Contains(String text) implements OutputExpect {}

    record NotContains(String text) implements OutputExpect {}

    record Matches(Pattern pattern) implements OutputExpect {}

    record NotMatches(Pattern pattern) implements OutputExpect {}

    /** The value at JSON Pointer {@code path} of the result's output equals {@code value}. */
    record PathEquals(String path, JsonNode value) implements OutputExpect {}
  }

  /** A suite, or the problems that stop it from being one. */
  sealed interface Reading {
    record Read(EvalSuite suite) implements Reading {}

    record Invalid(List<String> errors) implements Reading {}
  }

  /** Reads {@code yaml} ({@code origin} names it in errors: a file, or "the built-in suite"). */
  static Reading read(String yaml, String origin) {
    List<String> errors = new ArrayList<>();
    if (yaml.length() > MAX_CHARS) {
      return new Reading.Invalid(List.of(origin + ": is longer than " + MAX_CHARS + " characters"));
    }
    Node root;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setMaxAliasesForCollections(0);
      options.setAllowDuplicateKeys(false);
      options.setNestingDepthLimit(32);
      options.setCodePointLimit(MAX_CHARS + 1);
      Iterable<Node> documents =
          new Yaml(new SafeConstructor(options)).composeAll(new StringReader(yaml));
      List<Node> all = new ArrayList<>();
      documents.forEach(all::add);
      if (all.size() != 1) {
        return new Reading.Invalid(
            List.of(origin + ": holds " + all.size() + " YAML documents; a suite is one document"));
      }
      root = all.get(0);
    } catch (MarkedYAMLException e) {
      return new Reading.Invalid(
          List.of(
              origin
                  + ":"
                  + (e.getProblemMark() == null ? "" : (e.getProblemMark().getLine() + 1) + ":")
                  + " not readable YAML: "
                  + e.getProblem()));
    } catch (YAMLException e) {
      return new Reading.Invalid(List.of(origin + ": not readable YAML: " + e.getMessage()));
    }
    Reader r = new Reader(origin, errors);
    EvalSuite suite = r.suite(root);
    return errors.isEmpty() ? new Reading.Read(suite) : new Reading.Invalid(errors);
  }

  /** Walks the composed nodes; every problem goes to {@code errors} as "origin:LINE: FIELD: …". */
  private record Reader(String origin, List<String> errors) {
    void error(Node at, String field, String message) {
      errors.add(origin + ":" + (at.getStartMark().getLine() + 1) + ": " + field + ": " + message);
    }

    EvalSuite suite(Node root) {
      Map<String, Node> top =
          mapping(root, "suite file", Set.of("suite", "model", "timeout", "cases"));
      if (top == null) {
        return null;
      }
      String name = required(root, top, "suite", "suite");
      if (name != null && !NAME.matcher(name).matches()) {
        error(top.get("suite"), "suite", "must be 1-200 letters, digits, spaces and ._:/#'()-");
      }
      Optional<String> model =
          optionalEnum(top, "model", "model", List.of("scripted", "anthropic"));
      Duration timeout = DEFAULT_TIMEOUT;
      if (top.containsKey("timeout")) {
        timeout = duration(top.get("timeout"), "timeout");
      }
      List<Case> cases = new ArrayList<>();
      Node casesNode = top.get("cases");
      if (casesNode == null) {
        error(root, "cases", "is required: a list of cases (name, request, expect)");
      } else if (!(casesNode instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
        error(casesNode, "cases", "must be a non-empty list of cases");
      } else if (seq.getValue().size() > MAX_CASES) {
        error(casesNode, "cases", "has more than " + MAX_CASES + " cases");
      } else {
        Set<String> names = new HashSet<>();
        for (int i = 0; i < seq.getValue().size(); i++) {
          Case c = caseOf(seq.getValue().get(i), "cases[" + i + "]");
          if (c != null && !names.add(c.name())) {
            error(seq.getValue().get(i), "cases[" + i + "].name", "repeats " + c.name());
          }
          cases.add(c);
        }
      }
      return new EvalSuite(name, model, timeout, cases);
    }

    Case caseOf(Node node, String field) {
      Map<String, Node> m = mapping(node, field, Set.of("name", "request", "source", "expect"));
      if (m == null) {
        return null;
      }
      String name = required(node, m, "name", field + ".name");
      if (name != null && !NAME.matcher(name).matches()) {
        error(
            m.get("name"), field + ".name", "must be 1-200 letters, digits, spaces and ._:/#'()-");
      }
      String request = required(node, m, "request", field + ".request");
      if (request != null && (request.isBlank() || request.length() > 8000)) {
        error(m.get("request"), field + ".request", "must be 1-8000 characters");
      }
      String source = "api";
      if (m.containsKey("source")) {
        String s = scalar(m.get("source"), field + ".source");
        if ("slack".equals(s) || "github".equals(s)) {
          error(
              m.get("source"),
              field + ".source",
              s
                  + " runs start only from a request "
                  + (s.equals("slack") ? "Slack" : "GitHub")
                  + " signed, and their answer is posted there: an eval creates its runs through"
                  + " the operator API, so it takes api or cli (docs/evals.md says where Slack and"
                  + " GitHub requests are tested)");
        } else if (s != null && !s.equals("api") && !s.equals("cli")) {
          error(m.get("source"), field + ".source", "must be api or cli, not " + s);
        } else if (s != null) {
          source = s;
        }
      }
      Expect expect = null;
      Node e = m.get("expect");
      if (e == null) {
        error(node, field + ".expect", "is required: what the run must show (at least a status)");
      } else {
        expect = expect(e, field + ".expect");
      }
      if (name == null || request == null || expect == null) {
        return null;
      }
      ObjectNode expected = JsonNodeFactory.instance.objectNode();
      expected.put("request", request);
      expected.put("source", source);
      expected.set("expect", json(e));
      return new Case(name, request, source, expect, expected);
    }

    Expect expect(Node node, String field) {
      Map<String, Node> m =
          mapping(node, field, Set.of("status", "error", "plan", "gates", "output"));
      if (m == null) {
        return null;
      }
      if (m.isEmpty()) {
        error(node, field, "expects nothing: give at least a status");
      }
      Optional<String> status = optionalEnum(m, "status", field + ".status", STATUSES);
      Optional<Pattern> error = optionalRegex(m, "error", field + ".error");
      Optional<PlanExpect> plan = Optional.empty();
      if (m.containsKey("plan")) {
        plan = Optional.ofNullable(plan(m.get("plan"), field + ".plan"));
      }
      List<GateExpect> gates = new ArrayList<>();
      if (m.containsKey("gates")) {
        List<Node> items = list(m.get("gates"), field + ".gates");
        for (int i = 0; i < items.size(); i++) {
          GateExpect g = gate(items.get(i), field + ".gates[" + i + "]");
          if (g != null) {
            gates.add(g);
          }
        }
      }
      List<OutputExpect> output = new ArrayList<>();
      if (m.containsKey("output")) {
        List<Node> items = list(m.get("output"), field + ".output");
        for (int i = 0; i < items.size(); i++) {
          OutputExpect o = output(items.get(i), field + ".output[" + i + "]");
          if (o != null) {
            output.add(o);
          }
        }
      }
      return new Expect(status, error, plan, gates, output);
    }

    PlanExpect plan(Node node, String field) {
      Map<String, Node> m = mapping(node, field, Set.of("status", "steps", "reason"));
      if (m == null) {
        return null;
      }
      Optional<String> status =
          optionalEnum(m, "status", field + ".status", List.of("accepted", "rejected", "none"));
      Optional<Pattern> reason = optionalRegex(m, "reason", field + ".reason");
      Optional<List<StepShape>> steps = Optional.empty();
      if (m.containsKey("steps")) {
        List<StepShape> shapes = new ArrayList<>();
        Node stepsNode = m.get("steps");
        List<Node> items =
            stepsNode instanceof SequenceNode s && s.getValue().isEmpty()
                ? List.of()
                : list(stepsNode, field + ".steps");
        for (int i = 0; i < items.size(); i++) {
          String f = field + ".steps[" + i + "]";
          Map<String, Node> sm =
              mapping(items.get(i), f, Set.of("ref", "agent", "skills", "depends_on"));
          if (sm == null) {
            continue;
          }
          String agent = required(items.get(i), sm, "agent", f + ".agent");
          Optional<String> ref =
              sm.containsKey("ref")
                  ? Optional.ofNullable(scalar(sm.get("ref"), f + ".ref"))
                  : Optional.empty();
          List<String> skills =
              sm.containsKey("skills") ? strings(sm.get("skills"), f + ".skills") : List.of();
          List<String> deps =
              sm.containsKey("depends_on")
                  ? strings(sm.get("depends_on"), f + ".depends_on")
                  : List.of();
          shapes.add(new StepShape(ref, agent, skills, deps));
        }
        steps = Optional.of(shapes);
      }
      return new PlanExpect(status, steps, reason);
    }

    GateExpect gate(Node node, String field) {
      Map<String, Node> m =
          mapping(node, field, Set.of("action", "status", "skill", "subject", "reason", "absent"));
      if (m == null) {
        return null;
      }
      if (m.isEmpty() || (m.size() == 1 && m.containsKey("absent"))) {
        error(
            node,
            field,
            "names no gate: give at least one of action, status, skill, subject, reason");
      }
      Optional<String> action = optionalScalar(m, "action", field + ".action");
      Optional<String> status =
          optionalEnum(m, "status", field + ".status", List.of("allow", "deny"));
      Optional<String> skill = optionalScalar(m, "skill", field + ".skill");
      Optional<String> subject = optionalScalar(m, "subject", field + ".subject");
      Optional<Pattern> reason = optionalRegex(m, "reason", field + ".reason");
      boolean absent = false;
      if (m.containsKey("absent")) {
        String a = scalar(m.get("absent"), field + ".absent");
        if ("true".equals(a)) {
          absent = true;
        } else if (!"false".equals(a)) {
          error(m.get("absent"), field + ".absent", "must be true or false");
        }
      }
      return new GateExpect(action, status, skill, subject, reason, absent);
    }

    OutputExpect output(Node node, String field) {
      Map<String, Node> m =
          mapping(
              node,
              field,
              Set.of("contains", "not_contains", "matches", "not_matches", "path", "equals"));
      if (m == null) {
        return null;
      }
      Set<String> keys = m.keySet();
      if (keys.equals(Set.of("path", "equals"))) {
        String path = scalar(m.get("path"), field + ".path");
        if (path != null && !path.isEmpty() && !path.startsWith("/")) {
          error(m.get("path"), field + ".path", "is a JSON Pointer: empty or starting with /");
        }
        return path == null ? null : new OutputExpect.PathEquals(path, json(m.get("equals")));
      }
      if (keys.size() != 1 || keys.contains("path") || keys.contains("equals")) {
        error(
            node,
            field,
            "must be one of {contains: TEXT}, {not_contains: TEXT}, {matches: REGEX},"
                + " {not_matches: REGEX}, {path: /POINTER, equals: VALUE}");
        return null;
      }
      String key = keys.iterator().next();
      String value = scalar(m.get(key), field + "." + key);
      if (value == null) {
        return null;
      }
      return switch (key) {
        case "contains" -> new OutputExpect.Contains(value);
        case "not_contains" -> new OutputExpect.NotContains(value);
        case "matches" -> {
          Pattern p = regex(m.get(key), field + "." + key, value);
          yield p == null ? null : new OutputExpect.Matches(p);
        }
        default -> {
          Pattern p = regex(m.get(key), field + "." + key, value);
          yield p == null ? null : new OutputExpect.NotMatches(p);
        }
      };
    }

    // --- the shapes -------------------------------------------------------------------------

    Map<String, Node> mapping(Node node, String field, Set<String> allowed) {
      if (!(node instanceof MappingNode mapping)) {
        error(node, field, "must be a mapping (key: value)");
        return null;
      }
      Map<String, Node> m = new java.util.LinkedHashMap<>();
      for (NodeTuple t : mapping.getValue()) {
        if (!(t.getKeyNode() instanceof ScalarNode key)) {
          error(t.getKeyNode(), field, "has a key that is not text");
          continue;
        }
        if (!allowed.contains(key.getValue())) {
          error(
              key,
              field,
              "unknown key "
                  + key.getValue()
                  + " (allowed: "
                  + String.join(", ", allowed.stream().sorted().toList())
                  + ")");
          continue;
        }
        m.put(key.getValue(), t.getValueNode());
      }
      return m;
    }

    List<Node> list(Node node, String field) {
      if (!(node instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
        error(node, field, "must be a non-empty list");
        return List.of();
      }
      return seq.getValue();
    }

    List<String> strings(Node node, String field) {
      if (!(node instanceof SequenceNode seq)) {
        error(node, field, "must be a list, e.g. [a, b] or []");
        return List.of();
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < seq.getValue().size(); i++) {
        String s = scalar(seq.getValue().get(i), field + "[" + i + "]");
        if (s != null) {
          out.add(s);
        }
      }
      return out;
    }

    String scalar(Node node, String field) {
      if (!(node instanceof ScalarNode s)) {
        error(node, field, "must be a single value, not a list or mapping");
        return null;
      }
      return s.getValue();
    }

    String required(Node parent, Map<String, Node> m, String key, String field) {
      Node n = m.get(key);
      if (n == null) {
        error(parent, field, "is required");
        return null;
      }
      String s = scalar(n, field);
      if (s != null && s.isBlank()) {
        error(n, field, "is empty");
        return null;
      }
      return s;
    }

    Optional<String> optionalScalar(Map<String, Node> m, String key, String field) {
      return m.containsKey(key) ? Optional.ofNullable(scalar(m.get(key), field)) : Optional.empty();
    }

    Optional<String> optionalEnum(
        Map<String, Node> m, String key, String field, List<String> allowed) {
      Optional<String> v = optionalScalar(m, key, field);
      if (v.isPresent() && !allowed.contains(v.get())) {
        error(
            m.get(key), field, "must be one of " + String.join(", ", allowed) + ", not " + v.get());
        return Optional.empty();
      }
      return v;
    }

    Optional<Pattern> optionalRegex(Map<String, Node> m, String key, String field) {
      Optional<String> v = optionalScalar(m, key, field);
      return v.map(s -> regex(m.get(key), field, s));
    }

    Pattern regex(Node node, String field, String text) {
      try {
        return Pattern.compile(text);
      } catch (PatternSyntaxException e) {
        error(node, field, "is not a valid regular expression: " + e.getDescription());
        return null;
      }
    }

    Duration duration(Node node, String field) {
      String s = scalar(node, field);
      if (s == null) {
        return DEFAULT_TIMEOUT;
      }
      java.util.regex.Matcher m =
          Pattern.compile("([1-9][0-9]{0,5})(s|m)").matcher(s.strip().toLowerCase(Locale.ROOT));
      if (!m.matches()) {
        error(node, field, "must be a duration such as 90s or 5m, not " + s);
        return DEFAULT_TIMEOUT;
      }
      Duration d =
          m.group(2).equals("s")
              ? Duration.ofSeconds(Long.parseLong(m.group(1)))
              : Duration.ofMinutes(Long.parseLong(m.group(1)));
      if (d.compareTo(MAX_TIMEOUT) > 0) {
        error(node, field, "is longer than " + MAX_TIMEOUT.toMinutes() + "m");
        return MAX_TIMEOUT;
      }
      return d;
    }

    /** The node as JSON, scalars typed as YAML's core schema reads them. */
    static JsonNode json(Node node) {
      JsonNodeFactory f = JsonNodeFactory.instance;
      return switch (node) {
        case MappingNode m -> {
          ObjectNode o = f.objectNode();
          for (NodeTuple t : m.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k) {
              o.set(k.getValue(), json(t.getValueNode()));
            }
          }
          yield o;
        }
        case SequenceNode s -> {
          var a = f.arrayNode();
          s.getValue().forEach(n -> a.add(json(n)));
          yield a;
        }
        case ScalarNode s -> scalarJson(s);
        default -> f.nullNode();
      };
    }

    private static JsonNode scalarJson(ScalarNode s) {
      JsonNodeFactory f = JsonNodeFactory.instance;
      String v = s.getValue();
      if (s.isPlain()) {
        switch (v) {
          case "true", "True", "TRUE" -> {
            return f.booleanNode(true);
          }
          case "false", "False", "FALSE" -> {
            return f.booleanNode(false);
          }
          case "null", "~", "" -> {
            return f.nullNode();
          }
          default -> {}
        }
        if (v.matches("-?(0|[1-9][0-9]{0,17})")) {
          return f.numberNode(Long.parseLong(v));
        }
        if (v.matches("-?(0|[1-9][0-9]{0,17})\\.[0-9]{1,17}")) {
          return f.numberNode(new java.math.BigDecimal(v));
        }
      }
      return f.textNode(v);
    }
  }
}
