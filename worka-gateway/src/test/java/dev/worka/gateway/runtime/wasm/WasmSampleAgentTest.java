package dev.worka.gateway.runtime.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The sample agent is committed compiled (not every build has a wasm32-wasi toolchain): its bytes
 * must be the ones its {@code .sha256} file and docs/wasm.md's example manifest pin, so a rebuilt
 * module whose digest was not updated fails here rather than as a dispatch burn for whoever copies
 * the example.
 */
class WasmSampleAgentTest {

  @Test
  void theCommittedModuleIsTheOneItsDigestAndTheDocsPin() throws Exception {
    Path module = Modules.repository().resolve(Modules.ECHO_AGENT);
    String digest = Modules.sha256(Files.readAllBytes(module));
    assertEquals(
        digest,
        Modules.echoAgentSha256(),
        module + " was rebuilt: run examples/wasm-agent/build.sh, which writes its .sha256");
    String docs = Files.readString(Modules.repository().resolve("docs/wasm.md"));
    assertTrue(
        docs.contains("module: " + Modules.ECHO_AGENT + "\n    module_sha256: \"" + digest + "\""),
        "docs/wasm.md's example manifest must pin " + digest);
  }
}
