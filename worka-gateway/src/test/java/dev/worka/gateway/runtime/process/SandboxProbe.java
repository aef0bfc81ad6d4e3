package dev.worka.gateway.runtime.process;

import java.nio.file.Files;
import java.nio.file.Path;

/** Run by {@link BubblewrapSandboxTest} as a worker JVM inside the sandbox. */
final class SandboxProbe {
  private SandboxProbe() {}

  public static void main(String[] args) {
    System.out.println("probe ran");
    Path environ = Path.of("/proc", args[0], "environ");
    System.out.println(
        Files.isReadable(environ) ? "gateway process visible" : "gateway process invisible");
  }
}
