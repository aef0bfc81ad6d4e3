package dev.worka.gateway.skill.github;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillProvider.Reconciliation;
import dev.worka.gateway.skill.SkillUnavailableException;
import dev.worka.gateway.skill.github.ToolRoutes.ResolvedRoute;
import dev.worka.protocol.Json;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Looks, read-only, for the effect of an earlier call of a {@code github.*} skill: the issue or
 * comment carrying the invocation's marker ({@link ToolRoutes#withMarker}).
 *
 * <p>It lists (the repository's issues newest first, the issue's comments) rather than searching:
 * GitHub's search index lags behind writes by seconds to minutes, so a search right after a crash
 * could miss an issue that exists and answer "not performed" — and the mediator would then create
 * it a second time. A listing reads the primary store. It reads at most {@link #RECONCILE_PAGES}
 * pages of {@link #PAGE_SIZE}; past that, absence of a comment proves nothing ({@code Unknown}).
 */
final class FindEffectByMarker {
  /** How many pages of 100 issues (newest first) or comments are read at most. */
  static final int RECONCILE_PAGES = 3;

  static final int PAGE_SIZE = 100;

  /** Calls a read-only lookup tool in {@code session}; fails like a skill call would. */
  interface Lookup {
    JsonNode call(
        McpSession session,
        SkillDefinition skill,
        ResolvedRoute route,
        ObjectNode arguments,
        InvocationContext ctx);
  }

  private final McpConnection connection;
  private final GithubMcpEndpoint endpoint;
  private final Lookup lookup;

  FindEffectByMarker(McpConnection connection, GithubMcpEndpoint endpoint, Lookup lookup) {
    this.connection = Objects.requireNonNull(connection, "connection");
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    this.lookup = Objects.requireNonNull(lookup, "lookup");
  }

  /** What GitHub shows of the call of {@code skill} with {@code input} under {@code ctx}. */
  Reconciliation reconcile(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    if (!skill.sideEffect()) {
      return new Reconciliation.NotPerformed(
          skill.name() + " has no side effect upstream: repeating it is harmless");
    }
    String action = ToolRoutes.action(skill);
    if (!action.equals("create_issue") && !action.equals("add_issue_comment")) {
      return new Reconciliation.Unknown(
          skill.name() + " leaves no marker upstream, so an earlier call cannot be looked up");
    }
    McpSession s = connection.connectIfDue(true);
    if (s == null) {
      return new Reconciliation.Unknown(connection.downReason());
    }
    String owner = input.path("owner").asText();
    String repo = input.path("repo").asText();
    String marker = ctx.marker();
    try {
      return action.equals("create_issue")
          ? findIssue(s, skill, owner, repo, marker, ctx)
          : findComment(s, skill, owner, repo, input.path("issue_number").asLong(), marker, ctx);
    } catch (SkillFailedException | SkillUnavailableException e) {
      return new Reconciliation.Unknown("looking for " + marker + " failed: " + e.getMessage());
    }
  }

  private Reconciliation findIssue(
      McpSession s,
      SkillDefinition skill,
      String owner,
      String repo,
      String marker,
      InvocationContext ctx) {
    Optional<ResolvedRoute> found = s.resolve(ToolRoutes.LIST_ISSUES);
    if (found.isEmpty() || found.get().problem() != null) {
      return new Reconciliation.Unknown(
          endpoint.describe()
              + " offers no usable list_issues tool to look"
              + " for "
              + marker
              + found.map(r -> " (" + r.problem() + ")").orElse(""));
    }
    ResolvedRoute route = found.get();
    boolean cursorPaging = route.schema().hasProperty("after");
    String cursor = null;
    int seen = 0;
    for (int page = 1; page <= RECONCILE_PAGES; page++) {
      ObjectNode args =
          route.arguments(Json.STRICT.createObjectNode().put("owner", owner).put("repo", repo));
      putIfKnown(route, args, "perPage", PAGE_SIZE);
      if (route.schema().hasProperty("orderBy")) { // GraphQL-backed list_issues (current server)
        putIfKnown(route, args, "orderBy", "CREATED_AT");
        putIfKnown(route, args, "direction", "DESC");
      } else { // REST-backed list_issues (older server)
        if (route.schema().enumOf("state").contains("all")) {
          args.put("state", "all");
        }
        putIfKnown(route, args, "sort", "created");
        putIfKnown(route, args, "direction", "desc");
      }
      if (cursorPaging) {
        if (cursor != null) {
          args.put("after", cursor);
        }
      } else {
        putIfKnown(route, args, "page", page);
      }
      JsonNode answer = lookup.call(s, skill, route, args, ctx);
      JsonNode issues = items(answer, "issues");
      for (JsonNode issue : issues) {
        seen++;
        if (issue.path("body").asText("").contains(marker)) {
          return performedIssue(owner, repo, issue);
        }
      }
      JsonNode pageInfo = answer.path("pageInfo");
      if (cursorPaging) {
        cursor = pageInfo.path("endCursor").asText(null);
        if (!pageInfo.path("hasNextPage").asBoolean(false) || cursor == null) {
          break;
        }
      } else if (issues.size() < PAGE_SIZE) {
        break;
      }
    }
    return new Reconciliation.NotPerformed(
        "no issue in "
            + owner
            + "/"
            + repo
            + " carries "
            + marker
            + " among the "
            + seen
            + " newest (read with "
            + route.tool()
            + ")");
  }

  private static Reconciliation performedIssue(String owner, String repo, JsonNode issue) {
    ObjectNode output = Json.STRICT.createObjectNode();
    String url = firstUrl(issue).orElse(null);
    JsonNode id = issue.path("id");
    if (!id.isMissingNode() && !id.isNull()) {
      output.put("id", id.asText());
    }
    if (url != null) {
      output.put("url", url);
      output.put("html_url", url);
    }
    if (issue.path("number").canConvertToLong()) {
      output.put("number", issue.path("number").asLong());
    }
    if (issue.path("title").isTextual()) {
      output.put("title", issue.path("title").asText());
    }
    String ref = url != null ? url : owner + "/" + repo + "#" + issue.path("number").asText("?");
    return new Reconciliation.Performed(output, ref);
  }

  private Reconciliation findComment(
      McpSession s,
      SkillDefinition skill,
      String owner,
      String repo,
      long issueNumber,
      String marker,
      InvocationContext ctx) {
    Optional<ResolvedRoute> found = s.resolve(ToolRoutes.LIST_COMMENTS);
    if (found.isEmpty() || found.get().problem() != null) {
      return new Reconciliation.Unknown(
          endpoint.describe()
              + " offers no usable get_issue_comments"
              + " (or issue_read) tool to look for "
              + marker
              + found.map(r -> " (" + r.problem() + ")").orElse(""));
    }
    ResolvedRoute route = found.get();
    int seen = 0;
    for (int page = 1; page <= RECONCILE_PAGES; page++) {
      ObjectNode args =
          route.arguments(
              Json.STRICT
                  .createObjectNode()
                  .put("owner", owner)
                  .put("repo", repo)
                  .put("issue_number", issueNumber));
      putIfKnown(route, args, "perPage", PAGE_SIZE);
      putIfKnown(route, args, "page", page);
      JsonNode comments = items(lookup.call(s, skill, route, args, ctx), "comments");
      for (JsonNode comment : comments) {
        seen++;
        if (comment.path("body").asText("").contains(marker)) {
          ObjectNode output = Json.STRICT.createObjectNode();
          String url = firstUrl(comment).orElse(null);
          if (comment.has("id")) {
            output.put("id", comment.path("id").asText());
          }
          if (url != null) {
            output.put("url", url);
            output.put("html_url", url);
          }
          return new Reconciliation.Performed(
              output,
              url != null
                  ? url
                  : owner
                      + "/"
                      + repo
                      + "#"
                      + issueNumber
                      + " comment "
                      + comment.path("id").asText("?"));
        }
      }
      if (comments.size() < PAGE_SIZE || !route.schema().hasProperty("page")) {
        return new Reconciliation.NotPerformed(
            "no comment on "
                + owner
                + "/"
                + repo
                + "#"
                + issueNumber
                + " carries "
                + marker
                + " (all "
                + seen
                + " read with "
                + route.tool()
                + ")");
      }
    }
    // Comments come oldest first: past the bound the newest were not read, so absence proves
    // nothing.
    return new Reconciliation.Unknown(
        owner
            + "/"
            + repo
            + "#"
            + issueNumber
            + " has more than "
            + seen
            + " comments; the first "
            + seen
            + " do not carry "
            + marker
            + " and the rest were not read");
  }

  private static JsonNode items(JsonNode answer, String field) {
    if (answer.path("result").isArray()) {
      return answer.path("result");
    }
    if (answer.path(field).isArray()) {
      return answer.path(field);
    }
    if (answer.path("items").isArray()) {
      return answer.path("items");
    }
    return Json.STRICT.createArrayNode();
  }

  /** The first of {@code html_url}, {@code url} that is an http(s) URL. */
  static Optional<String> firstUrl(JsonNode node) {
    for (String field : List.of("html_url", "url")) {
      JsonNode value = node.path(field);
      if (value.isTextual() && value.asText().startsWith("http")) {
        return Optional.of(value.asText());
      }
    }
    return Optional.empty();
  }

  private static void putIfKnown(ResolvedRoute route, ObjectNode args, String name, Object value) {
    if (route.schema().hasProperty(name)) {
      args.set(name, Json.STRICT.valueToTree(value));
    }
  }
}
