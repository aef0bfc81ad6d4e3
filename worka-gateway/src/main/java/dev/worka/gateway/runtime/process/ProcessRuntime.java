package dev.worka.gateway.runtime.process;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.runtime.NotStarted;
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
import java.util.Collection;
import java.util.LinkedHashMap;
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

  private static final Path ENV = Path.of("/usr/bin/env");

  private final Path installDir;
  private final InstantSource clock;
  private final Path temporaryRoot;
  private final Optional<Path> setsid;
  private final Isolation isolation;
  private final List<Path> hiddenPaths;
  private final WorkerNetwork network;

  /** Which workers must be sandboxed; null: none (sandboxed when bubblewrap works). */
  private final SandboxRequirement sandbox;

  /** The built-in manifest's commands, canonical ({@link #canonical}). */
  private final java.util.Set<List<String>> builtInCommands;

  /** The Gateway's halves of the relays of the running workers without a network. */
  private final List<AttemptRelay> relays = new ArrayList<>();

  private final java.util.concurrent.atomic.AtomicBoolean staleRelaysRemoved =
      new java.util.concurrent.atomic.AtomicBoolean();
  private final java.util.concurrent.atomic.AtomicBoolean warnedSharedNetwork =
      new java.util.concurrent.atomic.AtomicBoolean();
  private volatile WorkerRecords records;

  /** What enforces each resource limit here; none for the package's own test constructors. */
  private final WorkerLimits limits;

  /** Pre-started built-in agents ({@link WorkerPool}); null: off, the default. */
  private volatile WorkerPool pool;

  private final java.util.concurrent.atomic.AtomicLong pooled =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * A runtime with no hidden paths; see {@link #ProcessRuntime(Path, InstantSource, Collection)}.
   */
  public ProcessRuntime(Path installDir, InstantSource clock) {
    this(installDir, clock, List.of());
  }

  /**
   * A runtime that sandboxes workers with bubblewrap when this host has a working {@code bwrap}
   * (detected once per JVM), and otherwise runs them unconfined after logging a warning that says
   * so and how to fix it. {@link #isolation()} tells which.
   *
   * @param installDir what a relative {@code command[0]} is resolved against (the Worka
   *     installation, where {@code bin/worka-agent} lives); visible to sandboxed workers, read-only
   * @param clock the clock deadlines are measured with
   * @param hiddenPaths files or directories a sandboxed worker must not see even where they lie
   *     under a directory it is given (pass {@code WORKA_HOME}: signing key, operator token,
   *     database files and password)
   */
  public ProcessRuntime(Path installDir, InstantSource clock, Collection<Path> hiddenPaths) {
    this(installDir, clock, hiddenPaths, WorkerNetwork.GATEWAY);
  }

  /**
   * As {@link #ProcessRuntime(Path, InstantSource, Collection)}, with the network sandboxed workers
   * get ({@code WORKA_WORKER_NETWORK}).
   *
   * @throws IllegalArgumentException when workers are sandboxed and {@code installDir} is a home
   *     directory or a parent of one ({@link HomeDirectories}): every worker would see it whole
   */
  public ProcessRuntime(
      Path installDir, InstantSource clock, Collection<Path> hiddenPaths, WorkerNetwork network) {
    this(installDir, clock, hiddenPaths, network, null, Optional.empty());
  }

  /**
   * The Gateway's runtime: as {@link #ProcessRuntime(Path, InstantSource, Collection,
   * WorkerNetwork)}, but a worker that {@code sandbox} says must be sandboxed is never started
   * where bubblewrap is not usable (its attempt fails to start, saying what to install); with
   * {@code WORKA_SANDBOX=off} no worker is sandboxed.
   *
   * @param sandbox which workers must be sandboxed; null: none, and each is sandboxed when
   *     bubblewrap works (the constructors without it)
   * @param bubblewrapAt where to look for {@code bwrap} instead of the PATH and the well-known
   *     places (detected once per JVM); tests pass places without one, to run a Gateway on a host
   *     "without bubblewrap"
   * @throws IllegalArgumentException as {@link #ProcessRuntime(Path, InstantSource, Collection,
   *     WorkerNetwork)}
   */
  public ProcessRuntime(
      Path installDir,
      InstantSource clock,
      Collection<Path> hiddenPaths,
      WorkerNetwork network,
      SandboxRequirement sandbox,
      Optional<List<Path>> bubblewrapAt) {
    this(
        installDir,
        clock,
        null,
        findSetsid(),
        sandbox != null && sandbox.off()
            ? new Isolation.None(WorkerSandbox.VARIABLE + "=off")
            : bubblewrapAt.map(Isolation::detect).orElseGet(Isolation::detected),
        hiddenPaths,
        network,
        sandbox,
        WorkerLimits.probe());
    if (isolation instanceof Isolation.None none) {
      String unconfined =
          "Each worker runs as this Gateway's OS user and sees the"
              + " host as the Gateway does: it can read WORKA_HOME (the token signing key, the"
              + " operator token, the embedded database and its password), other workers' token"
              + " files and the Gateway's /proc/<pid>/environ. Run only agents you trust as code,"
              + " or fix it: install bubblewrap: apt-get install bubblewrap (on a host with user"
              + " namespaces enabled)";
      if (sandbox == null) {
        log.warn("WORKERS ARE NOT SANDBOXED: {}. {}, and restart.", none.reason(), unconfined);
      } else if (sandbox.off()) {
        log.warn(
            "WORKERS ARE NOT SANDBOXED: {}. {}, and unset {}.",
            none.reason(),
            unconfined,
            WorkerSandbox.VARIABLE);
      } else {
        log.warn(
            "WORKERS CANNOT BE SANDBOXED: {}. The sandbox is {}: a worker that must be sandboxed"
                + " is not started (its attempt is burned, kind dispatch); install bubblewrap"
                + " (apt install bubblewrap, on a host with user namespaces enabled) and restart,"
                + " or set {}=off to run workers unconfined.{}",
            none.reason(),
            sandbox.describe(),
            WorkerSandbox.VARIABLE,
            sandbox.builtInMayRunUnconfined()
                ? " The built-in manifest's agents run unconfined meanwhile. " + unconfined + "."
                : "");
      }
    } else {
      Optional<Path> home = HomeDirectories.detected().heldBy(this.installDir);
      if (home.isPresent()) {
        // Bound read-only for every worker, it would show them a home (ssh keys, cloud
        // credentials).
        throw new IllegalArgumentException(
            "the installation directory "
                + this.installDir
                + " is a home directory or a parent of one ("
                + home.get()
                + "), which sandboxed workers would see whole; set WORKA_INSTALL_DIR to the"
                + " Worka installation itself (the directory holding bin/worka-agent)");
      }
      Isolation.Bubblewrap bubblewrap = (Isolation.Bubblewrap) isolation;
      log.info(
          "workers are sandboxed with bubblewrap ({}); hidden from them: {}; their network: {}",
          bubblewrap.executable(),
          this.hiddenPaths.isEmpty() ? "nothing beyond the sandbox's limits" : this.hiddenPaths,
          network == WorkerNetwork.HOST
              ? "the host's (WORKA_WORKER_NETWORK=host)"
              : bubblewrap.ownNetwork()
                  ? "their own, reaching only the Gateway (at most "
                      + GatewayRelay.MAX_CONNECTIONS_PER_WORKER
                      + " connections at once per worker)"
                  : "the host's (bubblewrap cannot unshare the network here)");
      if (!bubblewrap.seccomp()) {
        log.warn(
            "SANDBOXED WORKERS' SYSTEM CALLS ARE NOT FILTERED: {}. A worker that must be"
                + " sandboxed (the sandbox is {}) is not started (its attempt is burned, kind"
                + " dispatch); the others run in the sandbox without the seccomp filter, able to"
                + " call ptrace, bpf, io_uring, keyctl and the rest of the kernel.",
            bubblewrap.withoutSeccomp().orElseThrow(),
            sandbox == null ? "not required" : sandbox.describe());
      }
    }
  }

  ProcessRuntime(
      Path installDir,
      InstantSource clock,
      Path temporaryRoot,
      Optional<Path> setsid,
      Isolation isolation,
      Collection<Path> hiddenPaths) {
    this(installDir, clock, temporaryRoot, setsid, isolation, hiddenPaths, WorkerNetwork.GATEWAY);
  }

  ProcessRuntime(
      Path installDir,
      InstantSource clock,
      Path temporaryRoot,
      Optional<Path> setsid,
      Isolation isolation,
      Collection<Path> hiddenPaths,
      WorkerNetwork network) {
    this(installDir, clock, temporaryRoot, setsid, isolation, hiddenPaths, network, null);
  }

  ProcessRuntime(
      Path installDir,
      InstantSource clock,
      Path temporaryRoot,
      Optional<Path> setsid,
      Isolation isolation,
      Collection<Path> hiddenPaths,
      WorkerNetwork network,
      SandboxRequirement sandbox) {
    this(
        installDir,
        clock,
        temporaryRoot,
        setsid,
        isolation,
        hiddenPaths,
        network,
        sandbox,
        WorkerLimits.none("not probed by this runtime"));
  }

  ProcessRuntime(
      Path installDir,
      InstantSource clock,
      Path temporaryRoot,
      Optional<Path> setsid,
      Isolation isolation,
      Collection<Path> hiddenPaths,
      WorkerNetwork network,
      SandboxRequirement sandbox,
      WorkerLimits limits) {
    Objects.requireNonNull(limits, "limits");
    this.limits =
        isolation instanceof Isolation.None none
            ? limits.unsandboxed("workers are not sandboxed: " + none.reason())
            : limits;
    this.sandbox = sandbox;
    this.network = Objects.requireNonNull(network, "network");
    this.installDir = Objects.requireNonNull(installDir, "installDir").toAbsolutePath().normalize();
    this.clock = Objects.requireNonNull(clock, "clock");
    this.temporaryRoot = temporaryRoot;
    this.setsid = Objects.requireNonNull(setsid, "setsid");
    this.isolation = Objects.requireNonNull(isolation, "isolation");
    this.hiddenPaths =
        Objects.requireNonNull(hiddenPaths, "hiddenPaths").stream()
            .map(p -> p.toAbsolutePath().normalize())
            .toList();
    this.builtInCommands =
        sandbox == null
            ? java.util.Set.of()
            : sandbox.builtInCommands().stream()
                .map(this::canonical)
                .flatMap(Optional::stream)
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
  }

  /**
   * {@code command} as it is run: {@code command[0]} resolved against the installation directory
   * and normalized, the arguments as they are; empty when it does not start with a valid path.
   */
  private Optional<List<String>> canonical(List<String> command) {
    if (command.isEmpty()) {
      return Optional.empty();
    }
    try {
      List<String> out = new ArrayList<>(command);
      out.set(0, resolve(command.get(0)).toString());
      return Optional.of(List.copyOf(out));
    } catch (InvalidPathException e) {
      return Optional.empty();
    }
  }

  /**
   * From now on records each worker in {@code directory} while it runs, after killing the workers
   * (and all they started) that a Gateway which stopped without ending them left recorded there.
   * Call once, at start, before any step is dispatched, with a directory only this Gateway uses
   * (under its {@code WORKA_HOME}).
   *
   * @return how many such leftover workers were still running
   */
  public int killWorkersLeftIn(Path directory) {
    WorkerRecords found = new WorkerRecords(directory);
    int killed = found.killLeftovers();
    records = found;
    killed += limits.cgroups().map(c -> c.removeLeftovers(Path.of("/proc"))).orElse(0);
    return killed;
  }

  /**
   * What enforces each of a worker's resource limits on this host: {@code memory=cgroup v1,
   * cpu=cgroup v1 (cfs quota), pids=cgroup v1, disk=not enforced, open_files=rlimit RLIMIT_NOFILE}
   * (the Gateway logs it at start as {@code worker limits: …}).
   */
  public String limits() {
    return limits.describe();
  }

  /** The resource limits nothing enforces on this host ({@code memory}, {@code disk}, …). */
  public List<String> unenforcedLimits() {
    return limits.unenforced();
  }

  private static final String RELAY_DIRECTORY_PREFIX = "worka-relay-";

  /**
   * Where {@link GatewayRelay} is loaded from (a jar or a classes directory), for the sandbox's
   * JVM.
   */
  private static final Path RELAY_CLASS_PATH = codeLocation();

  private static Path codeLocation() {
    try {
      return Path.of(
          GatewayRelay.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException | RuntimeException e) {
      throw new IllegalStateException("cannot tell where the Gateway's classes are", e);
    }
  }

  /**
   * The port of {@code url} when it names this host's loopback (HTTP or HTTPS) at a port a worker
   * without capabilities may listen on (1024 and up); else empty, and the worker keeps the host's
   * network.
   */
  static Optional<Integer> loopbackPort(String url) {
    try {
      java.net.URI uri = java.net.URI.create(url);
      String host = uri.getHost();
      boolean loopback = "127.0.0.1".equals(host) || "localhost".equalsIgnoreCase(host);
      boolean web =
          "http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme());
      return web && loopback && uri.getPort() >= 1024
          ? Optional.of(uri.getPort())
          : Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /**
   * One worker's relay to the Gateway: its own Unix socket (in a 0700 directory of its own), so
   * that the Gateway can count that worker's connections.
   */
  private record AttemptRelay(GatewayRelay relay, Path socket) {
    void close() {
      relay.close();
      try {
        Files.deleteIfExists(socket);
        Files.deleteIfExists(socket.getParent());
      } catch (IOException ignored) {
        // a temporary directory left behind; removeStale takes it later
      }
    }
  }

  /**
   * Opens a worker's relay to the Gateway's {@code port}, capped at {@link
   * GatewayRelay#MAX_CONNECTIONS_PER_WORKER} connections at once; past them, {@code worker} is
   * stopped at its {@code connections} limit.
   */
  private AttemptRelay openRelay(
      int port, java.util.concurrent.CompletableFuture<ProcessWorker> worker) throws IOException {
    Path temporary = Path.of(System.getProperty("java.io.tmpdir"));
    if (staleRelaysRemoved.compareAndSet(false, true)) {
      int stale = GatewayRelay.removeStale(temporary, RELAY_DIRECTORY_PREFIX);
      if (stale > 0) {
        log.info(
            "removed {} relay socket director(ies) that stopped Gateways left in {}",
            stale,
            temporary);
      }
    }
    Path directory =
        Files.createTempDirectory(
            temporary,
            RELAY_DIRECTORY_PREFIX,
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
    Path socket = directory.resolve(GatewayRelay.SOCKET_NAME);
    GatewayRelay relay;
    try {
      relay =
          GatewayRelay.serve(
              socket,
              port,
              GatewayRelay.MAX_CONNECTIONS_PER_WORKER,
              detail -> {
                // Runs once the handle exists (at once, unless the flood beat its construction).
                var unused =
                    worker.thenAccept(w -> w.reached(new AttemptCgroup.Hit("connections", detail)));
              });
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(directory);
      throw e;
    }
    AttemptRelay opened = new AttemptRelay(relay, socket);
    synchronized (this) {
      relays.add(opened);
    }
    return opened;
  }

  private synchronized void closed(AttemptRelay relay) {
    relays.remove(relay);
    relay.close();
  }

  /**
   * Kills the pre-started workers of the pool, stops the relays to the Gateway (workers without a
   * network can no longer reach it).
   */
  public void close() {
    WorkerPool p = pool;
    if (p != null) {
      p.close();
    }
    closeRelays();
  }

  private synchronized void closeRelays() {
    relays.forEach(AttemptRelay::close);
    relays.clear();
    limits.close();
  }

  private static Optional<Path> findSetsid() {
    return SETSID_CANDIDATES.stream().filter(Files::isExecutable).findFirst();
  }

  /**
   * How workers are isolated, for the Gateway to report: {@code "bubblewrap"}, or {@code "none
   * (<why>)"} when they run unconfined.
   */
  public String isolation() {
    return isolation.describe();
  }

  /**
   * Whether sandboxed workers' system calls are filtered, for the Gateway to report: what the
   * {@code seccomp} filter denies, or {@code "none (<why>)"}.
   */
  public String syscallFilter() {
    return switch (isolation) {
      case Isolation.Bubblewrap b when b.seccomp() -> SeccompFilter.describe();
      case Isolation.Bubblewrap b -> "none (" + b.withoutSeccomp().orElseThrow() + ")";
      case Isolation.None none -> "none (workers are not sandboxed)";
    };
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
    // Whether this worker must be sandboxed (WORKA_SANDBOX): if so, fail closed where it cannot be.
    Optional<String> required =
        sandbox == null
            ? Optional.empty()
            : sandbox.whyRequired(
                canonical(launch.command()).map(builtInCommands::contains).orElse(false));
    if (required.isPresent() && isolation instanceof Isolation.None none) {
      // Fail closed: nothing of the worker is created, no process started.
      return notStarted(
          launch,
          "it must be sandboxed ("
              + required.get()
              + ") and cannot be here ("
              + none.reason()
              + "): install bubblewrap (apt install bubblewrap, on a host with user namespaces"
              + " enabled) or set "
              + WorkerSandbox.VARIABLE
              + "=off to run workers unconfined");
    }
    if (required.isPresent()
        && isolation instanceof Isolation.Bubblewrap bubblewrap
        && bubblewrap.withoutSeccomp().isPresent()) {
      // Fail closed: a sandbox without its system call filter is not the sandbox required.
      return notStarted(
          launch,
          "it must be sandboxed ("
              + required.get()
              + ") and the sandbox cannot filter its system calls here ("
              + bubblewrap.withoutSeccomp().get()
              + "): run the Gateway on x86_64 or aarch64 with a bubblewrap that takes --seccomp"
              + " (0.3 or later), or set "
              + WorkerSandbox.VARIABLE
              + "=off to run workers unconfined");
    }
    if (!Files.exists(program)) {
      return notStarted(launch, "command " + program + " does not exist" + relativeHint(launch));
    }
    if (!Files.isRegularFile(program) || !Files.isExecutable(program)) {
      return notStarted(
          launch, "command " + program + " is not an executable file (chmod +x " + program + "?)");
    }

    Optional<WorkerPool.Key> key = poolKey(launch);
    if (key.isPresent()) {
      Optional<WorkerPool.Entry> entry = pool.claim(key.get());
      if (entry.isPresent()) {
        WorkerHandle claimed = claimed(entry.get(), launch, now);
        if (claimed != null) {
          return claimed;
        }
      }
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
    AttemptCgroup cgroup = null;
    if (limits.cgroups().isPresent()) {
      String name = launch.stepId() + "-" + launch.attempt();
      try {
        cgroup = limits.cgroups().get().create(name, launch.resources());
      } catch (IOException e) {
        // Fail closed: a worker whose limits cannot be set is not started without them.
        directory.delete();
        return notStarted(launch, "cannot create the worker's cgroup " + name + ": " + e);
      }
    }

    Map<String, String> protocol = new LinkedHashMap<>();
    protocol.put(AgentEnvironment.GATEWAY_URL, launch.gatewayUrl());
    protocol.put(AgentEnvironment.TOKEN_FILE, tokenFile.toString());
    protocol.put(AgentEnvironment.RUN_ID, launch.runId().toString());
    protocol.put(AgentEnvironment.STEP_ID, launch.stepId().toString());
    protocol.put(AgentEnvironment.AGENT, launch.agent());
    if (launch.traceparent() != null) {
      protocol.put(AgentEnvironment.TRACEPARENT, launch.traceparent());
    }
    List<String> arguments = launch.command().subList(1, launch.command().size());

    List<String> argv = new ArrayList<>();
    java.util.concurrent.CompletableFuture<ProcessWorker> worker =
        new java.util.concurrent.CompletableFuture<>();
    AttemptRelay relay = null;
    if (isolation instanceof Isolation.Bubblewrap bubblewrap) {
      SandboxLayout layout =
          SandboxLayout.of(
              installDir,
              program,
              Path.of(launch.command().get(0)).isAbsolute(),
              arguments,
              directory.path(),
              hiddenPaths,
              network == WorkerNetwork.GATEWAY && bubblewrap.ownNetwork()
                  ? List.of(Path.of(System.getProperty("java.home")), RELAY_CLASS_PATH)
                  : List.of(Path.of(System.getProperty("java.home"))));
      if (cgroup != null && limits.disk()) {
        layout.boundDisk(launch.resources().diskBytes(), tokenFile);
        cgroup.watchDisk();
      }
      for (String refusal : layout.refusals()) {
        log.warn(
            "run {} step {} attempt {}: not visible in the worker's sandbox: {}",
            launch.runId(),
            launch.stepId(),
            launch.attempt(),
            refusal);
      }
      Optional<Integer> gatewayPort =
          network == WorkerNetwork.GATEWAY && bubblewrap.ownNetwork()
              ? loopbackPort(launch.gatewayUrl())
              : Optional.empty();
      if (network == WorkerNetwork.GATEWAY
          && bubblewrap.ownNetwork()
          && gatewayPort.isEmpty()
          && warnedSharedNetwork.compareAndSet(false, true)) {
        log.warn(
            "workers share the host's network: their Gateway URL {} is not http(s)://127.0.0.1 or localhost at a"
                + " port of 1024 or more, which a worker without a network of its own could reach through the relay",
            launch.gatewayUrl());
      }
      if (gatewayPort.isPresent()) {
        try {
          relay = openRelay(gatewayPort.get(), worker);
        } catch (IOException | RuntimeException e) {
          directory.delete();
          if (cgroup != null) {
            cgroup.remove();
          }
          return notStarted(
              launch, "cannot open the relay to the Gateway for a worker without a network: " + e);
        }
        layout.bindSocket(relay.socket());
      }
      Path socket = relay == null ? null : relay.socket();
      // A built-in agent relays its own connections (no relay JVM to start in front of it): the
      // socket is all it gets, and what runs in the sandbox could reach the socket anyway.
      boolean relaysItself =
          socket != null
              && canonical(launch.command()).map(builtInCommands::contains).orElse(false);
      if (relaysItself) {
        protocol.put(AgentEnvironment.GATEWAY_SOCKET, socket.toString());
      }
      Path filter = null;
      if (bubblewrap.seccomp()) {
        try {
          filter = SeccompFilter.write(directory.path());
        } catch (IOException | RuntimeException e) {
          directory.delete();
          if (cgroup != null) {
            cgroup.remove();
          }
          if (relay != null) {
            closed(relay);
          }
          return notStarted(launch, "cannot write the worker's seccomp filter: " + e);
        }
      }
      argv.addAll(bubblewrap.launch(filter));
      argv.addAll(bubblewrap.flags());
      if (socket != null) {
        argv.add("--unshare-net");
      }
      protocol.forEach((name, value) -> argv.addAll(List.of("--setenv", name, value)));
      argv.addAll(layout.arguments());
      argv.addAll(List.of("--chdir", directory.path().toString(), "--"));
      if (socket != null && !relaysItself) {
        argv.addAll(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-XX:-UsePerfData",
                "-Xmx24m",
                "-cp",
                RELAY_CLASS_PATH.toString(),
                GatewayRelay.class.getName(),
                Integer.toString(gatewayPort.get()),
                socket.toString()));
      }
      if (Files.isExecutable(ENV) && !program.toString().contains("=")) {
        // bwrap sets PWD after --clearenv; the worker gets the protocol's variables, no more.
        argv.addAll(List.of(ENV.toString(), "-u", "PWD"));
      }
    }
    argv.add(program.toString());
    argv.addAll(arguments);
    List<String> started = new ArrayList<>(limits.wrap(argv, launch.resources(), cgroup));
    if (setsid.isPresent()) {
      started.add(0, setsid.get().toString());
    }
    if (log.isDebugEnabled()) {
      log.debug(
          "worker of run {} step {} attempt {}: {}",
          launch.runId(),
          launch.stepId(),
          launch.attempt(),
          started);
    }
    ProcessBuilder builder =
        new ProcessBuilder(started).directory(directory.path().toFile()).redirectErrorStream(true);
    Map<String, String> environment = builder.environment();
    environment.clear();
    if (!(isolation instanceof Isolation.Bubblewrap)) {
      environment.putAll(protocol); // sandboxed: bwrap itself gets nothing, the worker --setenv
    }
    builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));

    Process process;
    try {
      process = Launcher.start(builder);
    } catch (IOException | RuntimeException e) {
      directory.delete();
      if (cgroup != null) {
        cgroup.remove();
      }
      if (relay != null) {
        closed(relay);
      }
      return notStarted(launch, "cannot start " + program + ": " + e.getMessage());
    }
    log.info(
        "started worker pid {} for run {} step {} attempt {} (agent {}, deadline {}, isolation"
            + " {}): {}",
        process.pid(),
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        launch.agent(),
        launch.deadline(),
        isolation.describe(),
        launch.command());
    WorkerRecords recording = records;
    if (recording != null) {
      recording.started(process, launch, directory.path());
    }
    AttemptRelay attemptRelay = relay;
    Runnable ended =
        () -> {
          if (attemptRelay != null) {
            closed(attemptRelay);
          }
          if (recording != null) {
            recording.ended(process.pid());
          }
        };
    ProcessWorker handle =
        new ProcessWorker(
            launch, process, setsid.isPresent(), directory, clock, now, ended, cgroup);
    worker.complete(handle);
    return handle;
  }

  /**
   * Turns the pool of pre-started built-in agents on ({@code WORKA_WORKER_POOL}): from now on a
   * built-in agent's attempt takes a waiting process when there is one with exactly its launch, and
   * the pool keeps {@code size} of them per launch it has seen (or been {@linkplain #prime primed}
   * with). Only where the whole sandbox is: bubblewrap with its seccomp filter and a network of the
   * worker's own; elsewhere it stays off and says why.
   *
   * @return whether the pool is on
   */
  public boolean enablePool(int size) {
    return enablePool(size, WorkerPool.MAX_IDLE);
  }

  boolean enablePool(int size, java.time.Duration maxIdle) {
    if (size < 1) {
      return false;
    }
    Optional<String> why = whyNotPooled();
    if (why.isPresent()) {
      log.warn(
          "{}={} ignored: built-in agents are not pre-started here ({}); each starts cold",
          WorkerPool.VARIABLE,
          size,
          why.get());
      return false;
    }
    if (pool == null) {
      pool = new WorkerPool(size, maxIdle, clock, this::prestart);
      log.info(
          "worker pool: up to {} pre-started sandboxed process(es) per built-in agent, each"
              + " claimed by one attempt, retired after {} unclaimed",
          size,
          maxIdle);
    }
    return true;
  }

  private Optional<String> whyNotPooled() {
    if (!(isolation instanceof Isolation.Bubblewrap bubblewrap)) {
      return Optional.of("workers are not sandboxed");
    }
    if (!bubblewrap.seccomp()) {
      return Optional.of("the sandbox cannot filter system calls");
    }
    if (network != WorkerNetwork.GATEWAY || !bubblewrap.ownNetwork()) {
      return Optional.of("workers do not get a network of their own");
    }
    if (builtInCommands.isEmpty()) {
      return Optional.of("no built-in agents");
    }
    return Optional.empty();
  }

  /**
   * Fills the pool for one built-in agent before its first attempt (at start, from the active
   * policy); a no-op when the pool is off or {@code command} is not the built-in manifest's.
   */
  public void prime(String agent, List<String> command, Resources resources, String gatewayUrl) {
    WorkerPool p = pool;
    if (p == null || loopbackPort(gatewayUrl).isEmpty()) {
      return;
    }
    canonical(command)
        .filter(builtInCommands::contains)
        .ifPresent(c -> p.want(new WorkerPool.Key(c, agent, resources, gatewayUrl)));
  }

  /** How many attempts ran in a pre-started process so far. */
  public long pooledStarts() {
    return pooled.get();
  }

  /**
   * Waits until {@code agent}'s pool (for this launch) holds its full size (the benchmark: a
   * Gateway quiet between steps); false when the pool is off or {@code patience} passed first.
   */
  public boolean awaitPool(
      String agent,
      List<String> command,
      Resources resources,
      String gatewayUrl,
      java.time.Duration patience)
      throws InterruptedException {
    WorkerPool p = pool;
    Optional<List<String>> c = canonical(command);
    return p != null
        && c.isPresent()
        && p.awaitReady(
            new WorkerPool.Key(c.get(), agent, resources, gatewayUrl), p.size(), patience);
  }

  WorkerPool pool() {
    return pool;
  }

  /** The pool's key of {@code launch}; empty when it is not one the pool serves. */
  Optional<WorkerPool.Key> poolKey(WorkerLaunch launch) {
    if (pool == null || loopbackPort(launch.gatewayUrl()).isEmpty()) {
      return Optional.empty();
    }
    return canonical(launch.command())
        .filter(builtInCommands::contains)
        .map(c -> new WorkerPool.Key(c, launch.agent(), launch.resources(), launch.gatewayUrl()));
  }

  /**
   * Hands {@code entry} its attempt: the token and the step's identity as one line on its standard
   * input (then closed: nothing more ever reaches it), and its relay's connection cap bound to the
   * attempt's handle. Null when the line cannot be delivered (it died): the entry is retired and
   * the attempt starts cold.
   */
  private WorkerHandle claimed(WorkerPool.Entry entry, WorkerLaunch launch, Instant now) {
    com.fasterxml.jackson.databind.node.ObjectNode claim =
        dev.worka.protocol.Json.STRICT.createObjectNode();
    claim.put(AgentEnvironment.TOKEN, launch.token());
    claim.put(AgentEnvironment.RUN_ID, launch.runId().toString());
    claim.put(AgentEnvironment.STEP_ID, launch.stepId().toString());
    claim.put(AgentEnvironment.AGENT, launch.agent());
    if (launch.traceparent() != null) {
      claim.put(AgentEnvironment.TRACEPARENT, launch.traceparent());
    }
    try (java.io.OutputStream in = entry.process.getOutputStream()) {
      in.write(
          (dev.worka.protocol.Json.write(claim) + "\n")
              .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      in.flush();
    } catch (IOException e) {
      log.warn(
          "pre-started worker pid {} could not take run {} step {} attempt {} ({}); starting one"
              + " cold",
          entry.process.pid(),
          launch.runId(),
          launch.stepId(),
          launch.attempt(),
          e.toString());
      entry.retire.run();
      return null;
    }
    WorkerRecords recording = records;
    if (recording != null) {
      recording.started(entry.process, launch, entry.directory.path());
    }
    pooled.incrementAndGet();
    log.info(
        "worker pid {} (pre-started {} ago) claimed by run {} step {} attempt {} (agent {},"
            + " deadline {})",
        entry.process.pid(),
        java.time.Duration.between(entry.born, now),
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        launch.agent(),
        launch.deadline());
    ProcessWorker handle =
        new ProcessWorker(
            launch,
            entry.process,
            setsid.isPresent(),
            entry.directory,
            clock,
            now,
            entry.ended,
            entry.cgroup);
    entry.worker.complete(handle);
    return handle;
  }

  private final java.util.concurrent.atomic.AtomicLong poolSequence =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * Starts one pooled process for {@code key}: everything a cold start of that launch gets (work
   * directory, cgroup with its limits, relay, sandbox, seccomp filter, rlimits), recorded before it
   * starts, but no token, no run or step: {@code WORKA_CLAIM=stdin} instead, and a pipe for its
   * standard input.
   */
  private Optional<WorkerPool.Entry> prestart(WorkerPool.Key key) {
    Isolation.Bubblewrap bubblewrap = (Isolation.Bubblewrap) isolation;
    Path program = Path.of(key.command().get(0));
    List<String> arguments = key.command().subList(1, key.command().size());
    int port = loopbackPort(key.gatewayUrl()).orElseThrow();
    String name = "pool-" + poolSequence.incrementAndGet();
    WorkerRecords recording = records;
    List<Runnable> undo = new ArrayList<>();
    try {
      WorkDirectory directory = WorkDirectory.create(temporaryRoot);
      undo.add(directory::delete);
      if (recording != null) {
        // Before it starts: a Gateway killed from here on leaves the next one its work directory.
        recording.pending(name, directory.path());
        undo.add(() -> recording.pendingDone(name));
      }
      AttemptCgroup cgroup = null;
      if (limits.cgroups().isPresent()) {
        cgroup = limits.cgroups().get().create(name, key.resources());
        undo.add(cgroup::remove);
      }
      java.util.concurrent.CompletableFuture<ProcessWorker> worker =
          new java.util.concurrent.CompletableFuture<>();
      AttemptRelay relay = openRelay(port, worker);
      undo.add(() -> closed(relay));
      SandboxLayout layout =
          SandboxLayout.of(
              installDir,
              program,
              !program.startsWith(installDir),
              arguments,
              directory.path(),
              hiddenPaths,
              List.of(Path.of(System.getProperty("java.home")), RELAY_CLASS_PATH));
      if (cgroup != null && limits.disk()) {
        layout.boundDisk(key.resources().diskBytes(), null, directory.path());
        cgroup.watchDisk();
      }
      layout.bindSocket(relay.socket());
      Path filter = SeccompFilter.write(directory.path());
      Map<String, String> protocol = new LinkedHashMap<>();
      protocol.put(AgentEnvironment.GATEWAY_URL, key.gatewayUrl());
      protocol.put(AgentEnvironment.AGENT, key.agent());
      protocol.put(AgentEnvironment.GATEWAY_SOCKET, relay.socket().toString());
      protocol.put(AgentEnvironment.CLAIM, "stdin");
      List<String> argv = new ArrayList<>(bubblewrap.launch(filter));
      argv.addAll(bubblewrap.flags());
      argv.add("--unshare-net");
      protocol.forEach((n, value) -> argv.addAll(List.of("--setenv", n, value)));
      argv.addAll(layout.arguments());
      argv.addAll(List.of("--chdir", directory.path().toString(), "--"));
      if (Files.isExecutable(ENV) && !program.toString().contains("=")) {
        argv.addAll(List.of(ENV.toString(), "-u", "PWD"));
      }
      argv.add(program.toString());
      argv.addAll(arguments);
      List<String> started = new ArrayList<>(limits.wrap(argv, key.resources(), cgroup));
      if (setsid.isPresent()) {
        started.add(0, setsid.get().toString());
      }
      ProcessBuilder builder =
          new ProcessBuilder(started)
              .directory(directory.path().toFile())
              .redirectErrorStream(true);
      builder.environment().clear();
      // stdin stays a pipe: the claim arrives there.
      Process process = Launcher.start(builder);
      if (recording != null) {
        recording.startedPooled(process, name, directory.path());
      }
      ProcessTree tree = new ProcessTree(process, setsid.isPresent());
      AttemptCgroup attemptCgroup = cgroup;
      Runnable ended =
          () -> {
            closed(relay);
            if (recording != null) {
              recording.ended(process.pid());
            }
          };
      Runnable retire =
          () -> {
            tree.kill();
            if (attemptCgroup != null) {
              attemptCgroup.remove();
            }
            try {
              process.getOutputStream().close();
              process.getInputStream().close();
            } catch (IOException ignored) {
              // it is dead; the pipes go with it
            }
            directory.delete();
            ended.run();
          };
      log.debug("pre-started worker pid {} ({}) for {}", process.pid(), name, key);
      return Optional.of(
          new WorkerPool.Entry(
              key, process, directory, cgroup, worker, clock.instant(), ended, retire));
    } catch (IOException | RuntimeException e) {
      log.warn("could not pre-start a worker for agent {}: {}", key.agent(), e.toString());
      for (int i = undo.size() - 1; i >= 0; i--) {
        try {
          undo.get(i).run();
        } catch (RuntimeException ignored) {
          // cleaning up what was made
        }
      }
      return Optional.empty();
    }
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
        + ", isolation="
        + isolation.describe()
        + "]";
  }
}
