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
 * The cgroups of one step attempt's worker ({@link WorkerCgroups}): its cgroup v2 leaf for the
 * controllers of the delegated subtree ({@link UnifiedCgroup}), one v1 cgroup per other controller;
 * where the launcher puts it, what tells that it hit a limit, and how everything in it is killed.
 */
final class AttemptCgroup {
  /** Per v1 controller, its cgroup. */
  private final Map<String, Path> dirs;

  /** The cgroup v2 leaf, for {@link #onV2}'s controllers. */
  private final Optional<Path> v2;

  private final java.util.Set<String> onV2;
  private final Resources resources;
  private final WorkerCgroups.Rmdir rmdir;

  /** Whether the worker writes only to tmpfs mounts, whose pages its memory cgroup counts. */
  private volatile boolean diskOnTmpfs;

  AttemptCgroup(
      Map<String, Path> dirs,
      Optional<Path> v2,
      java.util.Set<String> onV2,
      Resources resources,
      WorkerCgroups.Rmdir rmdir) {
    this.dirs = new LinkedHashMap<>(dirs);
    this.v2 = v2;
    this.onV2 = v2.isPresent() ? java.util.Set.copyOf(onV2) : java.util.Set.of();
    this.resources = resources;
    this.rmdir = rmdir;
  }

  /** The directory whose files hold {@code controller}'s limit and counters, or null. */
  private Path dir(String controller) {
    return onV2.contains(controller) ? v2.get() : dirs.get(controller);
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
    v2.ifPresent(dir -> files.add(dir.resolve("cgroup.procs")));
    dirs.values().forEach(dir -> files.add(dir.resolve("cgroup.procs")));
    return files;
  }

  /**
   * The limit the worker hit, if it hit one: a fork or a new thread refused at {@code pids.max}
   * ({@code pids.events} {@code max}, v1 and v2 alike), or a process the kernel's OOM killer ended
   * at the memory limit ({@code memory.oom_control} {@code oom_kill} in v1, {@code memory.events}
   * {@code oom_kill} in v2 — not its {@code max}, which counts reclaim at the limit, a worker that
   * keeps running under it), or — for a worker whose files are on tmpfs — files of its disk limit's
   * size or more ({@code memory.stat} {@code shmem}). Reaching the cpu quota only slows the worker
   * down: it is never a hit.
   */
  Optional<Hit> hit() {
    Path pids = dir("pids");
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
    Path memory = dir("memory");
    if (memory != null) {
      long killed =
          counter(
              memory.resolve(onV2.contains("memory") ? "memory.events" : "memory.oom_control"),
              "oom_kill");
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
    Path any =
        v2.orElseGet(
            () -> dirs.getOrDefault("pids", dirs.values().stream().findFirst().orElse(null)));
    return any == null ? 0 : WorkerCgroups.killAll(any);
  }

  /** Kills what is left and removes the cgroups. */
  void remove() {
    killAll();
    v2.ifPresent(dir -> WorkerCgroups.removeDirectory(dir, rmdir));
    for (Path dir : dirs.values()) {
      WorkerCgroups.removeDirectory(dir, rmdir);
    }
  }

  @Override
  public String toString() {
    return v2.or(() -> dirs.values().stream().findFirst())
        .map(Path::toString)
        .orElse("(no cgroup)");
  }
}
