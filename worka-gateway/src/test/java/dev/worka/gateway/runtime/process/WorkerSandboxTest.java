package dev.worka.gateway.runtime.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WorkerSandboxTest {
  @Test
  void unsetIsEmptyOnlyRequiredAndOffAreAcceptedAndAnythingElseIsRefusedByName() {
    assertEquals(Optional.empty(), WorkerSandbox.fromEnvironment(Map.of()));
    assertEquals(Optional.empty(), WorkerSandbox.fromEnvironment(Map.of("WORKA_SANDBOX", " ")));
    assertEquals(
        Optional.of(WorkerSandbox.REQUIRED),
        WorkerSandbox.fromEnvironment(Map.of("WORKA_SANDBOX", " Required ")));
    assertEquals(
        Optional.of(WorkerSandbox.OFF),
        WorkerSandbox.fromEnvironment(Map.of("WORKA_SANDBOX", "off")));
    for (String bad : List.of("auto", "optional", "false", "0", "none")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> WorkerSandbox.fromEnvironment(Map.of("WORKA_SANDBOX", bad)));
      assertTrue(e.getMessage().startsWith("WORKA_SANDBOX=" + bad + " "), e.getMessage());
    }
  }

  @Test
  void whoMustBeSandboxed() {
    List<List<String>> builtIn = List.of(List.of("bin/worka-agent", "hari"));
    SandboxRequirement dryRun = SandboxRequirement.of(Optional.empty(), false, builtIn);
    assertEquals(Optional.empty(), dryRun.whyRequired(true));
    assertTrue(dryRun.whyRequired(false).isPresent());
    SandboxRequirement live = SandboxRequirement.of(Optional.empty(), true, builtIn);
    assertTrue(live.whyRequired(true).isPresent());
    SandboxRequirement required =
        SandboxRequirement.of(Optional.of(WorkerSandbox.REQUIRED), false, builtIn);
    assertTrue(required.whyRequired(true).isPresent());
    SandboxRequirement off = SandboxRequirement.of(Optional.of(WorkerSandbox.OFF), true, builtIn);
    assertEquals(Optional.empty(), off.whyRequired(false));
    assertTrue(off.off());
  }
}
