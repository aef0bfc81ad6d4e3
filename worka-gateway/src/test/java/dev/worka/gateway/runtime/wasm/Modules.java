package dev.worka.gateway.runtime.wasm;

import com.dylibso.chicory.wabt.Wat2Wasm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Modules for the wasm runtime's tests: the sample agent the repository ships ({@code
 * examples/wasm-agent/echo_agent.wasm}, compiled from C) and hostile ones written in WAT here.
 */
public final class Modules {
  private Modules() {}

  /** The repository's root (tests run in worka-gateway). */
  public static Path repository() {
    return Path.of("..").toAbsolutePath().normalize();
  }

  /** The sample agent, relative to the repository (the installation in tests). */
  public static final String ECHO_AGENT = "examples/wasm-agent/echo_agent.wasm";

  /** The sample agent's sha256, as its {@code .sha256} file states it. */
  public static String echoAgentSha256() throws IOException {
    return Files.readString(repository().resolve(ECHO_AGENT + ".sha256")).strip();
  }

  public static byte[] wasm(String wat) {
    return Wat2Wasm.parse(wat);
  }

  public static String sha256(byte[] bytes) {
    return WasmRuntime.sha256(bytes);
  }

  public static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  /** A WASI command whose {@code _start} is {@code body} (WAT instructions), with 1 page. */
  public static String command(String imports, String body) {
    return """
        (module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          %s
          (memory (export "memory") 1)
          (func (export "_start") %s))
        """
        .formatted(imports, body);
  }

  /** Spins until interrupted. */
  public static final String LOOP = command("", "(loop $forever (br $forever))");

  /** Grows its memory one page at a time, for ever (its own declaration allows 4 GiB). */
  public static final String MEMORY_HOG =
      """
      (module
        (memory (export "memory") 1)
        (func (export "_start")
          (loop $more (drop (memory.grow (i32.const 1))) (br $more))))
      """;

  /** Writes the 64 KiB of its memory to stdout, for ever. */
  public static final String OUTPUT_FLOOD =
      command(
          "",
          """
          (i32.store (i32.const 0) (i32.const 0))
          (i32.store (i32.const 4) (i32.const 65536))
          (loop $more
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (br $more))
          """);

  /** Exits with status {@code code} without a word. */
  public static String exits(int code) {
    return command("", "(call $exit (i32.const %d))".formatted(code));
  }

  /**
   * Calls {@code worka.skill} with {@code skill} and {@code body}, then writes {@code result} to
   * stdout (as its result) and exits 0.
   */
  public static String callsSkillThenWrites(String skill, String body, String result) {
    int bodyAt = 1024;
    int resultAt = bodyAt + body.length() + 16;
    return """
        (module
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "worka" "skill" (func $skill (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 64) "%s")
          (data (i32.const %d) "%s")
          (data (i32.const %d) "%s")
          (func (export "_start")
            (drop (call $skill (i32.const 64) (i32.const %d) (i32.const %d) (i32.const %d)))
            (i32.store (i32.const 0) (i32.const %d))
            (i32.store (i32.const 4) (i32.const %d))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
        """
        .formatted(
            escape(skill),
            bodyAt,
            escape(body),
            resultAt,
            escape(result),
            skill.length(),
            bodyAt,
            body.length(),
            resultAt,
            result.length());
  }

  /**
   * Fails (exit 1) on attempt 1 and writes {@code result} on any later one: it reads its envelope
   * from stdin and looks for {@code "attempt":1,}.
   */
  public static String failsOnFirstAttempt(String result) {
    String needle = "\"attempt\":1,";
    return """
        (module
          (import "wasi_snapshot_preview1" "fd_read"
            (func $fd_read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 2)
          (data (i32.const 64) "%s")
          (data (i32.const 256) "%s")
          (func $read (result i32) (local $n i32) (local $total i32)
            ;; stdin into 65536.., 4096 bytes at a time, until EOF
            (loop $more
              (i32.store (i32.const 16) (i32.add (i32.const 65536) (local.get $total)))
              (i32.store (i32.const 20) (i32.const 4096))
              (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
              (local.set $n (i32.load (i32.const 24)))
              (local.set $total (i32.add (local.get $total) (local.get $n)))
              (br_if $more (i32.and (i32.gt_s (local.get $n) (i32.const 0))
                                    (i32.lt_u (local.get $total) (i32.const 61440)))))
            (local.get $total))
          (func $found (param $len i32) (result i32) (local $i i32) (local $j i32)
            (block $no
              (loop $at
                (br_if $no (i32.gt_u (i32.add (local.get $i) (i32.const %d)) (local.get $len)))
                (local.set $j (i32.const 0))
                (block $mismatch
                  (loop $cmp
                    (br_if $mismatch
                      (i32.ne
                        (i32.load8_u (i32.add (i32.const 65536) (i32.add (local.get $i) (local.get $j))))
                        (i32.load8_u (i32.add (i32.const 64) (local.get $j)))))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br_if $cmp (i32.lt_u (local.get $j) (i32.const %d)))
                    (return (i32.const 1))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $at)))
            (i32.const 0))
          (func (export "_start")
            (if (call $found (call $read)) (then (call $exit (i32.const 1))))
            (i32.store (i32.const 0) (i32.const 256))
            (i32.store (i32.const 4) (i32.const %d))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
        """
        .formatted(
            escape(needle), escape(result), needle.length(), needle.length(), result.length());
  }

  /** {@code text} as a WAT string's content (ASCII only). */
  static String escape(String text) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\\' || c < 0x20 || c > 0x7e) {
        out.append('\\').append(String.format("%02x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
