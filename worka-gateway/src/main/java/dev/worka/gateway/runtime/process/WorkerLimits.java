package dev.worka.gateway.runtime.process;

import dev.worka.gateway.policy.Resources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What enforces each of an agent's {@code resources} on this host (issue 13 item 1), probed once
 * when the runtime is created and logged as {@code worker limits: memory=cgroup v1, ...}:
 *
 * <ul>
 *   <li>{@code memory}, {@code pids}, {@code cpu}: a cgroup per step attempt ({@link
 *       WorkerCgroups}): cgroup v2 where the Gateway's own cgroup is delegated to it and offers the
 *       controller ({@link UnifiedCgroup}), else cgroup v1 where the host mounts that controller
 *       writable (then the start line says why not v2, where a cgroup v2 is mounted); memory
 *       without swap where the kernel accounts it. Reaching {@code cpu} only throttles the worker:
 *       never a burn (the step deadline bounds its time). Without the memory controller, {@code
 *       RLIMIT_DATA} bounds each process's heap (an allocation beyond it fails; the worker's crash
 *       is not told apart from others). Without the pids or cpu controller the limit is not
 *       enforced: {@code RLIMIT_NPROC} counts every process of the Gateway's user (the Gateway's
 *       own threads included), and {@code RLIMIT_CPU} bounds total cpu time, not a rate (the step
 *       deadline bounds time already).
 *   <li>{@code open_files}: {@code RLIMIT_NOFILE}, soft and hard, set by the launcher shell. A
 *       worker past it gets {@code EMFILE}: never a burn, since its exit after that cannot be told
 *       from another crash.
 *   <li>{@code disk}: for sandboxed workers, {@code /tmp} and the work directory are tmpfs mounts
 *       of at most {@code disk} each (nothing they write reaches the host's disk), and their sum
 *       (the memory cgroup's {@code shmem}) is watched: at {@code disk} the worker is stopped. Not
 *       enforced for unsandboxed workers, nor without the memory controller.
 * </ul>
 */
final class WorkerLimits {
  /** The limits of {@code Resources}, in the manifest's order. */
  static final List<String> LIMITS = List.of("memory", "cpu", "pids", "disk", "open_files");

  static final String NOT_ENFORCED = "not enforced";

  private static final Path SH = Path.of("/bin/sh");

  /**
   * The launcher: {@code sh -c SCRIPT worka-limits <open files> <data KiB or -> <cgroup.procs
   * files...> -- <worker argv...>}. It sets the rlimits (soft and hard: the worker cannot raise
   * them), moves itself into each cgroup, and only then execs the worker, which keeps its pid.
   */
  static final String SCRIPT =
      "n=$1; d=$2; shift 2; ulimit -n \"$n\" || exit 125; if [ \"$d\" != - ]; then ulimit -d"
          + " \"$d\" || exit 125; fi; while [ \"$1\" != -- ]; do echo $$ > \"$1\" || { echo"
          + " \"worka: cannot move the worker into the cgroup $1\" >&2; exit 125; }; shift;"
          + " done; shift; exec \"$@\"";

  private final Optional<WorkerCgroups> cgroups;
  private final Map<String, String> enforcement;
  private final boolean shell;

  private WorkerLimits(
      Optional<WorkerCgroups> cgroups, Map<String, String> enforcement, boolean shell) {
    this.cgroups = cgroups;
    this.enforcement = Map.copyOf(enforcement);
    this.shell = shell;
  }

  /** Probes this host ({@code /proc}, {@code /sys/fs/cgroup}, {@code /bin/sh}). */
  static WorkerLimits probe() {
    return of(WorkerCgroups.probe(Path.of("/proc"), Path.of("")), Files.isExecutable(SH));
  }

  /** No limits at all (tests of other things, and hosts without {@code /bin/sh}). */
  static WorkerLimits none(String why) {
    Map<String, String> how = new LinkedHashMap<>();
    LIMITS.forEach(limit -> how.put(limit, NOT_ENFORCED + " (" + why + ")"));
    return new WorkerLimits(Optional.empty(), how, false);
  }

  static WorkerLimits of(WorkerCgroups.Probe probe, boolean shell) {
    if (!shell) {
      probe.cgroups().ifPresent(WorkerCgroups::close);
      return none("no /bin/sh to start workers with their limits");
    }
    java.util.Set<String> controllers =
        probe.cgroups().map(WorkerCgroups::controllers).orElse(java.util.Set.of());
    Map<String, String> how = new LinkedHashMap<>();
    List<String> memoryNotes = new ArrayList<>();
    if (controllers.contains("memory") && !probe.cgroups().get().swapAccounting()) {
      memoryNotes.add("swap not accounted here");
    }
    how.put(
        "memory",
        controllers.contains("memory")
            ? cgroup(probe, "memory", memoryNotes)
            : "rlimit RLIMIT_DATA (" + probe.absent().get("memory") + ")");
    how.put(
        "cpu",
        controllers.contains("cpu")
            ? cgroup(probe, "cpu", new ArrayList<>(List.of("cfs quota")))
            : NOT_ENFORCED + " (" + probe.absent().get("cpu") + ")");
    how.put(
        "pids",
        controllers.contains("pids")
            ? cgroup(probe, "pids", new ArrayList<>())
            : NOT_ENFORCED
                + " ("
                + probe.absent().get("pids")
                + "; RLIMIT_NPROC would count every process of the Gateway's user)");
    how.put(
        "disk",
        controllers.contains("memory")
            ? "tmpfs size (sandboxed workers: /tmp and the work directory, each at most disk;"
                + " their sum watched through the memory cgroup)"
            : NOT_ENFORCED + " (no memory cgroup to watch a worker's files)");
    how.put("open_files", "rlimit RLIMIT_NOFILE");
    return new WorkerLimits(probe.cgroups(), how, true);
  }

  /**
   * {@code cgroup v2}, or {@code cgroup v1} — with why not v2 where a cgroup v2 is mounted — and
   * {@code notes}, in parentheses.
   */
  private static String cgroup(WorkerCgroups.Probe probe, String controller, List<String> notes) {
    if (probe.cgroups().orElseThrow().onV2(controller)) {
      return "cgroup v2" + (notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")");
    }
    if (probe.notV2().containsKey(controller)) {
      notes.add("not cgroup v2: " + probe.notV2().get(controller));
    }
    return "cgroup v1" + (notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")");
  }

  /**
   * These limits for workers that are not sandboxed: their files are on the host's disk, which
   * nothing bounds.
   */
  WorkerLimits unsandboxed(String why) {
    if (!disk()) {
      return this;
    }
    Map<String, String> how = new LinkedHashMap<>(enforcement);
    how.put("disk", NOT_ENFORCED + " (" + why + ")");
    return new WorkerLimits(cgroups, how, shell);
  }

  /** Whether sandboxed workers' files are bounded ({@link SandboxLayout#boundDisk}). */
  boolean disk() {
    return !enforcement.get("disk").startsWith(NOT_ENFORCED);
  }

  /** {@code memory=cgroup v1, cpu=cgroup v1 (cfs quota), ...}: for the start-up log. */
  String describe() {
    List<String> parts = new ArrayList<>();
    LIMITS.forEach(limit -> parts.add(limit + "=" + enforcement.get(limit)));
    return String.join(", ", parts);
  }

  /** The limits nothing enforces on this host, in the manifest's order. */
  List<String> unenforced() {
    return LIMITS.stream().filter(l -> enforcement.get(l).startsWith(NOT_ENFORCED)).toList();
  }

  Optional<WorkerCgroups> cgroups() {
    return cgroups;
  }

  /**
   * The argv that starts {@code worker} with its limits: in {@code cgroup} (or none) and with the
   * rlimits of {@code resources}; {@code worker} itself when nothing can be applied here.
   */
  List<String> wrap(List<String> worker, Resources resources, AttemptCgroup cgroup) {
    if (!shell) {
      return worker;
    }
    List<String> argv = new ArrayList<>();
    argv.addAll(List.of(SH.toString(), "-c", SCRIPT, "worka-limits"));
    argv.add(Integer.toString(resources.openFiles()));
    boolean memoryByCgroup =
        cgroups.map(c -> c.controllers().contains("memory")).orElse(false) && cgroup != null;
    argv.add(memoryByCgroup ? "-" : Long.toString(resources.memoryBytes() / 1024));
    if (cgroup != null) {
      cgroup.procsFiles().forEach(file -> argv.add(file.toString()));
    }
    argv.add("--");
    argv.addAll(worker);
    return argv;
  }

  /** Removes this Gateway's cgroup directories (at shutdown). */
  void close() {
    cgroups.ifPresent(WorkerCgroups::close);
  }
}
