package dev.worka.gateway.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a Gateway that died (SIGKILL, the OOM killer) left of its embedded PostgreSQL, found and
 * stopped before a new server starts on the same data directory. The postmaster is a process of its
 * own (pg_ctl starts it; its parent is init, not the JVM), so it outlives the Gateway: still
 * running, still shutting down, or killed too with its children dying and its {@code
 * postmaster.pid} left behind, whose pid may by now be a zombie or another process — and PostgreSQL
 * refuses to start over a lock file whose pid answers {@code kill(pid, 0)}.
 *
 * <p>Only call this while holding the data directory's lock ({@link EmbeddedDatabase}): then no
 * live Gateway owns what is found here. A process counts as the data directory's when its name is
 * {@code postgres}, {@code initdb} or {@code pg_ctl} and its working directory is the data
 * directory or one of its arguments names it (read from {@code /proc}; where there is no {@code
 * /proc}, nothing is done and PostgreSQL's own stale-lock check is all there is).
 */
final class LeftoverPostgres {
  private static final Logger log = LoggerFactory.getLogger(LeftoverPostgres.class);
  private static final Path PROC = Path.of("/proc");
  private static final Set<String> SERVER_PROGRAMS = Set.of("postgres", "initdb", "pg_ctl");

  /** How long a left-over postmaster may take to shut down (fast: sessions ended, a checkpoint). */
  static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(30);

  /** How long the children of a postmaster that died get to notice and exit on their own. */
  private static final Duration ORPHAN_WAIT = Duration.ofSeconds(5);

  private static final Duration KILL_WAIT = Duration.ofSeconds(10);

  private LeftoverPostgres() {}

  /**
   * Stops every server process still using {@code dataDirectory} — a left postmaster by a fast
   * shutdown (SIGINT), then whatever remains by SIGKILL — and removes a stale {@code
   * postmaster.pid}. Returns what it did, one sentence per action (empty: nothing was left).
   *
   * @throws IOException when server processes still use the directory after all that
   */
  static List<String> clear(Path dataDirectory) throws IOException {
    List<String> done = new ArrayList<>();
    if (!Files.isDirectory(dataDirectory) || !Files.isDirectory(PROC)) {
      return done;
    }
    Path pidFile = dataDirectory.resolve("postmaster.pid");
    OptionalLong postmaster = pidIn(pidFile);
    List<Long> users = processesUsing(dataDirectory);
    if (postmaster.isPresent() && users.contains(postmaster.getAsLong())) {
      long pid = postmaster.getAsLong();
      String state = stateIn(pidFile);
      log.warn(
          "a PostgreSQL (pid {}, {}) left running on {} by a Gateway that stopped: shutting it down",
          pid,
          state,
          dataDirectory);
      done.add(
          "shut down the PostgreSQL (pid "
              + pid
              + ", "
              + state
              + ") a Gateway that stopped had left running");
      signal(pid, "INT"); // a fast shutdown: ends the dead Gateway's sessions, writes a checkpoint
      users = awaitGone(dataDirectory, SHUTDOWN_WAIT);
    } else if (!users.isEmpty()) {
      users =
          awaitGone(dataDirectory, ORPHAN_WAIT); // children of a dead postmaster end on their own
    }
    if (!users.isEmpty()) {
      log.warn(
          "PostgreSQL processes {} still use {}: killing them (the next start recovers from the write-ahead log)",
          users,
          dataDirectory);
      done.add("killed PostgreSQL processes " + users + " that still used the data directory");
      for (long pid : users) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
      users = awaitGone(dataDirectory, KILL_WAIT);
      if (!users.isEmpty()) {
        throw new IOException(
            "PostgreSQL processes "
                + users
                + " still use "
                + dataDirectory
                + " and could not be stopped; stop them (kill -9 "
                + users.get(0)
                + ") and start again");
      }
    }
    // Nothing runs on the directory now, so a postmaster.pid left here is stale, whichever process
    // (a zombie, another program) its pid names by now.
    // (An empty or torn one, from a postmaster killed while writing it, PostgreSQL refuses too.)
    if (Files.deleteIfExists(pidFile)) {
      String pid = postmaster.isPresent() ? "pid " + postmaster.getAsLong() : "no readable pid";
      log.info("removed the stale {} ({}) of a PostgreSQL that is gone", pidFile, pid);
      done.add("removed a stale postmaster.pid (" + pid + ")");
    }
    return done;
  }

  /**
   * Removes the PostgreSQL binaries a killed process left half unpacked under zonky's working
   * directory ({@code java.io.tmpdir/embedded-pg}, or {@code ot.epg.working-dir}): a {@code PG-*}
   * directory without its {@code .exists} mark whose unpacking lock ({@code epg-lock}, deleted once
   * unpacking is done) is there and held by nobody. zonky would unpack over it again but keep every
   * file already there, a truncated one included, and mark the directory ready: every later start
   * would then fail in initdb or postgres. Returns the directories removed.
   *
   * <p>Call once per JVM, before any server of this JVM starts (closing a probe releases every lock
   * this JVM holds on the file).
   */
  static List<Path> clearInterruptedUnpacking(Path workingDirectory) throws IOException {
    List<Path> removed = new ArrayList<>();
    if (!Files.isDirectory(workingDirectory)) {
      return removed;
    }
    try (Stream<Path> entries = Files.list(workingDirectory)) {
      for (Path binaries : (Iterable<Path>) entries::iterator) {
        Path lock = binaries.resolve("epg-lock");
        if (!binaries.getFileName().toString().startsWith("PG-")
            || Files.exists(binaries.resolve(".exists"))
            || !Files.exists(lock)) {
          continue;
        }
        boolean abandoned;
        try (java.nio.channels.FileChannel channel =
                java.nio.channels.FileChannel.open(lock, java.nio.file.StandardOpenOption.WRITE);
            java.nio.channels.FileLock probe = channel.tryLock()) {
          abandoned = probe != null;
        } catch (java.nio.channels.OverlappingFileLockException | IOException e) {
          abandoned = false; // being unpacked (or not ours to touch)
        }
        if (abandoned) {
          log.warn(
              "PostgreSQL's binaries in {} were left half unpacked by a process that was killed: removing them to"
                  + " unpack them again",
              binaries);
          try (Stream<Path> tree = Files.walk(binaries)) {
            for (Path p :
                (Iterable<Path>) tree.sorted(java.util.Comparator.reverseOrder())::iterator) {
              Files.deleteIfExists(p);
            }
          }
          removed.add(binaries);
        }
      }
    }
    return removed;
  }

  /** zonky's working directory, where it unpacks the PostgreSQL binaries (as zonky computes it). */
  static Path zonkyWorkingDirectory() {
    String configured = System.getProperty("ot.epg.working-dir");
    return configured != null
        ? Path.of(configured)
        : Path.of(System.getProperty("java.io.tmpdir"), "embedded-pg");
  }

  /** Waits (bounded) until no server process uses the directory; returns those that still do. */
  private static List<Long> awaitGone(Path dataDirectory, Duration max) throws IOException {
    long deadline = System.nanoTime() + max.toNanos();
    List<Long> users = processesUsing(dataDirectory);
    while (!users.isEmpty() && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(
            "interrupted while waiting for PostgreSQL processes " + users + " to stop", e);
      }
      users = processesUsing(dataDirectory);
    }
    return users;
  }

  /**
   * The live server processes ({@link #SERVER_PROGRAMS}) whose working directory is in {@code
   * dataDirectory} or whose arguments name it. Zombies have neither and do not count.
   */
  static List<Long> processesUsing(Path dataDirectory) throws IOException {
    Path real = dataDirectory.toRealPath();
    Set<String> names =
        new java.util.HashSet<>(
            List.of(
                dataDirectory.toString(),
                dataDirectory.toAbsolutePath().toString(),
                real.toString()));
    long self = ProcessHandle.current().pid();
    List<Long> users = new ArrayList<>();
    try (Stream<Path> entries = Files.list(PROC)) {
      for (Path entry : (Iterable<Path>) entries::iterator) {
        String name = entry.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit) || Long.parseLong(name) == self) {
          continue;
        }
        Optional<String> program = read(entry.resolve("comm")).map(String::strip);
        if (program.isEmpty() || !SERVER_PROGRAMS.contains(program.get())) {
          continue;
        }
        if (cwdIn(entry, real) || argumentNames(entry, names)) {
          users.add(Long.parseLong(name));
        }
      }
    }
    return users;
  }

  private static boolean cwdIn(Path process, Path directory) {
    try {
      return Files.readSymbolicLink(process.resolve("cwd")).startsWith(directory);
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return false; // gone, a zombie, or not ours to read
    }
  }

  private static boolean argumentNames(Path process, Set<String> names) {
    Optional<String> cmdline = read(process.resolve("cmdline"));
    if (cmdline.isEmpty()) {
      return false;
    }
    for (String argument : cmdline.get().split("\0")) {
      if (names.contains(argument)) {
        return true;
      }
    }
    return false;
  }

  private static Optional<String> read(Path file) {
    try {
      return Optional.of(new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
    } catch (IOException | SecurityException e) {
      return Optional.empty();
    }
  }

  /**
   * The postmaster's pid, the first line of {@code postmaster.pid}, if the file is there and holds
   * one.
   */
  static OptionalLong pidIn(Path pidFile) {
    Optional<String> text = read(pidFile);
    if (text.isEmpty()) {
      return OptionalLong.empty();
    }
    String first = text.get().lines().findFirst().orElse("").strip();
    return first.matches("[0-9]{1,10}")
        ? OptionalLong.of(Long.parseLong(first))
        : OptionalLong.empty();
  }

  /**
   * The server's state as its {@code postmaster.pid} says (its 8th line: starting, ready,
   * stopping).
   */
  private static String stateIn(Path pidFile) {
    List<String> lines = read(pidFile).map(t -> t.lines().toList()).orElse(List.of());
    return lines.size() >= 8 && !lines.get(7).isBlank() ? lines.get(7).strip() : "state unknown";
  }

  /**
   * Sends {@code signal} (a name {@code kill} takes) to {@code pid}. The JDK sends only SIGTERM and
   * SIGKILL; without a {@code kill} program this falls back to SIGTERM (PostgreSQL's smart
   * shutdown, which the SIGKILL that follows a timeout ends if a session holds it).
   */
  private static void signal(long pid, String signal) {
    try {
      Process kill =
          new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (kill.waitFor(5, java.util.concurrent.TimeUnit.SECONDS) && kill.exitValue() == 0) {
        return;
      }
    } catch (IOException e) {
      log.debug("no kill program ({}); sending SIGTERM instead of SIG{}", e.getMessage(), signal);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
  }
}
