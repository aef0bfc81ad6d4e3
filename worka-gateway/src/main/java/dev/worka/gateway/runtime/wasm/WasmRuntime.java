package dev.worka.gateway.runtime.wasm;

import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.NotStarted;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.WorkerRuntime;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The {@code wasm} runtime (DESIGN §8): each step attempt is a WASI preview 1 module instantiated
 * in this process by Chicory, a pure-Java WebAssembly runtime (no native code, no child process).
 *
 * <p>At the start of every attempt the module's file ({@code module} in the manifest, relative to
 * the installation unless absolute) is read and its sha256 compared with the manifest's {@code
 * module_sha256}: other bytes are refused (the attempt never runs, and is not retried — the
 * operator must fix the manifest or the file). Modules are compiled to JVM bytecode once per digest
 * ({@link CompiledModules}).
 *
 * <p>What a module gets is in {@link WasmWorker} and {@link HostFunctions}; its limits: linear
 * memory of at most the agent's {@code resources.memory} (whole 64 KiB pages, at most 4 GiB), the
 * step's deadline (its thread is interrupted), and {@value #OUTPUT_CAP_BYTES} bytes on each of
 * stdout and stderr.
 */
public final class WasmRuntime implements WorkerRuntime {
  /** The largest module file read. */
  static final long MAX_MODULE_BYTES = 64L * 1024 * 1024;

  /** What a module may write to stdout (the result's limit on the agent API) and to stderr. */
  static final long OUTPUT_CAP_BYTES = 1024 * 1024;

  private static final int PAGE_BYTES = 64 * 1024;
  private static final int MAX_PAGES = 65_536;

  private final Path installDir;
  private final InstantSource clock;
  private final AgentCalls calls;
  private final CompiledModules modules = new CompiledModules();

  /**
   * A runtime whose modules' relative paths resolve against {@code installDir} and whose Gateway
   * calls go through {@code calls} (the agent API's, in this process).
   */
  public WasmRuntime(Path installDir, InstantSource clock, AgentCalls calls) {
    this.installDir = Objects.requireNonNull(installDir, "installDir");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.calls = Objects.requireNonNull(calls, "calls");
  }

  @Override
  public WorkerHandle start(WorkerLaunch launch) {
    RuntimeSpec spec = launch.runtime();
    if (spec.kind() != RuntimeKind.WASM) {
      return new NotStarted(
          "agent "
              + launch.agent()
              + " is not a wasm agent (runtime "
              + spec.kind().wireName()
              + ")");
    }
    Path path = installDir.resolve(spec.module());
    if (spec.moduleSha256() == null) {
      return refused(
          launch,
          "its policy version was stored before module_sha256 existed, so its module "
              + path
              + " is pinned to no bytes and never runs; put module_sha256 (the module's sha256) in"
              + " the agent's policy and apply it");
    }
    byte[] bytes;
    try {
      bytes = read(path);
    } catch (IOException e) {
      return refused(
          launch,
          "its module "
              + path
              + " cannot be read ("
              + e.getMessage()
              + "); install it there or fix the agent's module in the policy");
    }
    String digest = sha256(bytes);
    if (!digest.equals(spec.moduleSha256())) {
      return refused(
          launch,
          "its module "
              + path
              + " has sha256 "
              + digest
              + " but the policy pins module_sha256 "
              + spec.moduleSha256()
              + "; nothing was run. Install the module the policy pins, or, if this module is the"
              + " one you meant, put its sha256 in the policy");
    }
    CompiledModules.Compiled compiled;
    try {
      compiled = modules.get(digest, bytes);
    } catch (CompiledModules.Refused e) {
      return refused(launch, "its module " + path + " cannot run: " + e.getMessage());
    }
    return WasmWorker.start(
        compiled,
        launch.agent(),
        launch.token(),
        calls,
        pages(launch.resources().memoryBytes()),
        OUTPUT_CAP_BYTES,
        launch.deadline(),
        clock,
        "wasm-" + launch.agent() + "-" + launch.stepId() + "#" + launch.attempt());
  }

  /** Whole pages of linear memory within {@code memoryBytes}, at most wasm32's 65536 (4 GiB). */
  static int pages(long memoryBytes) {
    return (int) Math.min(MAX_PAGES, memoryBytes / PAGE_BYTES);
  }

  private static WorkerHandle refused(WorkerLaunch launch, String why) {
    return NotStarted.forGood("agent " + launch.agent() + ": " + why);
  }

  private static byte[] read(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      byte[] bytes = in.readNBytes((int) MAX_MODULE_BYTES + 1);
      if (bytes.length > MAX_MODULE_BYTES) {
        throw new IOException("it is larger than " + MAX_MODULE_BYTES + " bytes");
      }
      return bytes;
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
