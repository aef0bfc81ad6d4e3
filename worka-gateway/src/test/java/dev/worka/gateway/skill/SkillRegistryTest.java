package dev.worka.gateway.skill;

import static dev.worka.gateway.skill.SkillSchemasTest.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.Json;
import dev.worka.protocol.SkillSpec;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SkillRegistryTest {
  static final InvocationContext CTX =
      new InvocationContext(
          UUID.randomUUID(), UUID.randomUUID(), "ernest", UUID.randomUUID(), "key-1");

  /** A provider that counts every call that could reach an upstream. */
  static class CountingProvider implements SkillProvider {
    final AtomicInteger invocations = new AtomicInteger();
    final AtomicInteger availabilityChecks = new AtomicInteger();
    final String name;
    Availability availability = new Availability.Available();
    RuntimeException failure;
    InvocationContext lastContext;

    CountingProvider(String name) {
      this.name = name;
    }

    SkillDefinition echo() {
      return new SkillDefinition(
          name + ".echo",
          name,
          "Echoes its input",
          json(
              "{'type': 'object', 'additionalProperties': false, 'required': ['text'],"
                  + " 'properties': {'text': {'type': 'string', 'maxLength': 10}}}"),
          true);
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public List<SkillDefinition> skills() {
      return List.of(echo());
    }

    @Override
    public Availability availability() {
      availabilityChecks.incrementAndGet();
      return availability;
    }

    @Override
    public JsonNode invoke(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
      invocations.incrementAndGet();
      lastContext = ctx;
      if (failure != null) {
        throw failure;
      }
      return Json.STRICT.createObjectNode().put("echoed", input.get("text").asText());
    }
  }

  final CountingProvider counting = new CountingProvider("echo");

  SkillRegistry registry(SideEffectMode mode, SkillProvider... extra) {
    List<SkillProvider> providers =
        new java.util.ArrayList<>(
            List.of(CatalogOnlyProvider.github(false), CatalogOnlyProvider.slack(true)));
    providers.add(counting);
    providers.addAll(List.of(extra));
    return new SkillRegistry(providers, mode);
  }

  @Test
  void dryRunNeverCallsTheProviderAndSaysSo() {
    SkillRegistry registry = registry(SideEffectMode.DRY_RUN);

    JsonNode output = registry.invoke("echo.echo", json("{'text': 'hi'}"), CTX);

    assertEquals(0, counting.invocations.get());
    assertEquals(0, counting.availabilityChecks.get());
    assertEquals(
        json(
            "{'dry_run': true, 'skill': 'echo.echo', 'provider': 'echo', 'input': {'text': 'hi'},"
                + " 'note': 'WORKA_SIDE_EFFECTS=dry-run: gated and recorded, not sent to echo'}"),
        output);
    assertEquals(Optional.empty(), registry.unavailableReason("echo.echo"));
    assertEquals(Optional.empty(), registry.unavailableReason("github.create_issue"));
  }

  @Test
  void dryRunOutputsOfTheBuiltInSkills() {
    SkillRegistry registry = registry(SideEffectMode.DRY_RUN);

    JsonNode search = registry.invoke("github.search_issues", json("{'query': 'bug'}"), CTX);
    assertEquals(json("[]"), search.get("items"));
    assertEquals(0, search.get("total_count").asInt());

    JsonNode issue =
        registry.invoke(
            "github.get_issue", json("{'owner': 'a', 'repo': 'b', 'issue_number': 3}"), CTX);
    assertTrue(issue.get("issue").isNull());

    JsonNode created =
        registry.invoke(
            "github.create_issue", json("{'owner': 'acme', 'repo': 'w', 'title': 'Crash'}"), CTX);
    assertEquals(
        json(
            "{'dry_run': true, 'skill': 'github.create_issue', 'provider': 'github',"
                + " 'input': {'owner': 'acme', 'repo': 'w', 'title': 'Crash'},"
                + " 'note': 'WORKA_SIDE_EFFECTS=dry-run: gated and recorded, not sent to GitHub',"
                + " 'issue': null}"),
        created);

    JsonNode comment =
        registry.invoke(
            "github.add_issue_comment",
            json("{'owner': 'acme', 'repo': 'w', 'issue_number': 1, 'body': 'x'}"),
            CTX);
    assertTrue(comment.get("comment").isNull());

    JsonNode thread =
        registry.invoke("slack.read_thread", json("{'channel': 'C0123ABCD', 'ts': '1.2'}"), CTX);
    assertEquals(json("[]"), thread.get("messages"));
    assertTrue(thread.get("note").asText().endsWith("not sent to Slack"));

    JsonNode posted =
        registry.invoke("slack.post_message", json("{'channel': 'C0123ABCD', 'text': 'hi'}"), CTX);
    assertTrue(posted.get("message").isNull());

    for (JsonNode output : List.of(search, issue, created, comment, thread, posted)) {
      assertTrue(output.get("dry_run").asBoolean());
      assertTrue(output.get("note").asText().startsWith("WORKA_SIDE_EFFECTS=dry-run"));
      assertFalse(output.toString().contains("http"), "no made-up URLs: " + output);
      assertFalse(output.has("number") || output.has("url") || output.has("ts"), output::toString);
    }
  }

  @Test
  void dryRunIsDeterministicAndEchoesACopy() {
    SkillRegistry registry = registry(SideEffectMode.DRY_RUN);
    ObjectNode input = (ObjectNode) json("{'channel': 'C0123ABCD', 'text': 'hi'}");

    JsonNode first = registry.invoke("slack.post_message", input, CTX);
    JsonNode second = registry.invoke("slack.post_message", input, CTX);
    ((ObjectNode) first.get("input")).put("text", "changed");

    assertEquals("hi", input.get("text").asText());
    assertEquals("hi", second.get("input").get("text").asText());
    assertEquals(
        registry.invoke("slack.post_message", input, CTX),
        second,
        "the same input gives the same output");
  }

  @Test
  void liveUnavailableProvidersSayWhatToSet() {
    SkillRegistry registry = registry(SideEffectMode.LIVE);

    String github = registry.unavailableReason("github.create_issue").orElseThrow();
    assertTrue(github.contains("GITHUB_MCP_URL") && github.contains("GITHUB_MCP_COMMAND"), github);
    assertTrue(github.contains("WORKA_SIDE_EFFECTS=dry-run"), github);

    String slack = registry.unavailableReason("slack.post_message").orElseThrow();
    assertEquals(
        "Slack is configured, but live Slack calls are made only with WORKA_SIDE_EFFECTS=live",
        slack);

    SkillUnavailableException e =
        assertThrows(
            SkillUnavailableException.class,
            () ->
                registry.invoke(
                    "slack.post_message", json("{'channel': 'C0123ABCD', 'text': 'hi'}"), CTX));
    assertEquals(slack, e.reason());
    assertEquals("slack.post_message", e.skill());
    assertFalse(e.retryable());
  }

  @Test
  void configuredGitHubOutsideLiveModeSaysLiveModeIsWhatMakesCalls() {
    SkillProvider configured =
        CatalogOnlyProvider.builtIn(Map.of("GITHUB_MCP_URL", "http://127.0.0.1:9/mcp")).get(0);
    String reason =
        assertInstanceOf(Availability.Unavailable.class, configured.availability()).reason();
    assertEquals(
        "GitHub is configured, but live GitHub calls are made only with WORKA_SIDE_EFFECTS=live",
        reason);
    assertEquals(
        reason,
        assertInstanceOf(
                Availability.Unavailable.class,
                CatalogOnlyProvider.builtIn(Map.of("GITHUB_MCP_COMMAND", "github-mcp-server stdio"))
                    .get(0)
                    .availability())
            .reason());
    assertTrue(
        assertInstanceOf(
                Availability.Unavailable.class,
                CatalogOnlyProvider.builtIn(Map.of("GITHUB_MCP_URL", " ")).get(0).availability())
            .reason()
            .contains("not configured"));
    assertTrue(
        assertInstanceOf(
                Availability.Unavailable.class,
                CatalogOnlyProvider.builtIn(Map.of()).get(1).availability())
            .reason()
            .contains("set SLACK_BOT_TOKEN"));
  }

  @Test
  void liveAvailableProviderIsCalledWithTheContext() {
    SkillRegistry registry = registry(SideEffectMode.LIVE);

    JsonNode output = registry.invoke("echo.echo", json("{'text': 'hi'}"), CTX);

    assertEquals(json("{'echoed': 'hi'}"), output);
    assertEquals(1, counting.invocations.get());
    assertSame(CTX, counting.lastContext);
    assertEquals(Optional.empty(), registry.unavailableReason("echo.echo"));

    counting.availability = new Availability.Unavailable("echo is down for maintenance");
    assertEquals(
        Optional.of("echo is down for maintenance"), registry.unavailableReason("echo.echo"));
    assertThrows(
        SkillUnavailableException.class,
        () -> registry.invoke("echo.echo", json("{'text': 'hi'}"), CTX));
    assertEquals(1, counting.invocations.get());
  }

  @Test
  void providerFailuresKeepTheirRetryabilityAndSurprisesAreNotRetried() {
    SkillRegistry registry = registry(SideEffectMode.LIVE);

    counting.failure = new SkillFailedException("echo.echo", "upstream 503", true);
    SkillFailedException retryable =
        assertThrows(
            SkillFailedException.class,
            () -> registry.invoke("echo.echo", json("{'text': 'hi'}"), CTX));
    assertTrue(retryable.retryable());
    assertTrue(retryable.getMessage().contains("echo.echo"), retryable.getMessage());

    counting.failure = new IllegalStateException("boom");
    SkillFailedException surprise =
        assertThrows(
            SkillFailedException.class,
            () -> registry.invoke("echo.echo", json("{'text': 'hi'}"), CTX));
    assertFalse(surprise.retryable());
    assertTrue(surprise.getMessage().contains(CTX.invocationId().toString()));
  }

  @Test
  void invalidInputNeverReachesTheProvider() {
    for (SideEffectMode mode : SideEffectMode.values()) {
      SkillRegistry registry = registry(mode);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> registry.invoke("echo.echo", json("{'text': 'far too long text'}"), CTX));
      assertTrue(e.getMessage().contains("$.text"), e.getMessage());
    }
    assertEquals(0, counting.invocations.get());
  }

  @Test
  void unknownSkills() {
    SkillRegistry registry = registry(SideEffectMode.DRY_RUN);

    assertEquals(Optional.empty(), registry.find("github.delete_everything"));
    assertEquals(
        Optional.of("unknown skill github.delete_everything"),
        registry.unavailableReason("github.delete_everything"));
    assertEquals(List.of("unknown skill nope"), registry.validateInput("nope", json("{}")));
    SkillUnavailableException e =
        assertThrows(
            SkillUnavailableException.class, () -> registry.invoke("nope", json("{}"), CTX));
    assertEquals("unknown skill nope", e.reason());
    assertEquals(Optional.empty(), registry.find(null));
    assertTrue(registry.find("github.delete_repository").orElseThrow().sideEffect());
  }

  @Test
  void specsForEnvelopes() {
    SkillRegistry registry = registry(SideEffectMode.DRY_RUN);

    List<SkillSpec> specs = registry.specs(List.of("slack.read_thread", "github.create_issue"));

    assertEquals(
        List.of("slack.read_thread", "github.create_issue"),
        specs.stream().map(SkillSpec::name).toList());
    assertFalse(specs.get(0).sideEffect());
    assertTrue(specs.get(1).sideEffect());
    assertEquals(
        registry.find("github.create_issue").orElseThrow().inputSchema(),
        specs.get(1).inputSchema());
    assertThrows(IllegalArgumentException.class, () -> registry.specs(List.of("nope.nope")));
    assertEquals(List.of(), registry.specs(List.of()));
  }

  @Test
  void registryRefusesAmbiguousOrUnsafeProviders() {
    assertThrows(
        IllegalArgumentException.class,
        () -> registry(SideEffectMode.DRY_RUN, new CountingProvider("echo")));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new SkillRegistry(
                List.of(CatalogOnlyProvider.github(false), CatalogOnlyProvider.github(true)),
                SideEffectMode.DRY_RUN));

    SkillProvider liar =
        new CountingProvider("liar") {
          @Override
          public List<SkillDefinition> skills() {
            return List.of(new CountingProvider("other").echo());
          }
        };
    IllegalArgumentException mismatch =
        assertThrows(
            IllegalArgumentException.class,
            () -> new SkillRegistry(List.of(liar), SideEffectMode.DRY_RUN));
    assertTrue(mismatch.getMessage().contains("other.echo"), mismatch.getMessage());

    SkillProvider remote =
        new CountingProvider("remote") {
          @Override
          public List<SkillDefinition> skills() {
            return List.of(
                new SkillDefinition(
                    "remote.fetch",
                    "remote",
                    "Refers to a remote schema",
                    json(
                        "{'type': 'object', 'additionalProperties': false,"
                            + " 'properties': {'x': {'$ref': 'https://example.com/x.json'}}}"),
                    false));
          }
        };
    IllegalArgumentException notSelfContained =
        assertThrows(
            IllegalArgumentException.class,
            () -> new SkillRegistry(List.of(remote), SideEffectMode.DRY_RUN));
    assertTrue(notSelfContained.getMessage().contains("self-contained"));

    SkillProvider foreignDialect =
        new CountingProvider("foreign") {
          @Override
          public List<SkillDefinition> skills() {
            return List.of(
                new SkillDefinition(
                    "foreign.fetch",
                    "foreign",
                    "Names a meta-schema the validator would have to fetch",
                    json(
                        "{'$schema': 'https://schemas.example.com/dialect', 'type': 'object',"
                            + " 'additionalProperties': false, 'properties': {}}"),
                    false));
          }
        };
    IllegalArgumentException foreign =
        assertThrows(
            IllegalArgumentException.class,
            () -> new SkillRegistry(List.of(foreignDialect), SideEffectMode.DRY_RUN));
    assertTrue(
        foreign.getMessage().contains("foreign.fetch") && foreign.getMessage().contains("$schema"),
        foreign.getMessage());
  }

  @Test
  void definitionsAreValidatedAndImmutable() {
    JsonNode open = json("{'type': 'object'}");
    assertThrows(
        IllegalArgumentException.class, () -> new SkillDefinition("x.y", "x", "d", open, false));
    JsonNode allowing = json("{'type': 'object', 'additionalProperties': true}");
    assertThrows(
        IllegalArgumentException.class,
        () -> new SkillDefinition("x.y", "x", "d", allowing, false));
    JsonNode closed = json("{'type': 'object', 'additionalProperties': false}");
    assertThrows(
        IllegalArgumentException.class, () -> new SkillDefinition("y.z", "x", "d", closed, false));
    assertThrows(
        IllegalArgumentException.class, () -> new SkillDefinition("X.y", "X", "d", closed, false));
    assertThrows(
        IllegalArgumentException.class, () -> new SkillDefinition("x.y", "x", " ", closed, false));

    SkillDefinition skill = new SkillDefinition("x.y", "x", "d", closed, false);
    ((ObjectNode) closed).put("additionalProperties", true);
    ((ObjectNode) skill.inputSchema()).put("additionalProperties", true);
    assertFalse(skill.inputSchema().get("additionalProperties").asBoolean());
  }

  @Test
  void invocationContextIsValidated() {
    UUID id = UUID.randomUUID();
    new InvocationContext(id, id, "ernest", id, null);
    assertThrows(
        IllegalArgumentException.class, () -> new InvocationContext(id, id, "ernest", id, " "));
    assertThrows(
        IllegalArgumentException.class,
        () -> new InvocationContext(id, id, "ernest", id, "k".repeat(256)));
    assertThrows(
        IllegalArgumentException.class, () -> new InvocationContext(id, id, "ernest", id, "a\nb"));
    assertThrows(NullPointerException.class, () -> new InvocationContext(null, id, "e", id, null));
  }
}
