package dev.worka.gateway.runtime.process;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How workers are confined: in a bubblewrap sandbox ({@link Bubblewrap}), or not at all ({@link
 * None}, with the reason). {@link #detected()} finds {@code bwrap} and proves that it works here by
 * starting a trial sandbox with exactly the flags and system mounts a worker gets; it does so once
 * per JVM.
 */
sealed interface Isolation {

  /**
   * {@code "bubblewrap"}, or {@code "none (<why>)"}; whether the sandbox also filters system calls
   * is {@link Bubblewrap#withoutSeccomp()}.
   */
  String describe();

  /**
   * Workers run inside {@code bwrap} at {@code executable}; {@code ownNetwork}: it can also give a
   * worker a network namespace of its own ({@code --unshare-net}, proven by a trial), so that the
   * worker reaches only the Gateway ({@link GatewayRelay}); {@code withoutSeccomp}: empty when
   * bubblewrap loads the {@link SeccompFilter} into every sandbox (proven by a trial), else why it
   * cannot here.
   */
  record Bubblewrap(
      Path executable, boolean disableUserns, boolean ownNetwork, Optional<String> withoutSeccomp)
      implements Isolation {
    public Bubblewrap {
      Objects.requireNonNull(executable, "executable");
      Objects.requireNonNull(withoutSeccomp, "withoutSeccomp");
    }

    /** Not probed for seccomp: the filter is applied where this host has a table for it. */
    Bubblewrap(Path executable, boolean disableUserns, boolean ownNetwork) {
      this(executable, disableUserns, ownNetwork, SeccompFilter.unsupportedHere());
    }

    Bubblewrap(Path executable, boolean disableUserns) {
      this(executable, disableUserns, false);
    }

    /** Whether sandboxed workers get the {@link SeccompFilter}. */
    boolean seccomp() {
      return withoutSeccomp.isEmpty();
    }

    /**
     * The argv that starts bubblewrap, up to its flags: with the filter, a {@code /bin/sh} that
     * opens {@code filterFile} (the {@link SeccompFilter#program()}) as file descriptor 3 — Java
     * cannot hand a child any other descriptor — and execs bubblewrap with {@code --seccomp 3}
     * (bubblewrap reads and closes it, and loads the filter last, after its own mounts); every
     * argument passed as {@code "$@"}, never pasted into the script. Without, bubblewrap alone.
     */
    List<String> launch(Path filterFile) {
      if (!seccomp()) {
        return List.of(executable.toString());
      }
      return List.of(
          SeccompFilter.SHELL.toString(),
          "-c",
          "exec 3<\"$1\" || exit 126; shift; exec \"$@\"",
          "worka-seccomp",
          filterFile.toString(),
          executable.toString(),
          "--seccomp",
          "3");
    }

    @Override
    public String describe() {
      return "bubblewrap";
    }

    /**
     * The namespace and privilege flags, in order: a new user, PID, IPC, UTS (and, where the kernel
     * has it, cgroup) namespace — the network namespace is decided per worker ({@code
     * --unshare-net} with a {@link GatewayRelay}, or the host's). No capabilities, no nested user
     * namespaces (where bwrap can forbid them), a new session (no TIOCSTI into the Gateway's
     * terminal), killed when the Gateway is, and an empty environment that {@code --setenv} fills
     * with the protocol variables.
     */
    List<String> flags() {
      List<String> flags = new ArrayList<>();
      flags.addAll(
          List.of(
              "--unshare-user",
              "--unshare-pid",
              "--unshare-ipc",
              "--unshare-uts",
              "--unshare-cgroup-try"));
      if (disableUserns) {
        flags.add("--disable-userns");
      }
      flags.addAll(
          List.of("--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"));
      return flags;
    }
  }

  /** Workers run unconfined, as the Gateway's user with its view of the host. */
  record None(String reason) implements Isolation {
    public None {
      Objects.requireNonNull(reason, "reason");
    }

    @Override
    public String describe() {
      return "none (" + reason + ")";
    }
  }

  /** Where {@code bwrap} is looked for after the {@code PATH}. */
  List<Path> WELL_KNOWN = List.of(Path.of("/usr/bin/bwrap"), Path.of("/bin/bwrap"));

  /** How long the trial sandbox may take before bubblewrap is declared not working. */
  Duration TRIAL_TIMEOUT = Duration.ofSeconds(10);

  /** The isolation this JVM offers, detected on first use and remembered. */
  static Isolation detected() {
    return Detected.ISOLATION;
  }

  /**
   * Where to look for {@code bwrap}: in each absolute directory of {@code path} (a PATH value, may
   * be null), then at the {@link #WELL_KNOWN} places.
   */
  static List<Path> candidates(String path) {
    Set<Path> candidates = new LinkedHashSet<>();
    if (path != null) {
      for (String entry : path.split(File.pathSeparator)) {
        if (!entry.isEmpty() && entry.startsWith("/")) {
          candidates.add(Path.of(entry, "bwrap"));
        }
      }
    }
    candidates.addAll(WELL_KNOWN);
    return List.copyOf(candidates);
  }

  /**
   * The first of {@code candidates} that is an executable {@code bwrap} and can start a sandbox
   * here; else none, with the first failure as the reason.
   */
  static Isolation detect(List<Path> candidates) {
    None firstFailure = null;
    for (Path candidate : candidates) {
      if (!Files.isRegularFile(candidate) || !Files.isExecutable(candidate)) {
        continue;
      }
      Isolation isolation = probe(candidate);
      if (isolation instanceof Bubblewrap) {
        return isolation;
      }
      if (firstFailure == null) {
        firstFailure = (None) isolation;
      }
    }
    return firstFailure != null
        ? firstFailure
        : new None("bwrap is not installed: not found on the PATH nor at " + WELL_KNOWN);
  }

  /**
   * Starts {@code true} in a trial sandbox with the flags and system mounts of a worker. Tries
   * again without {@code --disable-userns} when that fails (bubblewrap before 0.8 lacks it).
   */
  static Isolation probe(Path bwrap) {
    Path trueProgram =
        List.of(Path.of("/usr/bin/true"), Path.of("/bin/true")).stream()
            .filter(Files::isExecutable)
            .findFirst()
            .orElse(null);
    if (trueProgram == null) {
      return new None("there is no /usr/bin/true to try " + bwrap + " with");
    }
    String firstFailure = null;
    for (boolean disableUserns : new boolean[] {true, false}) {
      Bubblewrap candidate = new Bubblewrap(bwrap, disableUserns);
      List<String> argv = new ArrayList<>();
      argv.add(bwrap.toString());
      argv.addAll(candidate.flags());
      argv.addAll(SandboxLayout.system().arguments());
      argv.addAll(List.of("--chdir", "/", "--", trueProgram.toString()));
      String failure = trial(argv);
      if (failure == null) {
        List<String> withNetwork = new ArrayList<>(argv);
        withNetwork.add(1, "--unshare-net");
        String networkFailure = trial(withNetwork);
        if (networkFailure != null) {
          LoggerFactory.getLogger(Isolation.class)
              .warn(
                  "bubblewrap cannot give workers a network of their own"
                      + " here ({}): they share the host's network",
                  networkFailure);
        }
        return new Bubblewrap(
            bwrap, disableUserns, networkFailure == null, seccompTrial(candidate, argv));
      }
      if (firstFailure == null) {
        firstFailure = failure;
      }
    }
    return new None(bwrap + " is installed but cannot start a sandbox here: " + firstFailure);
  }

  /**
   * Why {@code bubblewrap} cannot load the {@link SeccompFilter} here: no table for this
   * architecture, no {@code /bin/sh}, or the trial {@code argv} (the working one without the
   * filter) fails with it; empty when it can.
   */
  private static Optional<String> seccompTrial(Bubblewrap bubblewrap, List<String> argv) {
    Optional<String> unsupported = SeccompFilter.unsupportedHere();
    if (unsupported.isPresent()) {
      return unsupported;
    }
    if (!Files.isExecutable(SeccompFilter.SHELL)) {
      return Optional.of("there is no " + SeccompFilter.SHELL + " to hand bubblewrap the filter");
    }
    Path file = null;
    try {
      file = SeccompFilter.writeTemporary();
      List<String> withFilter = new ArrayList<>(bubblewrap.launch(file));
      withFilter.addAll(argv.subList(1, argv.size()));
      String failure = trial(withFilter);
      if (failure != null) {
        LoggerFactory.getLogger(Isolation.class)
            .warn("bubblewrap cannot load the seccomp filter here: {}", failure);
      }
      return Optional.ofNullable(failure).map(f -> "bubblewrap cannot load it here: " + f);
    } catch (IOException e) {
      return Optional.of("cannot write the filter for a trial: " + e);
    } finally {
      if (file != null) {
        try {
          Files.deleteIfExists(file);
        } catch (IOException e) {
          // a small temporary file left behind
        }
      }
    }
  }

  /** Runs {@code argv}; null when it exits 0, else what went wrong. */
  private static String trial(List<String> argv) {
    ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true);
    builder.environment().clear();
    builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      return "cannot run it: " + e.getMessage();
    }
    try {
      ByteArrayOutputStream output = new ByteArrayOutputStream();
      Thread reader =
          Thread.ofPlatform()
              .daemon()
              .name("worka-bwrap-trial")
              .start(() -> readBounded(process.getInputStream(), output));
      if (!process.waitFor(TRIAL_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS)) {
        process.destroyForcibly();
        return "the trial sandbox did not finish within " + TRIAL_TIMEOUT.toSeconds() + " s";
      }
      reader.join(Duration.ofSeconds(2));
      if (process.exitValue() == 0) {
        return null;
      }
      String said;
      synchronized (output) {
        said = output.toString(StandardCharsets.UTF_8).strip().replaceAll("\\s+", " ");
      }
      return "the trial sandbox exited with status "
          + process.exitValue()
          + (said.isEmpty() ? "" : ": " + said);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      return "interrupted while trying it";
    }
  }

  private static void readBounded(InputStream in, ByteArrayOutputStream out) {
    byte[] buffer = new byte[1024];
    try (in) {
      int read;
      while ((read = in.read(buffer)) != -1) {
        synchronized (out) {
          if (out.size() < 2048) {
            out.write(buffer, 0, Math.min(read, 2048 - out.size()));
          }
        }
      }
    } catch (IOException e) {
      // the trial's exit status is what counts
    }
  }

  /** The detection result, computed once (class initialization is the lock). */
  final class Detected {
    private static final Logger log = LoggerFactory.getLogger(Isolation.class);
    static final Isolation ISOLATION = run();

    private Detected() {}

    private static Isolation run() {
      long started = System.nanoTime();
      Isolation isolation = detect(candidates(System.getenv("PATH")));
      log.debug(
          "worker isolation detected in {} ms: {}",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started),
          isolation);
      return isolation;
    }
  }
}
