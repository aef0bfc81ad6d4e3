package dev.worka.gateway.skill.github;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.protocol.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a {@code github.*} skill becomes a call of a GitHub MCP server's tool. A skill's action is
 * the tool's name ({@code github.create_issue} → {@code create_issue}). Newer github-mcp-server
 * versions consolidate some tools; those are used when the classic one is missing: {@code
 * get_issue} → {@code issue_read} with {@code method: get}, {@code create_issue} → {@code
 * issue_write} with {@code method: create}, comments lookup → {@code issue_read} with {@code
 * method: get_comments}.
 *
 * <p>The arguments are the skill's input plus the route's fixed arguments ({@link
 * ResolvedRoute#arguments}). What {@code create_issue} and {@code add_issue_comment} post is made
 * inert first ({@link GithubText}: no mention, no link whose text hides its target, no hidden HTML
 * comment, no copy of the marker) and then carries {@link InvocationContext#marker()} as an HTML
 * comment at the end of its body, so that {@link FindEffectByMarker} can find it again.
 */
final class ToolRoutes {
  private ToolRoutes() {}

  /** A way to offer a skill's action with a server tool: the tool and arguments it always gets. */
  record Route(String tool, Map<String, Object> fixedArguments) {}

  /** Tools per skill action, in order of preference; an action not listed maps to itself. */
  static final Map<String, List<Route>> ROUTES =
      Map.of(
          "get_issue",
              List.of(
                  new Route("get_issue", Map.of()),
                  new Route("issue_read", Map.of("method", "get"))),
          "create_issue",
              List.of(
                  new Route("create_issue", Map.of()),
                  new Route("issue_write", Map.of("method", "create"))));

  /** The tools reconciliation reads with: an issue list, and an issue's comments. */
  static final List<Route> LIST_ISSUES = List.of(new Route("list_issues", Map.of()));

  static final List<Route> LIST_COMMENTS =
      List.of(
          new Route("get_issue_comments", Map.of()),
          new Route("issue_read", Map.of("method", "get_comments")));

  /**
   * A route resolved against the server's tools: the tool, its schema, or why it cannot be used.
   */
  record ResolvedRoute(
      String tool, Map<String, Object> fixedArguments, ToolSchema schema, String problem) {
    /** {@code input} plus the route's fixed arguments, and {@code show_ui: false} where offered. */
    ObjectNode arguments(ObjectNode input) {
      ObjectNode args = input.deepCopy();
      fixedArguments.forEach((k, v) -> args.set(k, Json.STRICT.valueToTree(v)));
      if (schema != null && schema.hasProperty("show_ui")) {
        args.put("show_ui", false); // github-mcp-server's issue_write would render a form otherwise
      }
      return args;
    }
  }

  /** The routes that may serve {@code action}, in order of preference. */
  static List<Route> routesFor(String action) {
    return ROUTES.getOrDefault(action, List.of(new Route(action, Map.of())));
  }

  /** The first of {@code routes} whose tool is among {@code tools}, with its fixed arguments. */
  static Optional<ResolvedRoute> resolve(Map<String, ResolvedRoute> tools, List<Route> routes) {
    for (Route r : routes) {
      ResolvedRoute tool = tools.get(r.tool());
      if (tool != null) {
        if (tool.problem() == null && !r.fixedArguments().isEmpty()) {
          Object method = r.fixedArguments().get("method");
          if (method != null
              && !tool.schema().enumOf("method").isEmpty()
              && !tool.schema().enumOf("method").contains(method.toString())) {
            continue; // a consolidated tool of another shape: this version lacks the method
          }
        }
        return Optional.of(
            new ResolvedRoute(tool.tool(), r.fixedArguments(), tool.schema(), tool.problem()));
      }
    }
    return Optional.empty();
  }

  /**
   * The arguments {@code route}'s tool gets for {@code input}: the route's own, and for a call that
   * posts, the text made inert and the invocation's marker appended to the body.
   */
  static ObjectNode arguments(
      SkillDefinition skill, ResolvedRoute route, ObjectNode input, InvocationContext ctx) {
    ObjectNode arguments = route.arguments(input);
    if (carriesMarker(skill)) {
      // What is posted mentions nobody and hides no link (GithubText), then carries the marker.
      if (arguments.path("title").isTextual()) {
        arguments.put("title", GithubText.inertTitle(arguments.get("title").asText()));
      }
      if (arguments.path("body").isTextual()) {
        arguments.put("body", GithubText.inert(arguments.get("body").asText()));
      }
      arguments.put("body", withMarker(arguments.path("body"), ctx.marker()));
    }
    return arguments;
  }

  /** The skill's action: the part of its name after {@code github.}. */
  static String action(SkillDefinition skill) {
    return skill.name().substring(skill.name().indexOf('.') + 1);
  }

  /** Whether a call of {@code skill} leaves the invocation's marker in what it creates. */
  static boolean carriesMarker(SkillDefinition skill) {
    String action = action(skill);
    return skill.sideEffect()
        && (action.equals("create_issue") || action.equals("add_issue_comment"));
  }

  /** {@code body} followed by the invisible marker comment. */
  static String withMarker(JsonNode body, String marker) {
    String comment = "<!-- " + marker + " -->";
    String text = body == null || body.isNull() || body.isMissingNode() ? "" : body.asText();
    return text.isEmpty() ? comment : text + "\n\n" + comment;
  }

  /** Why {@code skill} is unavailable when {@code server} offers none of its tools. */
  static String missingTool(SkillDefinition skill, String server) {
    List<String> tools = routesFor(action(skill)).stream().map(Route::tool).toList();
    return skill.name()
        + " is unavailable: "
        + server
        + " offers no tool "
        + String.join(" (nor ", tools)
        + ")".repeat(tools.size() - 1)
        + "; check the server's version and enabled toolsets (GITHUB_TOOLSETS) and whether it runs"
        + " read-only";
  }

  /** Which skills have no tool among {@code tools}, and which use a consolidated one. */
  static String summary(Map<String, ResolvedRoute> tools, List<SkillDefinition> skills) {
    List<String> missing = new ArrayList<>();
    List<String> mapped = new ArrayList<>();
    for (SkillDefinition skill : skills) {
      String action = action(skill);
      Optional<ResolvedRoute> r = resolve(tools, routesFor(action));
      if (r.isEmpty() || r.get().problem() != null) {
        missing.add(skill.name());
      } else if (!r.get().tool().equals(action)) {
        mapped.add(skill.name() + " → " + r.get().tool());
      }
    }
    return (missing.isEmpty() ? "every skill has its tool" : "no tool for " + missing)
        + (mapped.isEmpty() ? "" : "; consolidated tools used: " + mapped);
  }
}
