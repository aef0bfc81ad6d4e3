package dev.worka.gateway.policy;

import static dev.worka.gateway.policy.PolicyCompilerTest.compiled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.Json;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CompiledPolicyJsonTest {

  private static final String RICH =
      PolicyCompilerTest.PLANNER
          + """
            off:
              role: planner
              enabled: false
              description: "an old planner, kept for reference: ünïcödé"
              runtime: process
              command: [bin/old, "--flag=a b"]
              permissions: [plan.submit, memory.search]
            kube:
              runtime: kubernetes
              image: ghcr.io/acme/agent:1.2
              runtime_class: gvisor
              permissions: [model.invoke, skill.invoke]
              skills: [github.get_issue, github.search_issues]
            tiny:
              runtime: wasm
              module: agents/tiny.wasm
              module_sha256: abababababababababababababababababababababababababababababababab
          lists:
            repos: [acme/widgets]
            empty: []
          skills:
            github.get_issue: {side_effect: false}
            slack.post_message: {side_effect: true}
          limits: {max_steps: 3, step_timeout: 1500ms, run_deadline: 1h}
          """;

  @Test
  void roundTripsThroughCanonicalJson() {
    for (CompiledPolicy policy : List.of(BuiltinPolicy.compiled(), compiled(RICH))) {
      String json = policy.toJson();
      CompiledPolicy back = CompiledPolicy.fromJson(json);
      assertEquals(policy, back);
      assertEquals(json, back.toJson(), "toJson is canonical and stable");
      assertEquals(
          List.copyOf(policy.agents().keySet()),
          List.copyOf(back.agents().keySet()),
          "agents keep their manifest order");
    }
  }

  @Test
  void theStoredShapeIsDocumented() throws Exception {
    JsonNode json = Json.STRICT.readTree(compiled(RICH).toJson());
    assertEquals(1, json.get("format").intValue());
    assertEquals("hari", json.get("agents").get(0).get("name").textValue());
    assertEquals("kubernetes", json.get("agents").get(2).get("runtime").get("kind").textValue());
    assertEquals(
        "gvisor", json.get("agents").get(2).get("runtime").get("runtime_class").textValue());
    assertEquals("PT1.5S", json.get("limits").get("step_timeout").textValue());
    assertEquals("PT1H", json.get("limits").get("run_deadline").textValue());
    assertTrue(json.get("skills").get("slack.post_message").get("side_effect").booleanValue());
  }

  @Test
  void aWasmAgentStoredBeforeModuleSha256StillLoadsPinnedToNoBytes() throws Exception {
    // RICH's wasm agent as a version stored before module_sha256 existed: it must still load (runs
    // pinned to it, GET /v1/policy), its module pinned to nothing (WasmRuntime never runs it).
    ObjectNode json = (ObjectNode) Json.STRICT.readTree(compiled(RICH).toJson());
    ObjectNode wasm = null;
    for (JsonNode agent : json.get("agents")) {
      if (agent.get("runtime").get("kind").textValue().equals("wasm")) {
        wasm = (ObjectNode) agent.get("runtime");
      }
    }
    assertTrue(wasm != null && wasm.has("module_sha256"), json.toString());
    wasm.remove("module_sha256");
    CompiledPolicy old = CompiledPolicy.fromJson(json.toString());
    RuntimeSpec runtime = old.agent("tiny").orElseThrow().runtime();
    assertEquals(RuntimeKind.WASM, runtime.kind());
    assertEquals(null, runtime.moduleSha256());
    assertEquals(json.toString(), Json.STRICT.readTree(old.toJson()).toString(), "written as read");
    assertThrows(NullPointerException.class, () -> RuntimeSpec.wasm("m.wasm", null));
  }

  @Test
  void retryBackoffIsStoredOnlyWhenNotTheDefault() throws Exception {
    JsonNode builtin = Json.STRICT.readTree(BuiltinPolicy.compiled().toJson());
    assertFalse(
        builtin.get("limits").has("retry_backoff"), "a manifest without it compiles as before");
    assertFalse(builtin.get("limits").has("retry_backoff_max"));
    CompiledPolicy stated =
        compiled(
            RICH.replace(
                "run_deadline: 1h}",
                "run_deadline: 1h, retry_backoff: 500ms, retry_backoff_max: 20s}"));
    JsonNode json = Json.STRICT.readTree(stated.toJson());
    assertEquals("PT0.5S", json.get("limits").get("retry_backoff").textValue());
    assertEquals("PT20S", json.get("limits").get("retry_backoff_max").textValue());
    assertEquals(stated, CompiledPolicy.fromJson(stated.toJson()));
    assertEquals(
        Duration.ofMillis(500), CompiledPolicy.fromJson(stated.toJson()).limits().retryBackoff());
  }

  @Test
  void readsJsonInAnyKeyOrderAndSpacingAsJsonbReturnsIt() throws Exception {
    CompiledPolicy policy = compiled(RICH);
    JsonNode tree = Json.STRICT.readTree(policy.toJson());
    String pretty = Json.STRICT.writerWithDefaultPrettyPrinter().writeValueAsString(tree);
    assertEquals(policy, CompiledPolicy.fromJson(pretty));
  }

  @Test
  void refusesWhatItDoesNotKnow() throws Exception {
    String json = BuiltinPolicy.compiled().toJson();
    ObjectNode newer = (ObjectNode) Json.STRICT.readTree(json);
    newer.put("format", 2);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> CompiledPolicy.fromJson(newer.toString()));
    assertTrue(e.getMessage().contains("format 2 is not known"), e.getMessage());

    ObjectNode extra = (ObjectNode) Json.STRICT.readTree(json);
    extra.putObject("limits").put("max_steps", 8).put("unknown", 1);
    assertThrows(IllegalArgumentException.class, () -> CompiledPolicy.fromJson(extra.toString()));

    ObjectNode noPlanner = (ObjectNode) Json.STRICT.readTree(json);
    ((ObjectNode) noPlanner.get("agents").get(0)).put("enabled", false);
    assertThrows(
        IllegalArgumentException.class, () -> CompiledPolicy.fromJson(noPlanner.toString()));

    ObjectNode widened = (ObjectNode) Json.STRICT.readTree(json);
    ((ObjectNode) widened.get("agents").get(1)).putArray("permissions").add("root");
    assertThrows(IllegalArgumentException.class, () -> CompiledPolicy.fromJson(widened.toString()));

    assertThrows(IllegalArgumentException.class, () -> CompiledPolicy.fromJson("{"));
    assertThrows(IllegalArgumentException.class, () -> CompiledPolicy.fromJson("[]"));
    assertThrows(IllegalArgumentException.class, () -> CompiledPolicy.fromJson(null));
  }

  @Test
  void recordsHoldTheirInvariants() {
    assertThrows(IllegalArgumentException.class, () -> RuntimeSpec.process(List.of()));
    assertThrows(IllegalArgumentException.class, () -> RuntimeSpec.kubernetes(" "));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new RuntimeSpec(
                RuntimeKind.WASM,
                List.of("x"),
                null,
                null,
                "m.wasm",
                "abababababababababababababababababababababababababababababababab"));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new AgentPolicy(
                "w",
                AgentRole.WORKER,
                "",
                true,
                RuntimeSpec.wasm(
                    "m", "abababababababababababababababababababababababababababababababab"),
                java.util.Set.of(),
                List.of("github.get_issue")));
    assertThrows(
        IllegalArgumentException.class,
        () -> new Limits(8, 50, 200, Duration.ofMinutes(2), 3, Duration.ofMinutes(15), 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> new Limits(8, 500, 200, Duration.ofMinutes(2), 3, Duration.ofMinutes(15), 4));
  }

  @Test
  @SuppressWarnings("CanonicalDuration") // the point: 120 seconds are written 2m
  void durationsFormatInTheOperatorsForm() {
    assertEquals("2m", DurationText.format(Duration.ofSeconds(120)));
    assertEquals("1h30m", DurationText.format(Duration.ofMinutes(90)));
    assertEquals("1d2h", DurationText.format(Duration.ofHours(26)));
    assertEquals("1500ms", DurationText.format(Duration.ofMillis(1500)));
    assertEquals("0s", DurationText.format(Duration.ZERO));
    assertTrue(DurationText.parse("1h 30m").isEmpty());
    assertTrue(DurationText.parse("-1s").isEmpty());
    assertTrue(DurationText.parse("1H").isEmpty());
    assertTrue(DurationText.parse("").isEmpty());
    assertEquals(Duration.ofMinutes(61), DurationText.parse("1h1m").orElseThrow());
  }
}
