package dev.worka.gateway;

import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.config.GatewaySettings;
import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.runtime.process.ProcessRuntime;
import dev.worka.gateway.runtime.process.SandboxRequirement;
import dev.worka.gateway.skill.SideEffectMode;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime of {@code process} agents on this host: {@code WORKA_HOME} (keys, operator token,
 * database) and the policy file hidden from workers, their network ({@code WORKA_WORKER_NETWORK}).
 * Creating it detects bubblewrap once, and whether it can give a worker a network of its own, and
 * logs {@code worker isolation: …} (with its seccomp filter, or why there is none); which workers
 * must be sandboxed ({@code WORKA_SANDBOX}, {@link SandboxRequirement}: a worker that must be and
 * cannot be is never started); what enforces each resource limit of a worker here, logged as {@code
 * worker limits: memory=cgroup v2, …} (or v1, or an rlimit, per limit); then it kills the workers a
 * Gateway that stopped left running (their processes, and their cgroups).
 */
final class ProcessRuntimeAtStart {
  private static final Logger log = LoggerFactory.getLogger(ProcessRuntimeAtStart.class);

  private ProcessRuntimeAtStart() {}

  /**
   * The runtime, handed to {@code closeWithGateway} as soon as it exists.
   *
   * @param bubblewrapAt where to look for {@code bwrap}; empty: the PATH and the well-known places
   *     (tests pass places without one)
   */
  static ProcessRuntime create(
      GatewaySettings settings,
      InstantSource clock,
      Consumer<AutoCloseable> closeWithGateway,
      Optional<List<Path>> bubblewrapAt) {
    Path home = settings.config().home();
    // Workers never see WORKA_HOME (keys, operator token, database) nor the policy file.
    List<Path> hiddenFromWorkers = new ArrayList<>(List.of(home));
    settings.config().policyFile().ifPresent(hiddenFromWorkers::add);
    ProcessRuntime processRuntime;
    try {
      processRuntime =
          new ProcessRuntime(
              settings.config().installDir(),
              clock,
              hiddenFromWorkers,
              settings.workerNetwork(),
              SandboxRequirement.of(
                  settings.workerSandbox(),
                  // As the Gateway reads the mode (case and blanks ignored): live is never missed.
                  SideEffectMode.parse(settings.config().sideEffects()) == SideEffectMode.LIVE,
                  builtInCommands()),
              bubblewrapAt);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(List.of(e.getMessage()));
    }
    closeWithGateway.accept(processRuntime::close);
    log.info(
        "worker isolation: {}; system call filter: {}",
        processRuntime.isolation(),
        processRuntime.syscallFilter());
    log.info("worker limits: {}", processRuntime.limits());
    int leftovers = processRuntime.killWorkersLeftIn(home.resolve("workers"));
    if (leftovers > 0) {
      log.warn(
          "killed {} worker process(es) a Gateway that stopped had left running; their steps are retried"
              + " or failed when their leases expire",
          leftovers);
    }
    // After the leftovers are gone: the pool's records live in the same directory.
    processRuntime.enablePool(settings.workerPool());
    return processRuntime;
  }

  /**
   * Fills the worker pool ({@code WORKA_WORKER_POOL}) for the built-in agents of {@code policy}
   * before their first attempt; a no-op when the pool is off.
   */
  static void primePool(
      ProcessRuntime processRuntime, dev.worka.gateway.policy.CompiledPolicy policy, String url) {
    for (AgentPolicy agent : policy.agents().values()) {
      if (agent.enabled() && agent.runtime().kind() == RuntimeKind.PROCESS) {
        processRuntime.prime(agent.name(), agent.runtime().command(), agent.resources(), url);
      }
    }
  }

  /** The process commands of the built-in manifest, as written there. */
  private static List<List<String>> builtInCommands() {
    List<List<String>> commands = new ArrayList<>();
    for (AgentPolicy agent : BuiltinPolicy.compiled().agents().values()) {
      if (agent.runtime().kind() == RuntimeKind.PROCESS) {
        commands.add(agent.runtime().command());
      }
    }
    return commands;
  }
}
