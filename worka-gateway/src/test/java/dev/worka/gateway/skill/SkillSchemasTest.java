package dev.worka.gateway.skill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.protocol.Json;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SkillSchemasTest {
  final SkillRegistry registry =
      new SkillRegistry(
          List.of(CatalogOnlyProvider.github(false), CatalogOnlyProvider.slack(false)),
          SideEffectMode.DRY_RUN);

  static JsonNode json(String text) {
    try {
      return Json.STRICT.readTree(text.replace('\'', '"'));
    } catch (Exception e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  List<String> violations(String skill, String input) {
    return registry.validateInput(skill, json(input));
  }

  void assertViolation(String skill, JsonNode input, String... fragments) {
    List<String> violations = registry.validateInput(skill, input);
    assertFalse(violations.isEmpty(), () -> skill + " accepted " + input);
    String all = String.join("\n", violations);
    for (String fragment : fragments) {
      assertTrue(all.contains(fragment), () -> "expected '" + fragment + "' in:\n" + all);
    }
  }

  void assertViolation(String skill, String input, String... fragments) {
    assertViolation(skill, json(input), fragments);
  }

  @Test
  void theBuiltInSkillsWithTheirSideEffects() {
    Map<String, Boolean> sideEffects =
        registry.all().stream()
            .collect(Collectors.toMap(SkillDefinition::name, SkillDefinition::sideEffect));
    assertEquals(
        Map.of(
            "github.search_issues", false,
            "github.get_issue", false,
            "github.create_issue", true,
            "github.add_issue_comment", true,
            "github.delete_repository", true,
            "slack.read_thread", false,
            "slack.post_message", true),
        sideEffects);
    assertEquals(
        registry.all().stream().map(SkillDefinition::name).sorted().toList(),
        registry.all().stream().map(SkillDefinition::name).toList(),
        "all() is sorted by name");
    for (SkillDefinition skill : registry.all()) {
      JsonNode schema = skill.inputSchema();
      assertEquals("https://json-schema.org/draft/2020-12/schema", schema.get("$schema").asText());
      assertFalse(schema.get("additionalProperties").asBoolean(), skill.name());
      assertFalse(skill.description().isBlank());
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "github.search_issues | {'query': 'is:open label:bug'}",
        "github.search_issues | {'query': 'crash', 'owner': 'acme', 'repo': 'widgets', 'sort':"
            + " 'updated', 'order': 'desc', 'page': 2, 'perPage': 100}",
        "github.get_issue | {'owner': 'acme', 'repo': 'widgets', 'issue_number': 42}",
        "github.create_issue | {'owner': 'acme', 'repo': 'widgets', 'title': 'Crash on start'}",
        "github.create_issue | {'owner': 'acme-corp', 'repo': 'my.repo_x-1', 'title': 'T', 'body':"
            + " '', 'labels': ['bug', 'p1'], 'assignees': ['octocat']}",
        "github.add_issue_comment | {'owner': 'acme', 'repo': 'widgets', 'issue_number': 1, 'body':"
            + " 'Thanks!'}",
        "github.delete_repository | {'owner': 'acme', 'repo': 'widgets'}",
        "slack.read_thread | {'channel': 'C0123ABCD', 'ts': '1405894322.002768'}",
        "slack.read_thread | {'channel': 'G0123ABCD', 'ts': '1405894322.002768', 'limit': 200}",
        "slack.post_message | {'channel': 'C0123ABCD', 'text': 'Hello'}",
        "slack.post_message | {'channel': 'D0123ABCD', 'text': 'Reply', 'thread_ts':"
            + " '1405894322.002768'}"
      })
  void validInputsPass(String skill, String input) {
    assertEquals(List.of(), violations(skill, input));
  }

  @Test
  void unknownFieldsAreRefusedAtTheirPath() {
    assertViolation(
        "github.create_issue",
        "{'owner': 'acme', 'repo': 'w', 'title': 'T', 'milestone_hack': 1}",
        "milestone_hack");
    assertViolation(
        "slack.post_message", "{'channel': 'C0123ABCD', 'text': 'x', 'as_user': true}", "as_user");
    assertViolation("github.search_issues", "{'query': 'x', 'per_page': 10}", "per_page");
  }

  @Test
  void wrongTypesAreRefusedAtTheirPath() {
    assertViolation(
        "github.get_issue",
        "{'owner': 'acme', 'repo': 'w', 'issue_number': '42'}",
        "$.issue_number");
    assertViolation(
        "github.get_issue",
        "{'owner': 'acme', 'repo': 'w', 'issue_number': 4.5}",
        "$.issue_number");
    assertViolation(
        "github.create_issue",
        "{'owner': 'acme', 'repo': 'w', 'title': 'T', 'labels': 'bug'}",
        "$.labels");
    assertViolation(
        "github.create_issue",
        "{'owner': 'acme', 'repo': 'w', 'title': 'T', 'labels': [1]}",
        "$.labels[0]");
    assertViolation("slack.read_thread", "{'channel': 'C0123ABCD', 'ts': 1405894322.0}", "$.ts");
    assertViolation("slack.post_message", "[]", "$");
    assertViolation("slack.post_message", "null", "$");
    assertViolation("slack.post_message", (JsonNode) null, "input is required");
  }

  @Test
  void missingRequiredFieldsAreNamed() {
    assertViolation(
        "github.add_issue_comment", "{'owner': 'acme', 'repo': 'w'}", "issue_number", "body");
    assertViolation("slack.read_thread", "{'channel': 'C0123ABCD'}", "ts");
    assertViolation("github.search_issues", "{}", "query");
  }

  @Test
  void stringsAreBounded() {
    assertViolation(
        "github.create_issue",
        "{'owner': 'acme', 'repo': 'w', 'title': '" + "t".repeat(257) + "'}",
        "$.title");
    assertEquals(
        List.of(),
        violations(
            "github.create_issue",
            "{'owner': 'acme', 'repo': 'w', 'title': '" + "t".repeat(256) + "'}"));
    assertViolation(
        "github.create_issue",
        "{'owner': 'acme', 'repo': 'w', 'title': 'T', 'body': '" + "b".repeat(65_537) + "'}",
        "$.body");
    assertViolation(
        "github.add_issue_comment",
        "{'owner': 'acme', 'repo': 'w', 'issue_number': 1, 'body': '" + "b".repeat(65_537) + "'}",
        "$.body");
    assertViolation(
        "slack.post_message",
        "{'channel': 'C0123ABCD', 'text': '" + "x".repeat(40_001) + "'}",
        "$.text");
    assertEquals(
        List.of(),
        violations(
            "slack.post_message",
            "{'channel': 'C0123ABCD', 'text': '" + "x".repeat(40_000) + "'}"));
    assertViolation("github.search_issues", "{'query': '" + "q".repeat(257) + "'}", "$.query");
    assertViolation(
        "github.create_issue", "{'owner': 'acme', 'repo': 'w', 'title': ''}", "$.title");
    assertViolation("slack.post_message", "{'channel': 'C0123ABCD', 'text': ''}", "$.text");
  }

  @Test
  void identifiersAreShapedLikeTheUpstreamOnes() {
    for (String owner : List.of("-acme", "ac/me", "../x", "a".repeat(40), "", "acme corp")) {
      assertViolation(
          "github.get_issue",
          Json.STRICT
              .createObjectNode()
              .put("owner", owner)
              .put("repo", "w")
              .put("issue_number", 1),
          "$.owner");
    }
    for (String repo : List.of(".", "..", "a/b", "", "r".repeat(101), "w x")) {
      assertViolation(
          "github.get_issue",
          Json.STRICT
              .createObjectNode()
              .put("owner", "acme")
              .put("repo", repo)
              .put("issue_number", 1),
          "$.repo");
    }
    assertViolation(
        "github.get_issue", "{'owner': 'acme', 'repo': 'w', 'issue_number': 0}", "$.issue_number");
    assertViolation("github.search_issues", "{'query': 'x', 'perPage': 101}", "$.perPage");
    assertViolation("github.search_issues", "{'query': 'x', 'page': 0}", "$.page");
    assertViolation("github.search_issues", "{'query': 'x', 'sort': 'stars'}", "$.sort");
    assertViolation(
        "github.create_issue",
        "{'owner': 'acme', 'repo': 'w', 'title': 'T', 'labels': ['bug', 'bug']}",
        "$.labels");
    assertViolation("slack.read_thread", "{'channel': '#general', 'ts': '1.2'}", "$.channel");
    assertViolation("slack.read_thread", "{'channel': 'C0123ABCD', 'ts': '1405894322'}", "$.ts");
    assertViolation(
        "slack.read_thread", "{'channel': 'C0123ABCD', 'ts': '1.2', 'limit': 1001}", "$.limit");
    assertViolation(
        "slack.post_message",
        "{'channel': 'C0123ABCD', 'text': 'x', 'thread_ts': 'yesterday'}",
        "$.thread_ts");
  }

  @Test
  void violationsAreSortedAndStable() {
    String input = "{'owner': '-', 'repo': '..', 'title': '', 'extra': 1}";
    List<String> first = violations("github.create_issue", input);
    assertEquals(first, violations("github.create_issue", input));
    assertEquals(first.stream().sorted().toList(), first);
    assertTrue(first.size() >= 4, first.toString());
    for (String violation : first) {
      assertTrue(violation.startsWith("$"), violation);
    }
  }
}
