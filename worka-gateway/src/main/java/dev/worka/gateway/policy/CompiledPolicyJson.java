package dev.worka.gateway.policy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.erdtman.jcs.JsonCanonicalizer;

/**
 * The stored form of a {@link CompiledPolicy}. Agents are an array (their manifest order is kept
 * through canonicalization); durations are ISO-8601 ({@code PT2M}); a skill's condition is its CEL
 * text ({@code "when"}, present only when the skill has one), compiled again when read. {@code
 * format} is bumped when the shape changes, so an old row is never misread by a newer Gateway.
 *
 * <p>{@code "when"} did not bump the format: a row without it means what it always meant, and a
 * Gateway from before conditions refuses a row with it (an unknown field), so no version ever reads
 * a condition it would not enforce.
 *
 * <p>{@code limits.retry_backoff}, {@code limits.retry_backoff_max} and {@code
 * limits.max_model_tokens_per_run} follow the same rule: written only when they differ from the
 * defaults (so every manifest from before them compiles to the same row), read as the defaults when
 * absent, and refused by a Gateway from before them.
 *
 * <p>An agent's {@code resources} (issue 13: {@code memory_bytes}, {@code cpu_millis}, {@code
 * pids}, {@code disk_bytes}, {@code open_files}) too: written only when they differ from {@link
 * Resources#DEFAULTS}, read as the defaults when absent.
 */
final class CompiledPolicyJson {
  static final int FORMAT = 1;

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  static String write(CompiledPolicy policy) {
    ObjectNode root = NODES.objectNode();
    root.put("format", FORMAT);
    ArrayNode agents = root.putArray("agents");
    for (AgentPolicy agent : policy.agents().values()) {
      ObjectNode a = agents.addObject();
      a.put("name", agent.name());
      a.put("role", agent.role().wireName());
      a.put("description", agent.description());
      a.put("enabled", agent.enabled());
      ObjectNode runtime = a.putObject("runtime");
      RuntimeSpec spec = agent.runtime();
      runtime.put("kind", spec.kind().wireName());
      switch (spec.kind()) {
        case PROCESS -> spec.command().forEach(runtime.putArray("command")::add);
        case KUBERNETES -> {
          runtime.put("image", spec.image());
          if (spec.runtimeClass() != null) {
            runtime.put("runtime_class", spec.runtimeClass());
          }
        }
        case WASM -> {
          runtime.put("module", spec.module());
          if (spec.moduleSha256() != null) {
            runtime.put("module_sha256", spec.moduleSha256());
          }
        }
      }
      agent.permissions().forEach(a.putArray("permissions")::add);
      agent.skills().forEach(a.putArray("skills")::add);
      // Written only when not the default, like "when": see the class comment.
      if (!agent.resources().equals(Resources.DEFAULTS)) {
        Resources r = agent.resources();
        a.putObject("resources")
            .put("memory_bytes", r.memoryBytes())
            .put("cpu_millis", r.cpuMillis())
            .put("pids", r.pids())
            .put("disk_bytes", r.diskBytes())
            .put("open_files", r.openFiles());
      }
    }
    ObjectNode lists = root.putObject("lists");
    policy.lists().forEach((name, values) -> values.forEach(lists.putArray(name)::add));
    ObjectNode skills = root.putObject("skills");
    policy
        .skills()
        .forEach(
            (name, skill) -> {
              ObjectNode s = skills.putObject(name).put("side_effect", skill.sideEffect());
              skill.when().ifPresent(condition -> s.put("when", condition.expression()));
              // Written only when present, like "when": see the class comment.
              skill
                  .approval()
                  .ifPresent(
                      approval -> {
                        ObjectNode a = s.putObject("approval");
                        approval.when().ifPresent(w -> a.put("when", w.expression()));
                        approval.approvers().forEach(a.putArray("approvers")::add);
                        a.put("expires", approval.expires().toString());
                      });
            });
    Limits limits = policy.limits();
    ObjectNode l = root.putObject("limits");
    l.put("max_steps", limits.maxSteps());
    l.put("max_skill_calls_per_step", limits.maxSkillCallsPerStep());
    l.put("max_skill_calls_per_run", limits.maxSkillCallsPerRun());
    l.put("step_timeout", limits.stepTimeout().toString());
    l.put("max_attempts", limits.maxAttempts());
    l.put("run_deadline", limits.runDeadline().toString());
    l.put("max_concurrent_steps", limits.maxConcurrentSteps());
    // Written only when not the default, like "when": see the class comment.
    if (!limits.retryBackoff().equals(Limits.DEFAULT_RETRY_BACKOFF)) {
      l.put("retry_backoff", limits.retryBackoff().toString());
    }
    if (!limits.retryBackoffMax().equals(Limits.DEFAULT_RETRY_BACKOFF_MAX)) {
      l.put("retry_backoff_max", limits.retryBackoffMax().toString());
    }
    if (limits.maxModelTokensPerRun() != Limits.DEFAULT_MAX_MODEL_TOKENS_PER_RUN) {
      l.put("max_model_tokens_per_run", limits.maxModelTokensPerRun());
    }
    // Written only when not the default, like "when": see the class comment.
    if (!policy.ingress().equals(IngressPolicy.DEFAULTS)) {
      writeIngress(root.putObject("ingress"), policy.ingress());
    }
    try {
      return new JsonCanonicalizer(Json.STRICT.writeValueAsString(root)).getEncodedString();
    } catch (IOException e) {
      throw new IllegalStateException("could not canonicalize a compiled policy", e);
    }
  }

  private static void writeIngress(ObjectNode node, IngressPolicy ingress) {
    ObjectNode github = node.putObject("github");
    ingress.github().authorAssociations().forEach(github.putArray("author_associations")::add);
    ingress.github().repositories().ifPresent(r -> r.forEach(github.putArray("repositories")::add));
    ObjectNode slack = node.putObject("slack");
    ingress.slack().teams().ifPresent(t -> t.forEach(slack.putArray("teams")::add));
    ingress.slack().channels().ifPresent(c -> c.forEach(slack.putArray("channels")::add));
    ingress.slack().users().ifPresent(u -> u.forEach(slack.putArray("users")::add));
    node.putObject("quotas")
        .put("runs_per_requester_per_hour", ingress.quotas().runsPerRequesterPerHour())
        .put("concurrent_runs_per_requester", ingress.quotas().concurrentRunsPerRequester());
  }

  private static IngressPolicy readIngress(ObjectNode node) {
    only(node, "ingress", "github", "slack", "quotas");
    ObjectNode github = object(node.get("github"), "ingress.github");
    only(github, "ingress.github", "author_associations", "repositories");
    ObjectNode slack = object(node.get("slack"), "ingress.slack");
    only(slack, "ingress.slack", "teams", "channels", "users");
    ObjectNode quotas = object(node.get("quotas"), "ingress.quotas");
    only(quotas, "ingress.quotas", "runs_per_requester_per_hour", "concurrent_runs_per_requester");
    return new IngressPolicy(
        new IngressPolicy.Github(
            strings(github.get("author_associations"), "ingress.github.author_associations"),
            optionalStrings(github, "repositories", "ingress.github")),
        new IngressPolicy.Slack(
            optionalStrings(slack, "teams", "ingress.slack"),
            optionalStrings(slack, "channels", "ingress.slack"),
            optionalStrings(slack, "users", "ingress.slack")),
        new IngressPolicy.Quotas(
            integer(quotas, "runs_per_requester_per_hour"),
            integer(quotas, "concurrent_runs_per_requester")));
  }

  private static Optional<List<String>> optionalStrings(
      ObjectNode node, String field, String where) {
    return node.has(field)
        ? Optional.of(strings(node.get(field), where + "." + field))
        : Optional.empty();
  }

  static CompiledPolicy read(String json) {
    if (json == null) {
      throw new IllegalArgumentException("compiled policy JSON is null");
    }
    JsonNode root;
    try {
      root = Json.STRICT.readTree(json);
    } catch (JacksonException e) {
      throw new IllegalArgumentException(
          "compiled policy JSON does not parse: " + e.getOriginalMessage(), e);
    }
    try {
      return readRoot(object(root, "compiled policy"));
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new IllegalArgumentException("compiled policy JSON is invalid: " + e.getMessage(), e);
    }
  }

  private static CompiledPolicy readRoot(ObjectNode root) {
    only(root, "compiled policy", "format", "agents", "lists", "skills", "limits", "ingress");
    int format = integer(root, "format");
    if (format != FORMAT) {
      throw new IllegalArgumentException(
          "format " + format + " is not known to this version (it reads format " + FORMAT + ")");
    }
    Map<String, AgentPolicy> agents = new LinkedHashMap<>();
    for (JsonNode node : array(root.get("agents"), "agents")) {
      AgentPolicy agent = readAgent(object(node, "agent"));
      if (agents.put(agent.name(), agent) != null) {
        throw new IllegalArgumentException("agent " + agent.name() + " appears twice");
      }
    }
    Map<String, List<String>> lists = new LinkedHashMap<>();
    ObjectNode listsNode = object(root.get("lists"), "lists");
    for (Map.Entry<String, JsonNode> e : listsNode.properties()) {
      lists.put(e.getKey(), strings(e.getValue(), "lists." + e.getKey()));
    }
    Map<String, SkillPolicy> skills = new LinkedHashMap<>();
    ObjectNode skillsNode = object(root.get("skills"), "skills");
    for (Map.Entry<String, JsonNode> e : skillsNode.properties()) {
      String where = "skills." + e.getKey();
      ObjectNode s = object(e.getValue(), where);
      only(s, where, "side_effect", "when", "approval");
      Optional<SkillCondition> when =
          s.has("when")
              ? Optional.of(condition(e.getKey(), text(s, "when", where), lists.keySet()))
              : Optional.empty();
      Optional<ApprovalPolicy> approval = Optional.empty();
      if (s.has("approval")) {
        String at = where + ".approval";
        ObjectNode a = object(s.get("approval"), at);
        only(a, at, "when", "approvers", "expires");
        approval =
            Optional.of(
                new ApprovalPolicy(
                    a.has("when")
                        ? Optional.of(condition(e.getKey(), text(a, "when", at), lists.keySet()))
                        : Optional.empty(),
                    strings(a.get("approvers"), at + ".approvers"),
                    duration(a, "expires")));
      }
      skills.put(
          e.getKey(), new SkillPolicy(e.getKey(), bool(s, "side_effect", where), when, approval));
    }
    ObjectNode l = object(root.get("limits"), "limits");
    only(
        l,
        "limits",
        "max_steps",
        "max_skill_calls_per_step",
        "max_skill_calls_per_run",
        "step_timeout",
        "max_attempts",
        "run_deadline",
        "max_concurrent_steps",
        "retry_backoff",
        "retry_backoff_max",
        "max_model_tokens_per_run");
    Limits limits =
        new Limits(
            integer(l, "max_steps"),
            integer(l, "max_skill_calls_per_step"),
            integer(l, "max_skill_calls_per_run"),
            duration(l, "step_timeout"),
            integer(l, "max_attempts"),
            duration(l, "run_deadline"),
            integer(l, "max_concurrent_steps"),
            l.has("retry_backoff") ? duration(l, "retry_backoff") : Limits.DEFAULT_RETRY_BACKOFF,
            l.has("retry_backoff_max")
                ? duration(l, "retry_backoff_max")
                : Limits.DEFAULT_RETRY_BACKOFF_MAX,
            l.has("max_model_tokens_per_run")
                ? integer(l, "max_model_tokens_per_run")
                : Limits.DEFAULT_MAX_MODEL_TOKENS_PER_RUN);
    IngressPolicy ingress =
        root.has("ingress")
            ? readIngress(object(root.get("ingress"), "ingress"))
            : IngressPolicy.DEFAULTS;
    return new CompiledPolicy(agents, lists, skills, limits, ingress);
  }

  private static AgentPolicy readAgent(ObjectNode a) {
    only(
        a,
        "agent",
        "name",
        "role",
        "description",
        "enabled",
        "runtime",
        "permissions",
        "skills",
        "resources");
    String name = text(a, "name", "agent");
    String where = "agent " + Names.shown(name);
    AgentRole role =
        AgentRole.fromWireName(text(a, "role", where))
            .orElseThrow(() -> new IllegalArgumentException(where + ": unknown role"));
    ObjectNode r = object(a.get("runtime"), where + " runtime");
    only(
        r,
        where + " runtime",
        "kind",
        "command",
        "image",
        "runtime_class",
        "module",
        "module_sha256");
    RuntimeKind kind =
        RuntimeKind.fromWireName(text(r, "kind", where))
            .orElseThrow(() -> new IllegalArgumentException(where + ": unknown runtime kind"));
    RuntimeSpec runtime =
        new RuntimeSpec(
            kind,
            r.has("command") ? strings(r.get("command"), where + " command") : List.of(),
            r.has("image") ? text(r, "image", where) : null,
            r.has("runtime_class") ? text(r, "runtime_class", where) : null,
            r.has("module") ? text(r, "module", where) : null,
            r.has("module_sha256") ? text(r, "module_sha256", where) : null);
    Set<String> permissions =
        new LinkedHashSet<>(strings(a.get("permissions"), where + " permissions"));
    return new AgentPolicy(
        name,
        role,
        text(a, "description", where),
        bool(a, "enabled", where),
        runtime,
        permissions,
        strings(a.get("skills"), where + " skills"),
        a.has("resources")
            ? readResources(object(a.get("resources"), where + " resources"), where)
            : Resources.DEFAULTS);
  }

  private static Resources readResources(ObjectNode r, String where) {
    only(r, where + " resources", "memory_bytes", "cpu_millis", "pids", "disk_bytes", "open_files");
    return new Resources(
        longInteger(r, "memory_bytes"),
        integer(r, "cpu_millis"),
        integer(r, "pids"),
        longInteger(r, "disk_bytes"),
        integer(r, "open_files"));
  }

  private static long longInteger(ObjectNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || !value.canConvertToLong() || !value.isIntegralNumber()) {
      throw new IllegalArgumentException(field + " is not an integer");
    }
    return value.longValue();
  }

  /**
   * Compiles a stored condition again. Its input field names were checked against the skill catalog
   * when the manifest was activated; the catalog is not known here.
   */
  private static SkillCondition condition(String skill, String expression, Set<String> lists) {
    return switch (ConditionCompiler.compile(skill, expression, lists, Optional.empty())) {
      case ConditionCompiler.Compiled c -> c.condition();
      case ConditionCompiler.Failed f ->
          throw new IllegalArgumentException(
              "skills."
                  + Names.shown(skill)
                  + ".when does not compile: "
                  + String.join("; ", f.problems()));
    };
  }

  private static ObjectNode object(JsonNode node, String where) {
    if (node instanceof ObjectNode o) {
      return o;
    }
    throw new IllegalArgumentException(where + " is not an object");
  }

  private static ArrayNode array(JsonNode node, String where) {
    if (node instanceof ArrayNode a) {
      return a;
    }
    throw new IllegalArgumentException(where + " is not an array");
  }

  private static void only(ObjectNode node, String where, String... fields) {
    Set<String> allowed = Set.of(fields);
    for (Map.Entry<String, JsonNode> property : node.properties()) {
      String field = property.getKey();
      if (!allowed.contains(field)) {
        throw new IllegalArgumentException(where + " has unknown field " + Names.shown(field));
      }
    }
  }

  private static String text(ObjectNode node, String field, String where) {
    JsonNode value = node.get(field);
    if (value == null || !value.isTextual()) {
      throw new IllegalArgumentException(where + "." + field + " is not a string");
    }
    return value.textValue();
  }

  private static boolean bool(ObjectNode node, String field, String where) {
    JsonNode value = node.get(field);
    if (value == null || !value.isBoolean()) {
      throw new IllegalArgumentException(where + "." + field + " is not a boolean");
    }
    return value.booleanValue();
  }

  private static int integer(ObjectNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || !value.canConvertToInt() || !value.isIntegralNumber()) {
      throw new IllegalArgumentException(field + " is not an integer");
    }
    return value.intValue();
  }

  private static Duration duration(ObjectNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || !value.isTextual()) {
      throw new IllegalArgumentException(field + " is not an ISO-8601 duration string");
    }
    try {
      return Duration.parse(value.textValue());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(field + " is not an ISO-8601 duration", e);
    }
  }

  private static List<String> strings(JsonNode node, String where) {
    List<String> out = new ArrayList<>();
    for (JsonNode item : array(node, where)) {
      if (!item.isTextual()) {
        throw new IllegalArgumentException(where + " holds a non-string");
      }
      out.add(item.textValue());
    }
    return out;
  }

  private CompiledPolicyJson() {}
}
