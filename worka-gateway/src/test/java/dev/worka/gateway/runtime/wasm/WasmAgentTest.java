package dev.worka.gateway.runtime.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.store.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code runtime: wasm} through a real Gateway: Ernest (the "file" step of "open an issue in
 * acme/widgets titled …", which accepts github.create_issue) is a WASI module, the planner the real
 * Hari. Each test puts a policy version whose Ernest runs its module ({@code PUT /v1/policy}; the
 * modules live under {@code WORKA_ALLOWED_LAUNCH}) and follows a run to its end: the sample C agent
 * files the issue; a module that spins is burned {@code timeout}, one that grows past its memory
 * {@code resource}; one that calls a skill off its allowlist meets the deny gate an HTTP agent
 * meets; one that fails its first attempt succeeds on its second; a module whose bytes are not the
 * pinned ones never runs.
 */
class WasmAgentTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir static Path home;
  static Path modules;
  static TestGateway gw;

  @BeforeAll
  static void start() throws Exception {
    modules = Files.createDirectories(home.resolve("modules"));
    gw =
        TestGateway.startWithEnvironment(
            home.resolve("gateway"),
            db.url(),
            TestGateway.builtinPolicyForTests(),
            "dry-run",
            Map.of(
                "WORKA_ALLOWED_LAUNCH",
                modules + "," + Modules.repository().resolve(Modules.ECHO_AGENT).getParent()));
  }

  @AfterAll
  static void stop() {
    if (gw != null) {
      gw.close();
    }
  }

  /** Makes {@code module} (pinned to {@code sha256}) Ernest's in a new active policy version. */
  static void ernestRuns(String module, String sha256, String resources, String stepTimeout) {
    ernestRuns(module, sha256, resources, stepTimeout, null);
  }

  static void ernestRuns(
      String module, String sha256, String resources, String stepTimeout, String maxAttempts) {
    String policy = TestGateway.builtinPolicyForTests();
    Matcher ernest =
        Pattern.compile(
                "(?m)^(  ernest:\\n(?:    .*\\n)*?)    runtime: process\\n    command: .*\\n")
            .matcher(policy);
    assertTrue(ernest.find(), policy);
    policy =
        ernest.replaceFirst(
            Matcher.quoteReplacement(
                ernest.group(1)
                    + "    runtime: wasm\n    module: "
                    + module
                    + "\n    module_sha256: \""
                    + sha256
                    + "\"\n"
                    + (resources == null ? "" : "    resources: " + resources + "\n")));
    if (stepTimeout != null) {
      policy = TestGateway.withLimit(policy, "step_timeout", stepTimeout);
    }
    if (maxAttempts != null) {
      policy = TestGateway.withLimit(policy, "max_attempts", maxAttempts);
    }
    TestGateway.Answer applied = gw.operator("PUT", "/v1/policy", policy);
    assertTrue(applied.status() == 201 || applied.status() == 200, applied.raw().body());
  }

  /** Installs {@code wat}, compiled, under the allowed directory as {@code name}; its sha256. */
  static String install(String name, String wat) throws Exception {
    byte[] bytes = Modules.wasm(wat);
    Files.write(modules.resolve(name), bytes);
    return Modules.sha256(bytes);
  }

  static JsonNode fileAnIssue(String title) {
    return gw.finish(gw.submit("open an issue in acme/widgets titled '" + title + "'"));
  }

  static JsonNode step(JsonNode run, String ref) {
    for (JsonNode s : run.path("steps")) {
      if (s.path("step_ref").asText().equals(ref)) {
        return s;
      }
    }
    throw new AssertionError("no step " + ref + " in " + run.toPrettyString());
  }

  static List<JsonNode> burns(JsonNode run) {
    List<JsonNode> burns = new ArrayList<>();
    run.path("burns").forEach(burns::add);
    return burns;
  }

  @Test
  void theSampleCAgentFilesTheIssueThroughTheGateway() throws Exception {
    ernestRuns(
        Modules.repository().resolve(Modules.ECHO_AGENT).toString(),
        Modules.echoAgentSha256(),
        null,
        null);
    JsonNode run = fileAnIssue("Filed from WebAssembly");

    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    JsonNode file = step(run, "file");
    assertEquals("succeeded", file.path("status").asText(), file.toPrettyString());
    assertEquals(1, file.path("attempt").asInt());
    JsonNode output = file.path("output");
    assertTrue(output.has("invocation_id"), output.toPrettyString());
    assertEquals(
        "Filed the issue through the Gateway from a WASI module.", file.path("summary").asText());
    // The skill call is the one an HTTP agent's would be: an allow gate, an invocation, dry-run.
    boolean allowed = false;
    for (JsonNode gate : run.path("gates")) {
      if (gate.path("skill").asText().equals("github.create_issue")
          && gate.path("status").asText().equals("allow")
          && gate.path("step_id").asText().equals(file.path("step_id").asText())) {
        allowed = true;
      }
    }
    assertTrue(allowed, run.path("gates").toPrettyString());
    assertEquals(List.of(), burns(run));
  }

  @Test
  void aModuleThatSpinsIsBurnedAtItsDeadline() throws Exception {
    // One attempt: a timeout is retried like any crash, and each would spin to its deadline.
    ernestRuns(
        modules.resolve("loop.wasm").toString(),
        install("loop.wasm", Modules.LOOP),
        null,
        "8s",
        "1");
    JsonNode run = fileAnIssue("never filed");

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    JsonNode file = step(run, "file");
    assertEquals("timed_out", file.path("status").asText(), file.toPrettyString());
    List<JsonNode> timeouts =
        burns(run).stream().filter(b -> b.path("kind").asText().equals("timeout")).toList();
    assertEquals(1, timeouts.size(), run.path("burns").toPrettyString());
    assertEquals(file.path("step_id").asText(), timeouts.get(0).path("step_id").asText());
  }

  @Test
  void aModuleThatGrowsPastItsMemoryIsAResourceBurn() throws Exception {
    ernestRuns(
        modules.resolve("hog.wasm").toString(),
        install("hog.wasm", Modules.MEMORY_HOG),
        "{memory: 16Mi}",
        null);
    JsonNode run = fileAnIssue("never filed either");

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    JsonNode burn = burns(run).get(0);
    assertEquals("resource", burn.path("kind").asText(), burn.toPrettyString());
    assertEquals("memory", burn.path("diagnostics").path("limit").asText());
    assertTrue(
        burn.path("reason").asText().startsWith("agent ernest reached its memory limit: "),
        burn.toPrettyString());
    assertTrue(
        burn.path("diagnostics").path("detail").asText().contains("past its limit of 256 pages"),
        burn.toPrettyString());
  }

  @Test
  void aSkillOffTheAllowlistMeetsTheDenyGateOfAnHttpAgent() throws Exception {
    String body = "{\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\"}}";
    ernestRuns(
        modules.resolve("deleter.wasm").toString(),
        install(
            "deleter.wasm",
            Modules.callsSkillThenWrites(
                "github.delete_repository",
                body,
                "{\"status\":\"succeeded\",\"output\":{\"tried\":true}}")),
        null,
        null);
    JsonNode run = fileAnIssue("deleted instead");

    JsonNode file = step(run, "file");
    List<JsonNode> denied = new ArrayList<>();
    for (JsonNode gate : run.path("gates")) {
      if (gate.path("status").asText().equals("deny")) {
        denied.add(gate);
      }
    }
    assertEquals(1, denied.size(), run.path("gates").toPrettyString());
    JsonNode gate = denied.get(0);
    assertEquals("skill.invoke", gate.path("action").asText());
    assertEquals("github.delete_repository", gate.path("skill").asText());
    assertEquals("ernest", gate.path("subject").asText());
    assertEquals(file.path("step_id").asText(), gate.path("step_id").asText());
  }

  @Test
  void aFailedFirstAttemptIsRetriedAndTheSecondSucceeds() throws Exception {
    ernestRuns(
        modules.resolve("flaky.wasm").toString(),
        install(
            "flaky.wasm",
            Modules.failsOnFirstAttempt(
                "{\"status\":\"succeeded\",\"output\":{\"attempt\":\"not the first\"}}")),
        null,
        null);
    JsonNode run = fileAnIssue("second time lucky");

    assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
    JsonNode file = step(run, "file");
    assertEquals(2, file.path("attempt").asInt(), file.toPrettyString());
    assertEquals("not the first", file.path("output").path("attempt").asText());
    List<JsonNode> burns = burns(run);
    assertEquals(1, burns.size(), run.path("burns").toPrettyString());
    assertEquals("crash", burns.get(0).path("kind").asText());
    assertEquals(1, burns.get(0).path("diagnostics").path("exit_code").asInt());
  }

  @Test
  void aModuleWhoseBytesAreNotThePinnedOnesNeverRunsAndIsNotRetried() throws Exception {
    String actual = install("swapped.wasm", Modules.exits(0));
    String pinned = "0".repeat(64);
    ernestRuns(modules.resolve("swapped.wasm").toString(), pinned, null, null);
    JsonNode run = fileAnIssue("from swapped bytes");

    assertEquals("failed", run.path("status").asText(), run.toPrettyString());
    JsonNode file = step(run, "file");
    assertEquals(1, file.path("attempt").asInt(), "not retried: " + file.toPrettyString());
    List<JsonNode> burns = burns(run);
    assertEquals(1, burns.size(), run.path("burns").toPrettyString());
    JsonNode burn = burns.get(0);
    assertEquals("dispatch", burn.path("kind").asText());
    String reason = burn.path("reason").asText();
    assertTrue(reason.contains("has sha256 " + actual), reason);
    assertTrue(reason.contains("pins module_sha256 " + pinned), reason);
  }
}
