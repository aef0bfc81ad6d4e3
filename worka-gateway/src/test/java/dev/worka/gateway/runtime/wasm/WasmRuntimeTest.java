package dev.worka.gateway.runtime.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The wasm runtime on its own, its Gateway calls answered by a stand-in that records them: the
 * sample C agent's contract (envelope on stdin, one skill call through {@code worka.skill}, result
 * on stdout), and each limit with a hostile WAT module. The same paths through a real Gateway are
 * {@code WasmAgentTest}'s.
 */
class WasmRuntimeTest {
  private static final String TOKEN = "step-token-of-this-attempt";
  private static final int MEMORY_PAGES_16MI = 256;

  @TempDir Path install;

  /** Answers the calls as the agent API would for a step that may call any skill. */
  static final class Recorded implements AgentCalls {
    final List<String> calls = new CopyOnWriteArrayList<>();
    String envelope =
        """
        {"run_id":"r","step_id":"s","step_ref":"file","attempt":1,"agent":"wasmy","role":"worker",\
        "objective":"Open an issue in acme/widgets titled 'Hello from \\"C\\"'"}""";

    @Override
    public Answer context(String token) {
      calls.add("context " + token);
      return ok(envelope);
    }

    @Override
    public Answer skill(String token, String skill, byte[] body) {
      calls.add("skill " + token + " " + skill + " " + new String(body, StandardCharsets.UTF_8));
      return ok("{\"invocation_id\":\"i-1\",\"output\":{\"number\":7},\"replayed\":false}");
    }

    @Override
    public Answer result(String token, byte[] body) {
      calls.add("result " + token + " " + new String(body, StandardCharsets.UTF_8).strip());
      return ok("{\"status\":\"succeeded\",\"cleaned\":[]}");
    }

    private static Answer ok(String body) {
      return new Answer(200, body.getBytes(StandardCharsets.UTF_8));
    }
  }

  private WorkerHandle start(Recorded calls, String module, String sha256, Duration deadline) {
    return new WasmRuntime(install, InstantSource.system(), calls)
        .start(launch(module, sha256, deadline));
  }

  private static WorkerLaunch launch(String module, String sha256, Duration deadline) {
    return new WorkerLaunch(
        UUID.randomUUID(),
        UUID.randomUUID(),
        1,
        "wasmy",
        RuntimeSpec.wasm(module, sha256),
        new Resources(16L * 1024 * 1024, 1000, 128, 256L * 1024 * 1024, 256),
        "http://127.0.0.1:1",
        TOKEN,
        null,
        Instant.now().plus(deadline));
  }

  private String install(String name, byte[] bytes) throws Exception {
    Files.write(install.resolve(name), bytes);
    return name;
  }

  private WorkerHandle startWat(Recorded calls, String wat, Duration deadline) throws Exception {
    byte[] bytes = Modules.wasm(wat);
    return start(calls, install("m.wasm", bytes), Modules.sha256(bytes), deadline);
  }

  @Test
  void theSampleAgentReadsItsEnvelopeCallsOneSkillAndWritesItsResult() throws Exception {
    Recorded calls = new Recorded();
    WorkerHandle worker =
        start(
            calls,
            Modules.repository().resolve(Modules.ECHO_AGENT).toString(),
            Modules.echoAgentSha256(),
            Duration.ofSeconds(30));

    AttemptOutcome outcome = worker.await();

    assertEquals(
        0, assertInstanceOf(AttemptOutcome.Exited.class, outcome).exitCode(), "" + outcome);
    assertEquals(3, calls.calls.size(), calls.calls::toString);
    assertEquals("context " + TOKEN, calls.calls.get(0));
    assertEquals(
        "skill "
            + TOKEN
            + " github.create_issue {\"input\":{\"owner\":\"acme\",\"repo\":\"widgets\","
            + "\"title\":\"Hello from \\\"C\\\"\"}}",
        calls.calls.get(1));
    String result = calls.calls.get(2);
    assertTrue(result.startsWith("result " + TOKEN + " "), result);
    JsonNode posted = Json.STRICT.readTree(result.substring(("result " + TOKEN + " ").length()));
    assertEquals("succeeded", posted.path("status").asText());
    assertEquals(7, posted.path("output").path("output").path("number").asInt());
  }

  @Test
  void aModuleThatLoopsForeverIsInterruptedAtItsDeadline() throws Exception {
    Recorded calls = new Recorded();
    AttemptOutcome outcome = startWat(calls, Modules.LOOP, Duration.ofMillis(300)).await();
    assertInstanceOf(AttemptOutcome.TimedOut.class, outcome, outcome::toString);
    assertEquals(List.of(), calls.calls);
  }

  @Test
  void aStoppedModuleEndsStopped() throws Exception {
    WorkerHandle worker = startWat(new Recorded(), Modules.LOOP, Duration.ofSeconds(60));
    worker.stop("step cancelled");
    AttemptOutcome outcome = worker.await();
    assertEquals(
        "step cancelled",
        assertInstanceOf(AttemptOutcome.Stopped.class, outcome, outcome::toString).reason());
  }

  @Test
  void aModuleThatGrowsPastItsMemoryLimitIsStopped() throws Exception {
    AttemptOutcome outcome =
        startWat(new Recorded(), Modules.MEMORY_HOG, Duration.ofSeconds(30)).await();
    AttemptOutcome.LimitReached limit =
        assertInstanceOf(AttemptOutcome.LimitReached.class, outcome, outcome::toString);
    assertEquals("memory", limit.limit());
    assertTrue(
        limit.detail().contains("past its limit of " + MEMORY_PAGES_16MI + " pages (16384 KiB)"),
        limit.detail());
  }

  @Test
  void aModuleThatDeclaresMoreMemoryThanItsLimitNeverRuns() throws Exception {
    AttemptOutcome outcome =
        startWat(
                new Recorded(),
                "(module (memory (export \"memory\") 257) (func (export \"_start\")))",
                Duration.ofSeconds(30))
            .await();
    AttemptOutcome.LimitReached limit =
        assertInstanceOf(AttemptOutcome.LimitReached.class, outcome, outcome::toString);
    assertEquals("memory", limit.limit());
    assertTrue(limit.detail().contains("declares 257 pages"), limit.detail());
  }

  @Test
  void aModuleThatFloodsItsOutputIsStopped() throws Exception {
    AttemptOutcome outcome =
        startWat(new Recorded(), Modules.OUTPUT_FLOOD, Duration.ofSeconds(30)).await();
    AttemptOutcome.LimitReached limit =
        assertInstanceOf(AttemptOutcome.LimitReached.class, outcome, outcome::toString);
    assertEquals("output", limit.limit());
    assertTrue(limit.detail().contains("to stdout"), limit.detail());
  }

  @Test
  void aModuleWhoseBytesAreNotThePinnedOnesIsRefusedForGood() throws Exception {
    Recorded calls = new Recorded();
    byte[] bytes = Modules.wasm(Modules.exits(0));
    String pinned = "0".repeat(64);
    AttemptOutcome outcome =
        start(calls, install("m.wasm", bytes), pinned, Duration.ofSeconds(30)).await();
    AttemptOutcome.FailedToStart refused =
        assertInstanceOf(AttemptOutcome.FailedToStart.class, outcome, outcome::toString);
    assertFalse(refused.retryable());
    assertTrue(refused.reason().contains("has sha256 " + Modules.sha256(bytes)), refused.reason());
    assertTrue(refused.reason().contains("pins module_sha256 " + pinned), refused.reason());
    assertEquals(List.of(), calls.calls);
  }

  @Test
  void aModuleOfAVersionStoredBeforeModuleSha256NeverRuns() throws Exception {
    Recorded calls = new Recorded();
    String module = install("m.wasm", Modules.wasm(Modules.exits(0)));
    WorkerLaunch unpinned =
        new WorkerLaunch(
            UUID.randomUUID(),
            UUID.randomUUID(),
            1,
            "wasmy",
            new RuntimeSpec(RuntimeKind.WASM, List.of(), null, null, module, null),
            Resources.DEFAULTS,
            "http://127.0.0.1:1",
            TOKEN,
            null,
            Instant.now().plusSeconds(30));
    AttemptOutcome outcome =
        new WasmRuntime(install, InstantSource.system(), calls).start(unpinned).await();
    AttemptOutcome.FailedToStart refused =
        assertInstanceOf(AttemptOutcome.FailedToStart.class, outcome, outcome::toString);
    assertFalse(refused.retryable());
    assertTrue(refused.reason().contains("put module_sha256"), refused.reason());
    assertEquals(List.of(), calls.calls);
  }

  @Test
  void aModuleThatImportsWhatTheGatewayDoesNotProvideIsRefused() throws Exception {
    AttemptOutcome outcome =
        startWat(
                new Recorded(),
                "(module (import \"env\" \"socket\" (func)) (func (export \"_start\")))",
                Duration.ofSeconds(30))
            .await();
    AttemptOutcome.FailedToStart refused =
        assertInstanceOf(AttemptOutcome.FailedToStart.class, outcome, outcome::toString);
    assertFalse(refused.retryable());
    assertTrue(refused.reason().contains("env.socket (function)"), refused.reason());
  }

  @Test
  void aModuleSeesNoDirectoryNoEnvironmentAndAStoppedClock() throws Exception {
    // fd 3 would be the first preopened directory: there is none (8 = EBADF). The environment is
    // empty, the clock reads the epoch; the exit status says which check failed.
    String wat =
        Modules.command(
            """
            (import "wasi_snapshot_preview1" "fd_prestat_get"
              (func $prestat (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "environ_sizes_get"
              (func $env (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "clock_time_get"
              (func $clock (param i32 i64 i32) (result i32)))
            """,
            """
            (if (i32.ne (call $prestat (i32.const 3) (i32.const 100)) (i32.const 8))
              (then (call $exit (i32.const 11))))
            (drop (call $env (i32.const 100) (i32.const 104)))
            (if (i32.ne (i32.load (i32.const 100)) (i32.const 0))
              (then (call $exit (i32.const 12))))
            (i64.store (i32.const 200) (i64.const -1))
            (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 200)))
            (if (i64.ne (i64.load (i32.const 200)) (i64.const 0))
              (then (call $exit (i32.const 13))))
            (call $exit (i32.const 42))
            """);
    AttemptOutcome outcome = startWat(new Recorded(), wat, Duration.ofSeconds(30)).await();
    assertEquals(
        42, assertInstanceOf(AttemptOutcome.Exited.class, outcome, outcome::toString).exitCode());
  }

  @Test
  void aTrapIsAnAbortWithTheTrapInTheLastLines() throws Exception {
    AttemptOutcome outcome =
        startWat(
                new Recorded(),
                "(module (func (export \"_start\") unreachable))",
                Duration.ofSeconds(30))
            .await();
    AttemptOutcome.Exited exited =
        assertInstanceOf(AttemptOutcome.Exited.class, outcome, outcome::toString);
    assertEquals(WasmWorker.TRAP_STATUS, exited.exitCode());
    assertTrue(exited.lastLines().stream().anyMatch(l -> l.startsWith("trap: ")), exited::toString);
  }

  @Test
  void aHostCallWithAPointerOutsideItsMemoryTrapsTheModuleAndCallsNothing() throws Exception {
    Recorded calls = new Recorded();
    AttemptOutcome outcome =
        startWat(
                calls,
                """
                (module
                  (import "worka" "skill" (func $skill (param i32 i32 i32 i32) (result i32)))
                  (memory (export "memory") 1)
                  (func (export "_start")
                    (drop (call $skill (i32.const 65530) (i32.const 100) (i32.const 0)
                                       (i32.const 2)))))
                """,
                Duration.ofSeconds(30))
            .await();
    assertEquals(
        WasmWorker.TRAP_STATUS,
        assertInstanceOf(AttemptOutcome.Exited.class, outcome, outcome::toString).exitCode());
    assertEquals(List.of(), calls.calls);
  }

  @Test
  void stdoutIsTheResultOnlyWhenTheModuleExitsZero() throws Exception {
    Recorded calls = new Recorded();
    String wat =
        Modules.command(
                "",
                """
            (i32.store (i32.const 100) (i32.const 200))
            (i32.store (i32.const 104) (i32.const 22))
            (drop (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 108)))
            (call $exit (i32.const 3))
            """)
            .replace(
                "(memory (export \"memory\") 1)",
                "(memory (export \"memory\") 1) (data (i32.const 200) \"{\\22status\\22:\\22succeeded\\22}\")");
    AttemptOutcome outcome = startWat(calls, wat, Duration.ofSeconds(30)).await();
    AttemptOutcome.Exited exited =
        assertInstanceOf(AttemptOutcome.Exited.class, outcome, outcome::toString);
    assertEquals(3, exited.exitCode());
    assertEquals(List.of("{\"status\":\"succeeded\"}"), exited.lastLines());
    assertEquals(List.of(), calls.calls, "nothing posted for a module that exited 3");
  }

  @Test
  void contextAnswerAndResultAreHostFunctionsToo() throws Exception {
    // context → 200 with the envelope as the answer; answer(0, 0) its length, answer(ptr, cap) its
    // bytes; result → 200, after which what the module writes to stdout is not posted again. The
    // exit status sums the checks that held (15: all four).
    Recorded calls = new Recorded();
    int envelopeLength = calls.envelope.getBytes(StandardCharsets.UTF_8).length;
    String wat =
        Modules.command(
                """
                (import "worka" "context" (func $context (result i32)))
                (import "worka" "answer" (func $answer (param i32 i32) (result i32)))
                (import "worka" "result" (func $result (param i32 i32) (result i32)))
                """,
                """
                (local $context i32) (local $length i32) (local $posted i32)
                (local.set $context (call $context))
                (local.set $length (call $answer (i32.const 0) (i32.const 0)))
                (drop (call $answer (i32.const 1024) (i32.const 4096)))
                (local.set $posted (call $result (i32.const 200) (i32.const 22)))
                (i32.store (i32.const 100) (i32.const 300))
                (i32.store (i32.const 104) (i32.const 8))
                (drop (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 108)))
                (call $exit
                  (i32.add
                    (i32.add (i32.eq (local.get $posted) (i32.const 200))
                             (i32.mul (i32.const 2) (i32.eq (local.get $context) (i32.const 200))))
                    (i32.add
                      (i32.mul (i32.const 4) (i32.eq (local.get $length) (i32.const %d)))
                      (i32.mul (i32.const 8)
                               (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 123))))))
                """
                    .formatted(envelopeLength))
            .replace(
                "(memory (export \"memory\") 1)",
                "(memory (export \"memory\") 1)"
                    + " (data (i32.const 200) \"{\\22status\\22:\\22succeeded\\22}\")"
                    + " (data (i32.const 300) \"ignored\\0a\")");
    AttemptOutcome outcome = startWat(calls, wat, Duration.ofSeconds(30)).await();
    assertEquals(
        15, assertInstanceOf(AttemptOutcome.Exited.class, outcome, outcome::toString).exitCode());
    assertEquals(
        List.of("context " + TOKEN, "result " + TOKEN + " {\"status\":\"succeeded\"}"),
        calls.calls);
  }

  @Test
  void theTokenIsNeverShownInTheLastLines() throws Exception {
    // A module cannot learn its token; were it to print it anyway, diagnostics would not keep it.
    ModuleOutput output = new ModuleOutput(TOKEN, 1024);
    output.err.write(("leaked " + TOKEN + "\n").getBytes(StandardCharsets.UTF_8));
    assertEquals(List.of("leaked <token>"), output.lastLines());
  }
}
