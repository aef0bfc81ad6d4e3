package dev.worka.gateway.runtime.process;

import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.WorkerRuntime;
import dev.worka.protocol.AgentEnvironment;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each step attempt's worker as a child process of the Gateway (DESIGN §8, {@code runtime:
 * process}). See the package documentation for what the child gets and what it does not.
 */
public final class ProcessRuntime implements WorkerRuntime {
  private static final Logger log = LoggerFactory.getLogger(ProcessRuntime.class);
  private static final List<Path> SETSID_CANDIDATES =
      List.of(Path.of("/usr/bin/setsid"), Path.of("/bin/setsid"));

  private final Path installDir;
  private final InstantSource clock;
  private final Path temporaryRoot;
  private final Optional<Path> setsid;

  /**
   * @param installDir what a relative {@code command[0]} is resolved against (the Worka
   *     installation, where {@code bin/worka-agent} lives)
   * @param clock the clock deadlines are measured with
   */
  public ProcessRuntime(Path installDir, InstantSource clock) {
    this(installDir, clock, null, findSetsid());
  }

  ProcessRuntime(Path installDir, InstantSource clock, Path temporaryRoot, Optional<Path> setsid) {
    this.installDir = Objects.requireNonNull(installDir, "installDir").toAbsolutePath().normalize();
    this.clock = Objects.requireNonNull(clock, "clock");
    this.temporaryRoot = temporaryRoot;
    this.setsid = Objects.requireNonNull(setsid, "setsid");
  }

  private static Optional<Path> findSetsid() {
    return SETSID_CANDIDATES.stream().filter(Files::isExecutable).findFirst();
  }

  @Override
  public WorkerHandle start(WorkerLaunch launch) {
    Objects.requireNonNull(launch, "launch");
    Instant now = clock.instant();
    if (!launch.deadline().isAfter(now)) {
      return notStarted(
          launch, "its deadline " + launch.deadline() + " had already passed at " + now);
    }
    Path program;
    try {
      program = resolve(launch.command().get(0));
    } catch (InvalidPathException e) {
      return notStarted(launch, "command " + launch.command().get(0) + " is not a valid path");
    }
    if (!Files.exists(program)) {
      return notStarted(launch, "command " + program + " does not exist" + relativeHint(launch));
    }
    if (!Files.isRegularFile(program) || !Files.isExecutable(program)) {
      return notStarted(
          launch, "command " + program + " is not an executable file (chmod +x " + program + "?)");
    }

    WorkDirectory directory;
    Path tokenFile;
    try {
      directory = WorkDirectory.create(temporaryRoot);
    } catch (IOException | UnsupportedOperationException e) {
      return notStarted(launch, "cannot create the worker's temporary directory: " + e);
    }
    try {
      tokenFile = directory.writeToken(launch.token());
    } catch (IOException | UnsupportedOperationException e) {
      directory.delete();
      return notStarted(launch, "cannot write the worker's token file in " + directory + ": " + e);
    }

    List<String> argv = new ArrayList<>(launch.command().size() + 1);
    setsid.ifPresent(path -> argv.add(path.toString()));
    argv.add(program.toString());
    argv.addAll(launch.command().subList(1, launch.command().size()));
    ProcessBuilder builder =
        new ProcessBuilder(argv).directory(directory.path().toFile()).redirectErrorStream(true);
    Map<String, String> environment = builder.environment();
    environment.clear();
    environment.put(AgentEnvironment.GATEWAY_URL, launch.gatewayUrl());
    environment.put(AgentEnvironment.TOKEN_FILE, tokenFile.toString());
    environment.put(AgentEnvironment.RUN_ID, launch.runId().toString());
    environment.put(AgentEnvironment.STEP_ID, launch.stepId().toString());
    environment.put(AgentEnvironment.AGENT, launch.agent());
    if (launch.traceparent() != null) {
      environment.put(AgentEnvironment.TRACEPARENT, launch.traceparent());
    }
    builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));

    Process process;
    try {
      process = builder.start();
    } catch (IOException | RuntimeException e) {
      directory.delete();
      return notStarted(launch, "cannot start " + program + ": " + e.getMessage());
    }
    log.info(
        "started worker pid {} for run {} step {} attempt {} (agent {}, deadline {}): {}",
        process.pid(),
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        launch.agent(),
        launch.deadline(),
        launch.command());
    return new ProcessWorker(launch, process, setsid.isPresent(), directory, clock, now);
  }

  private Path resolve(String command) {
    Path path = Path.of(command);
    return (path.isAbsolute() ? path : installDir.resolve(path)).normalize();
  }

  private String relativeHint(WorkerLaunch launch) {
    return Path.of(launch.command().get(0)).isAbsolute()
        ? ""
        : " (relative commands are resolved against the installation directory " + installDir + ")";
  }

  private static WorkerHandle notStarted(WorkerLaunch launch, String reason) {
    log.warn(
        "worker for run {} step {} attempt {} (agent {}) not started: {}",
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        launch.agent(),
        reason);
    return new NotStarted(reason);
  }

  @Override
  public String toString() {
    return "ProcessRuntime[installDir="
        + installDir
        + ", session="
        + setsid.map(Path::toString).orElse("shared (no setsid)")
        + "]";
  }
}
