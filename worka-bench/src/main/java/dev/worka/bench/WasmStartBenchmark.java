package dev.worka.bench;

import com.dylibso.chicory.wabt.Wat2Wasm;
import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.wasm.AgentCalls;
import dev.worka.gateway.runtime.wasm.WasmRuntime;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a {@code runtime: wasm} attempt costs the Gateway from {@code WasmRuntime.start} to the
 * result (issue 13's goal: a no-op module's instantiate → result ≤ 5 ms): the module file read and
 * its sha256 checked, the compiled module taken from the cache (compilation happens once per
 * digest, in the first iteration), a fresh instance with WASI and the {@code worka} host functions
 * on a thread of its own, {@code _start} run, and the result on stdout handed to the agent API —
 * here a stand-in that answers at once, so the database's share of a real result (measured by
 * {@code GovernedRunLoad}) is left out.
 *
 * <ul>
 *   <li>{@code noopModule}: a WAT module whose {@code _start} writes {@code {"status":
 *       "succeeded"}} to stdout.
 *   <li>{@code sampleAgent}: the sample C agent ({@code examples/wasm-agent/echo_agent.wasm}):
 *       wasi-libc's start-up, its envelope read from stdin, one {@code worka.skill} call, its
 *       result written.
 * </ul>
 *
 * <p>Run from the repository's root: {@code bin/bench WasmStartBenchmark}; a quick run: {@code
 * bin/bench WasmStartBenchmark -f 1 -wi 3 -i 5 -w 2 -r 2}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class WasmStartBenchmark {
  static final String NOOP =
      """
      (module
        (import "wasi_snapshot_preview1" "fd_write"
          (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 64) "{\\"status\\":\\"succeeded\\"}")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 64))
          (i32.store (i32.const 4) (i32.const 22))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
      """;

  static final String ENVELOPE =
      "{\"run_id\":\"r\",\"step_id\":\"s\",\"step_ref\":\"file\",\"attempt\":1,\"agent\":\"ernest\","
          + "\"role\":\"worker\",\"objective\":\"Open an issue in acme/widgets titled 'Bench'\"}";

  /** Answers every call at once, as a Gateway that had nothing to look up would. */
  static final class Instant200 implements AgentCalls {
    @Override
    public Answer context(String token) {
      return ok(ENVELOPE);
    }

    @Override
    public Answer skill(String token, String skill, byte[] body) {
      return ok("{\"invocation_id\":\"i\",\"output\":{\"number\":1},\"replayed\":false}");
    }

    @Override
    public Answer result(String token, byte[] body) {
      return ok("{\"status\":\"succeeded\",\"cleaned\":[]}");
    }

    private static Answer ok(String body) {
      return new Answer(200, body.getBytes(StandardCharsets.UTF_8));
    }
  }

  Path directory;
  WasmRuntime runtime;
  RuntimeSpec noop;
  RuntimeSpec sample;

  @Setup
  public void setUp() throws Exception {
    directory = Files.createTempDirectory("wasm-bench");
    byte[] bytes = Wat2Wasm.parse(NOOP);
    Files.write(directory.resolve("noop.wasm"), bytes);
    noop = RuntimeSpec.wasm("noop.wasm", sha256(bytes));
    Path agent = Path.of("examples/wasm-agent/echo_agent.wasm").toAbsolutePath();
    sample = RuntimeSpec.wasm(agent.toString(), sha256(Files.readAllBytes(agent)));
    runtime = new WasmRuntime(directory, InstantSource.system(), new Instant200());
  }

  @TearDown
  public void tearDown() throws Exception {
    Files.deleteIfExists(directory.resolve("noop.wasm"));
    Files.deleteIfExists(directory);
  }

  @Benchmark
  public AttemptOutcome noopModule() {
    return run(noop);
  }

  @Benchmark
  public AttemptOutcome sampleAgent() {
    return run(sample);
  }

  private AttemptOutcome run(RuntimeSpec spec) {
    AttemptOutcome outcome =
        runtime
            .start(
                new WorkerLaunch(
                    UUID.randomUUID(),
                    UUID.randomUUID(),
                    1,
                    "ernest",
                    spec,
                    Resources.DEFAULTS,
                    "http://127.0.0.1:1",
                    "bench-token",
                    null,
                    Instant.now().plus(Duration.ofSeconds(30))))
            .await();
    if (!(outcome instanceof AttemptOutcome.Exited e) || e.exitCode() != 0) {
      throw new IllegalStateException("the module did not exit 0: " + outcome);
    }
    return outcome;
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
