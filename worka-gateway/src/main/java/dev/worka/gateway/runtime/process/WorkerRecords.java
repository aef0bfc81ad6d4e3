package dev.worka.gateway.runtime.process;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One file per running worker process ({@code <pid>.worker}: pid, the process's start time and
 * executable, run, step, attempt, work directory), written when it starts and removed when it ends,
 * so that a Gateway starting after one that died (SIGKILL, power loss) finds the workers it left
 * and kills them with everything they started, instead of leaving them running or adopting them. A
 * sandboxed worker dies with its Gateway anyway (bubblewrap's {@code --die-with-parent}); an
 * unsandboxed one leads its own session and would not. The start time (or, where the OS does not
 * report it, the executable) guards against a reused pid.
 */
final class WorkerRecords {
  private static final Logger log = LoggerFactory.getLogger(WorkerRecords.class);
  private static final String SUFFIX = ".worker";
  private static final String PENDING = ".pending";
  private static final Duration EXIT_WAIT = Duration.ofSeconds(5);

  private final Path directory;

  WorkerRecords(Path directory) {
    this.directory = directory.toAbsolutePath().normalize();
  }

  /**
   * Records a pre-started worker of the pool ({@link WorkerPool}) before its process starts: its
   * work directory, under {@code name}. A Gateway killed before {@link #startedPooled} leaves this,
   * and the next one removes the directory (the process itself is in its attempt cgroup, which the
   * next Gateway empties, and dies with its Gateway: bubblewrap's {@code --die-with-parent}).
   */
  void pending(String name, Path workDirectory) throws IOException {
    ObjectNode record = Json.STRICT.createObjectNode();
    record.put("pool_entry", name);
    record.put("work_directory", workDirectory.toString());
    Files.createDirectories(directory);
    Path tmp = directory.resolve(name + PENDING + ".tmp");
    Files.writeString(tmp, Json.write(record));
    Files.move(
        tmp,
        directory.resolve(name + PENDING),
        java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * Removes the {@link #pending} record of {@code name} (its process is recorded, or never ran).
   */
  void pendingDone(String name) {
    delete(directory.resolve(name + PENDING));
  }

  /** Records a started pre-started worker (no run or step yet), then drops its pending record. */
  void startedPooled(Process process, String name, Path workDirectory) {
    write(process, null, workDirectory);
    pendingDone(name);
  }

  void started(Process process, WorkerLaunch launch, Path workDirectory) {
    write(process, launch, workDirectory);
  }

  private void write(Process process, WorkerLaunch launch, Path workDirectory) {
    ProcessHandle.Info info = process.info();
    ObjectNode record = Json.STRICT.createObjectNode();
    record.put("pid", process.pid());
    info.startInstant().ifPresent(t -> record.put("started", t.toString()));
    info.command().ifPresent(c -> record.put("command", c));
    if (launch == null) {
      record.put("pooled", true);
    } else {
      record.put("run_id", launch.runId().toString());
      record.put("step_id", launch.stepId().toString());
      record.put("attempt", launch.attempt());
    }
    record.put("work_directory", workDirectory.toString());
    try {
      Files.createDirectories(directory);
      Path tmp = directory.resolve(process.pid() + SUFFIX + ".tmp");
      Files.writeString(tmp, Json.write(record));
      Files.move(
          tmp,
          file(process.pid()),
          java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      log.warn(
          "could not record worker pid {} in {} (if this Gateway dies, it will not be found): {}",
          process.pid(),
          directory,
          e.toString());
    }
  }

  void ended(long pid) {
    try {
      Files.deleteIfExists(file(pid));
    } catch (IOException e) {
      log.warn("could not remove the record of worker pid {}: {}", pid, e.toString());
    }
  }

  /**
   * Kills every recorded worker that is still running (and all it started), removes its work
   * directory and its record. Call only when no worker of this home can be legitimately running: at
   * start, before any step is dispatched.
   *
   * @return how many recorded workers were still running and were killed
   */
  int killLeftovers() {
    if (!Files.isDirectory(directory)) {
      return 0;
    }
    List<Path> records = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
      files.forEach(records::add);
    } catch (IOException e) {
      log.warn("could not read the worker records in {}: {}", directory, e.toString());
      return 0;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + PENDING)) {
      for (Path file : files) {
        try {
          String work = Json.parse(Files.readString(file)).path("work_directory").asText("");
          if (!work.isEmpty()) {
            deleteTree(Path.of(work));
          }
        } catch (IOException | RuntimeException e) {
          log.warn("unreadable pending worker record {} removed: {}", file, e.toString());
        }
        delete(file);
      }
    } catch (IOException e) {
      log.warn("could not read the pending worker records in {}: {}", directory, e.toString());
    }
    int killed = 0;
    for (Path file : records) {
      JsonNode record;
      try {
        record = Json.parse(Files.readString(file));
      } catch (IOException | RuntimeException e) {
        log.warn("unreadable worker record {} removed: {}", file, e.toString());
        delete(file);
        continue;
      }
      long pid = record.path("pid").asLong(-1);
      Optional<ProcessHandle> handle = ProcessHandle.of(pid).filter(h -> sameProcess(h, record));
      if (handle.isPresent() && !ProcessTree.gone(handle.get())) {
        int others = kill(handle.get());
        killed++;
        if (record.path("pooled").asBoolean(false)) {
          log.warn(
              "killed pre-started worker pid {} (and {} process(es) it started), unclaimed, left"
                  + " running by a Gateway that stopped",
              pid,
              others);
        } else {
          log.warn(
              "killed worker pid {} (and {} process(es) it started) left running by a Gateway that"
                  + " stopped: run {} step {} attempt {}",
              pid,
              others,
              record.path("run_id").asText(),
              record.path("step_id").asText(),
              record.path("attempt").asInt());
        }
      }
      String work = record.path("work_directory").asText("");
      if (!work.isEmpty()) {
        deleteTree(Path.of(work));
      }
      delete(file);
    }
    return killed;
  }

  private static boolean sameProcess(ProcessHandle handle, JsonNode record) {
    ProcessHandle.Info info = handle.info();
    if (record.hasNonNull("started") && info.startInstant().isPresent()) {
      return Instant.parse(record.get("started").asText()).equals(info.startInstant().get());
    }
    return record.hasNonNull("command")
        && info.command().map(record.get("command").asText()::equals).orElse(false);
  }

  /** Kills {@code root}, its descendants and its session's members; returns how many besides it. */
  private static int kill(ProcessHandle root) {
    List<ProcessHandle> victims = new ArrayList<>();
    for (int round = 0; round < 2; round++) {
      List<ProcessHandle> now = new ArrayList<>(root.descendants().toList());
      long self = ProcessHandle.current().pid();
      ProcessHandle.allProcesses()
          .filter(
              h ->
                  h.pid() != self
                      && h.pid() != root.pid()
                      && ProcessTree.sessionOf(h.pid()) == root.pid())
          .forEach(now::add);
      for (ProcessHandle victim : now) {
        if (victim.destroyForcibly() && victims.stream().noneMatch(v -> v.pid() == victim.pid())) {
          victims.add(victim);
        }
      }
      root.destroyForcibly();
    }
    long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
    for (ProcessHandle p : Stream.concat(Stream.of(root), victims.stream()).toList()) {
      while (!ProcessTree.gone(p) && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
      }
    }
    return victims.size();
  }

  private Path file(long pid) {
    return directory.resolve(pid + SUFFIX);
  }

  private static void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("could not remove {}: {}", file, e.toString());
    }
  }

  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(WorkerRecords::delete);
    } catch (IOException e) {
      log.warn("could not remove the work directory {}: {}", root, e.toString());
    }
  }
}
