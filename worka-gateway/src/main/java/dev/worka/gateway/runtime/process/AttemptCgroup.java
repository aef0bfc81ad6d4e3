package dev.worka.gateway.runtime.process;

import dev.worka.gateway.policy.Resources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The cgroups (one per v1 controller) of one step attempt's worker ({@link WorkerCgroups}): where
 * the launcher puts it, what tells that it hit a limit, and how everything in it is killed.
 */
final class AttemptCgroup {
  private final Map<String, Path> dirs;
  private final Resources resources;

  /** Whether the worker writes only to tmpfs mounts, whose pages its memory cgroup counts. */
  private volatile boolean diskOnTmpfs;

  AttemptCgroup(Map<String, Path> dirs, Resources resources) {
    this.dirs = new LinkedHashMap<>(dirs);
    this.resources = resources;
  }

  /** A limit the worker hit: {@code limit} as {@code AttemptOutcome.LimitReached} names it. */
  record Hit(String limit, String detail) {}

  /**
   * The worker writes only to tmpfs mounts ({@link SandboxLayout#boundDisk}): what it wrote there
   * is its memory cgroup's {@code shmem}, which {@link #hit()} then holds against its disk limit.
   */
  void watchDisk() {
    diskOnTmpfs = true;
  }

  /** The {@code cgroup.procs} files the launcher writes its pid to before it execs the worker. */
  List<Path> procsFiles() {
    List<Path> files = new ArrayList<>();
    dirs.values().forEach(dir -> files.add(dir.resolve("cgroup.procs")));
    return files;
  }

  /**
   * The limit the worker hit, if it hit one: a fork or a new thread refused at {@code pids.max}
   * ({@code pids.events} {@code max}), or a process the kernel's OOM killer ended at the memory
   * limit ({@code memory.oom_control} {@code oom_kill}), or — for a worker whose files are on tmpfs
   * — files of its disk limit's size or more ({@code memory.stat} {@code shmem}). Reaching the cpu
   * quota only slows the worker down: it is never a hit.
   */
  Optional<Hit> hit() {
    Path pids = dirs.get("pids");
    if (pids != null) {
      long refused = counter(pids.resolve("pids.events"), "max");
      if (refused > 0) {
        return Optional.of(
            new Hit(
                "pids",
                "it tried to run more than "
                    + resources.pids()
                    + " processes and threads at once ("
                    + refused
                    + " fork(s) refused)"));
      }
    }
    Path memory = dirs.get("memory");
    if (memory != null) {
      long killed = counter(memory.resolve("memory.oom_control"), "oom_kill");
      if (killed > 0) {
        return Optional.of(
            new Hit(
                "memory",
                "it used more than "
                    + Resources.bytesText(resources.memoryBytes())
                    + " of memory; the kernel's OOM killer ended "
                    + killed
                    + " of its processes"));
      }
    }
    if (memory != null && diskOnTmpfs) {
      long written = counter(memory.resolve("memory.stat"), "shmem");
      if (written >= resources.diskBytes()) {
        return Optional.of(
            new Hit(
                "disk",
                "it wrote "
                    + Resources.bytesText(written)
                    + " to its /tmp and work directory, its disk limit is "
                    + Resources.bytesText(resources.diskBytes())));
      }
    }
    return Optional.empty();
  }

  /** The value after {@code key} in a flat-keyed cgroup file ({@code key value} lines), or 0. */
  static long counter(Path file, String key) {
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length == 2 && fields[0].equals(key)) {
          return Long.parseLong(fields[1]);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // gone or unreadable: no hit seen
    }
    return 0;
  }

  /**
   * SIGKILLs every process in the worker's cgroup (whatever its parent: re-parented and
   * double-forked processes included) until none is left.
   *
   * @return how many were killed
   */
  int killAll() {
    Path any = dirs.getOrDefault("pids", dirs.values().stream().findFirst().orElse(null));
    return any == null ? 0 : WorkerCgroups.killAll(any);
  }

  /** Kills what is left and removes the cgroups. */
  void remove() {
    killAll();
    for (Path dir : dirs.values()) {
      WorkerCgroups.removeDirectory(dir);
    }
  }

  @Override
  public String toString() {
    return dirs.values().stream().findFirst().map(Path::toString).orElse("(no cgroup)");
  }
}
