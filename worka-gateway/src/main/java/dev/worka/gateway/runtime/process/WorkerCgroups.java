package dev.worka.gateway.runtime.process;

import dev.worka.gateway.policy.Resources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cgroup v1 hierarchies that hold this Gateway's workers: per controller ({@code memory},
 * {@code pids}, {@code cpu}) a directory {@code <the Gateway's own cgroup>/worka/<pid>-<start>}
 * (the Gateway's pid and its start time in clock ticks, so that Gateways sharing a cgroup never
 * mistake each other's workers for leftovers), and under it one cgroup per step attempt, {@code
 * <step id>-<attempt>}. The worker is placed in its cgroup before it runs anything (the launcher
 * shell writes its own pid to each {@code cgroup.procs} and then execs the worker), so everything
 * it starts is counted and limited.
 *
 * <p>Found by {@link #probe}: a controller the Gateway's delegated cgroup v2 offers is used there
 * ({@link UnifiedCgroup}, preferred); for the others, a v1 hierarchy counts only where it is
 * mounted read-write and the Gateway can create a cgroup in it. An attempt's cgroup may so be v2
 * for some controllers and v1 for others (a hybrid host); the launcher joins each.
 */
final class WorkerCgroups {
  private static final Logger log = LoggerFactory.getLogger(WorkerCgroups.class);

  /** The controllers used, in the order their {@code cgroup.procs} are written. */
  static final List<String> CONTROLLERS = List.of("memory", "pids", "cpu");

  /** The directory under the Gateway's own cgroup that holds the Gateways' worker cgroups. */
  static final String PARENT = "worka";

  /** The CFS period the cpu limit is a quota of: 100 ms, the kernel's default. */
  static final long CFS_PERIOD_US = 100_000;

  private static final Duration EXIT_WAIT = Duration.ofSeconds(5);
  private static final Pattern OWNER = Pattern.compile("([0-9]+)-([0-9]+)-[0-9]+");

  /** Tells apart the runtimes of one JVM (tests start several Gateways in one). */
  private static final java.util.concurrent.atomic.AtomicInteger INSTANCES =
      new java.util.concurrent.atomic.AtomicInteger();

  /** Per controller: {@code <mount>/<own cgroup>/worka}. */
  private final Map<String, Path> parents;

  /** Per controller: {@code <parent>/<pid>-<start>}, this Gateway's. */
  private final Map<String, Path> mine;

  /** Whether {@code memory.memsw.limit_in_bytes} exists: swap can be limited (turned off). */
  private final boolean swapAccounting;

  /** The cgroup v2 subtree, for the controllers it offers (not in {@link #mine}). */
  private final Optional<UnifiedCgroup> unified;

  /** How a cgroup directory is removed: the kernel's rmdir; tests of a fake tree delete files. */
  private final Rmdir rmdir;

  /**
   * Removes an (empty) cgroup directory. The kernel removes a cgroup's interface files with it; a
   * directory laid out like a cgroup mount for tests needs them deleted first.
   */
  @FunctionalInterface
  interface Rmdir {
    void rmdir(Path dir) throws IOException;

    /** A real cgroup mount's. */
    Rmdir KERNEL = Files::deleteIfExists;
  }

  private WorkerCgroups(
      Map<String, Path> parents,
      Map<String, Path> mine,
      boolean swap,
      Optional<UnifiedCgroup> unified,
      Rmdir rmdir) {
    this.parents = Map.copyOf(parents);
    this.mine = Map.copyOf(mine);
    this.swapAccounting = swap;
    this.unified = unified;
    this.rmdir = rmdir;
  }

  /**
   * The outcome of {@link #probe}: the cgroups, why each controller is or is not there, and — for a
   * controller v1 has where a cgroup v2 is mounted — why v2 was not used for it.
   */
  record Probe(
      Optional<WorkerCgroups> cgroups, Map<String, String> absent, Map<String, String> notV2) {}

  /**
   * Finds, from {@code proc}'s {@code self/mountinfo} and {@code self/cgroup}, the cgroup v1
   * hierarchies of {@link #CONTROLLERS}, and creates this Gateway's directory in each that is
   * usable. A controller without a usable hierarchy is in {@link Probe#absent()} with the reason.
   *
   * @param proc {@code /proc} (tests pass a copy)
   * @param sysRoot prefix of mount points (empty path for the real host; tests pass a directory)
   */
  static Probe probe(Path proc, Path sysRoot) {
    return probe(proc, sysRoot, true, Rmdir.KERNEL);
  }

  /**
   * {@link #probe(Path, Path)}, looking for a delegated cgroup v2 first ({@link UnifiedCgroup})
   * only when {@code v2}; {@code rmdir} removes cgroup directories.
   */
  static Probe probe(Path proc, Path sysRoot, boolean v2, Rmdir rmdir) {
    Map<String, String> absent = new LinkedHashMap<>();
    Map<String, String> notV2 = new LinkedHashMap<>();
    Map<String, Path> parents = new LinkedHashMap<>();
    Map<String, Path> mine = new LinkedHashMap<>();
    List<String> mountinfo;
    List<String> membership;
    try {
      mountinfo = Files.readAllLines(proc.resolve("self/mountinfo"), StandardCharsets.UTF_8);
      membership = Files.readAllLines(proc.resolve("self/cgroup"), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      for (String controller : CONTROLLERS) {
        absent.put(controller, "cannot read " + proc + "/self/mountinfo or cgroup: " + e);
      }
      return new Probe(Optional.empty(), absent, notV2);
    }
    String self = ownKey(proc);
    Optional<UnifiedCgroup> unified = Optional.empty();
    if (v2 && hasV2(mountinfo)) {
      UnifiedCgroup.Probe found = UnifiedCgroup.probe(mountinfo, membership, sysRoot, self);
      unified = found.tree();
      notV2.putAll(found.absent());
    }
    java.util.Set<String> onV2 = unified.map(UnifiedCgroup::controllers).orElse(java.util.Set.of());
    for (String controller : CONTROLLERS) {
      if (onV2.contains(controller)) {
        continue;
      }
      Optional<String[]> mount = v1Mount(mountinfo, controller);
      if (mount.isEmpty()) {
        absent.put(
            controller,
            "no cgroup v1 hierarchy with the "
                + controller
                + " controller"
                + (notV2.containsKey(controller)
                    ? "; not cgroup v2: " + notV2.get(controller)
                    : ""));
        continue;
      }
      String mountPoint = mount.get()[0];
      String mountRoot = mount.get()[1];
      boolean readOnly = "ro".equals(mount.get()[2]);
      Optional<String> own = ownPath(membership, controller);
      if (readOnly || own.isEmpty()) {
        absent.put(
            controller,
            readOnly
                ? "the " + controller + " hierarchy at " + mountPoint + " is mounted read-only"
                : "this process is in no " + controller + " cgroup");
        continue;
      }
      String relative = own.get();
      if (!mountRoot.equals("/")) {
        if (!(relative + "/").startsWith(mountRoot + "/")) {
          absent.put(controller, "this process's " + controller + " cgroup is outside the mount");
          continue;
        }
        relative = relative.substring(mountRoot.length());
      }
      Path dir = at(sysRoot, mountPoint).resolve(strip(relative)).normalize();
      Path parent = dir.resolve(PARENT);
      Path gateway = parent.resolve(self);
      try {
        Files.createDirectories(gateway);
        parents.put(controller, parent);
        mine.put(controller, gateway);
      } catch (IOException | RuntimeException e) {
        absent.put(controller, "cannot create " + gateway + ": " + e);
      }
    }
    if (mine.isEmpty() && unified.isEmpty()) {
      return new Probe(Optional.empty(), absent, notV2);
    }
    boolean swap =
        onV2.contains("memory")
            ? unified.get().swapAccounting()
            : mine.containsKey("memory")
                && Files.exists(mine.get("memory").resolve("memory.memsw.limit_in_bytes"));
    return new Probe(
        Optional.of(new WorkerCgroups(parents, mine, swap, unified, rmdir)), absent, notV2);
  }

  static Path at(Path sysRoot, String absolute) {
    return sysRoot.toString().isEmpty() ? Path.of(absolute) : sysRoot.resolve(strip(absolute));
  }

  static String strip(String path) {
    String s = path;
    while (s.startsWith("/")) {
      s = s.substring(1);
    }
    return s;
  }

  /**
   * The mount point, mount root and {@code rw}/{@code ro} of the cgroup v1 hierarchy holding {@code
   * controller}, from {@code /proc/self/mountinfo} lines ({@code id parent major:minor root
   * mount-point options ... - cgroup source super-options}).
   */
  static Optional<String[]> v1Mount(List<String> mountinfo, String controller) {
    for (String line : mountinfo) {
      int dash = line.indexOf(" - ");
      if (dash < 0) {
        continue;
      }
      String[] before = line.substring(0, dash).split(" ");
      String[] after = line.substring(dash + 3).split(" ");
      if (before.length < 6 || after.length < 3 || !after[0].equals("cgroup")) {
        continue;
      }
      for (String option : after[2].split(",")) {
        if (option.equals(controller)) {
          String access = before[5].startsWith("ro") ? "ro" : "rw";
          return Optional.of(new String[] {unescape(before[4]), unescape(before[3]), access});
        }
      }
    }
    return Optional.empty();
  }

  /** Whether a cgroup v2 hierarchy is mounted ({@code - cgroup2} in mountinfo). */
  static boolean hasV2(List<String> mountinfo) {
    return mountinfo.stream().anyMatch(line -> line.contains(" - cgroup2 "));
  }

  /** mountinfo escapes space, tab, newline and backslash as octal {@code \040} etc. */
  static String unescape(String field) {
    Matcher m = Pattern.compile("\\\\([0-7]{3})").matcher(field);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(
          out, Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(1), 8))));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** This process's cgroup path in the v1 hierarchy of {@code controller}. */
  static Optional<String> ownPath(List<String> membership, String controller) {
    for (String line : membership) {
      String[] fields = line.split(":", 3);
      if (fields.length == 3 && List.of(fields[1].split(",")).contains(controller)) {
        return Optional.of(fields[2]);
      }
    }
    return Optional.empty();
  }

  /** {@code <pid>-<start time in clock ticks>-<n>}: this process, its n-th runtime. */
  private static String ownKey(Path proc) {
    long pid = ProcessHandle.current().pid();
    return pid + "-" + startTicks(proc, pid).orElse(0L) + "-" + INSTANCES.incrementAndGet();
  }

  /** Field 22 of {@code /proc/<pid>/stat}: the process's start time after boot, in clock ticks. */
  static Optional<Long> startTicks(Path proc, long pid) {
    try {
      String stat =
          Files.readString(
              proc.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.UTF_8);
      int end = stat.lastIndexOf(')');
      String[] fields = stat.substring(end + 2).split(" ");
      return Optional.of(Long.parseLong(fields[19])); // fields[0] is field 3 (state)
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The controllers this Gateway has a hierarchy for (v2 or v1). */
  java.util.Set<String> controllers() {
    java.util.Set<String> all = new java.util.LinkedHashSet<>();
    for (String controller : CONTROLLERS) {
      if (mine.containsKey(controller) || onV2(controller)) {
        all.add(controller);
      }
    }
    return all;
  }

  /** Whether {@code controller} is used through the cgroup v2 subtree. */
  boolean onV2(String controller) {
    return unified.map(u -> u.controllers().contains(controller)).orElse(false);
  }

  /** This Gateway's directory in the hierarchy of {@code controller} (tests). */
  Path gatewayDirectory(String controller) {
    return onV2(controller) ? unified.get().gatewayDirectory() : mine.get(controller);
  }

  boolean swapAccounting() {
    return swapAccounting;
  }

  /**
   * Creates the cgroup of one step attempt with {@code resources}' memory (and, where the kernel
   * accounts swap, the same bound on memory plus swap: no swap), pids and cpu limits.
   *
   * @throws IOException when a cgroup cannot be created or a limit cannot be set (the cgroups
   *     created are removed again)
   */
  AttemptCgroup create(String name, Resources resources) throws IOException {
    Map<String, Path> dirs = new LinkedHashMap<>();
    Path v2 = null;
    if (unified.isPresent()) {
      v2 = unified.get().create(name, resources, rmdir);
    }
    try {
      for (String controller : CONTROLLERS) {
        Path gateway = mine.get(controller);
        if (gateway == null) {
          continue;
        }
        Path dir = gateway.resolve(name);
        Files.createDirectory(dir);
        dirs.put(controller, dir);
        switch (controller) {
          case "memory" -> {
            write(dir, "memory.limit_in_bytes", Long.toString(resources.memoryBytes()));
            if (swapAccounting) {
              write(dir, "memory.memsw.limit_in_bytes", Long.toString(resources.memoryBytes()));
            }
          }
          case "pids" -> write(dir, "pids.max", Integer.toString(resources.pids()));
          case "cpu" -> {
            write(dir, "cpu.cfs_period_us", Long.toString(CFS_PERIOD_US));
            write(
                dir,
                "cpu.cfs_quota_us",
                Long.toString(resources.cpuMillis() * CFS_PERIOD_US / 1000));
          }
          default -> throw new IllegalStateException("no limit for controller " + controller);
        }
      }
    } catch (IOException | RuntimeException e) {
      attempt(dirs, v2, resources).remove();
      throw e instanceof IOException io ? io : new IOException(e);
    }
    return attempt(dirs, v2, resources);
  }

  private AttemptCgroup attempt(Map<String, Path> v1, Path v2, Resources resources) {
    return new AttemptCgroup(
        v1,
        Optional.ofNullable(v2),
        unified.map(UnifiedCgroup::controllers).orElse(java.util.Set.of()),
        resources,
        rmdir);
  }

  private static void write(Path dir, String file, String value) throws IOException {
    Files.writeString(dir.resolve(file), value, StandardCharsets.US_ASCII);
  }

  /**
   * Kills the workers in the cgroups that Gateways which are no longer running left under {@code
   * worka/} (a Gateway killed with SIGKILL, a power loss does not remove them) and removes those
   * cgroups.
   *
   * @return how many processes were still in them
   */
  int removeLeftovers(Path proc) {
    int killed = 0;
    List<Path> searched = new ArrayList<>(parents.values());
    unified.ifPresent(u -> searched.add(u.parent()));
    java.util.Set<Path> own = new java.util.HashSet<>(mine.values());
    unified.ifPresent(u -> own.add(u.gatewayDirectory()));
    for (Path parent : searched) {
      try (DirectoryStream<Path> owners = Files.newDirectoryStream(parent)) {
        for (Path owner : owners) {
          Matcher m = OWNER.matcher(owner.getFileName().toString());
          if (!Files.isDirectory(owner) || !m.matches() || own.contains(owner)) {
            continue;
          }
          long pid = Long.parseLong(m.group(1));
          long start = Long.parseLong(m.group(2));
          boolean alive =
              ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                  && startTicks(proc, pid).map(t -> t == start).orElse(false);
          if (alive) {
            continue;
          }
          try (DirectoryStream<Path> attempts = Files.newDirectoryStream(owner)) {
            for (Path attempt : attempts) {
              if (Files.isDirectory(attempt)) {
                killed += killAll(attempt);
                removeDirectory(attempt, rmdir);
              }
            }
          }
          removeDirectory(owner, rmdir);
        }
      } catch (IOException | RuntimeException e) {
        log.warn("could not look for leftover worker cgroups in {}: {}", parent, e);
      }
    }
    return killed;
  }

  /** Removes this Gateway's (empty) directories; at shutdown, after its workers ended. */
  void close() {
    for (Path gateway : mine.values()) {
      removeDirectory(gateway, rmdir);
    }
    unified.ifPresent(u -> removeDirectory(u.gatewayDirectory(), rmdir));
  }

  /**
   * SIGKILLs every process in the cgroup at {@code dir}: all at once through {@code cgroup.kill}
   * where there is one (cgroup v2, Linux 5.14 and later), then each in {@code cgroup.procs} until
   * it is empty (a fork racing the kill is caught by the next round), for at most 5 s.
   *
   * @return how many processes were killed (with cgroup.kill: those alive when it was written)
   */
  static int killAll(Path dir) {
    int killed = 0;
    boolean counted = false;
    Path kill = dir.resolve("cgroup.kill");
    if (Files.exists(kill)) {
      int alive = (int) members(dir).stream().filter(WorkerCgroups::alive).count();
      try {
        Files.writeString(kill, "1", StandardCharsets.US_ASCII);
        killed = alive;
        counted = true;
      } catch (IOException e) {
        log.debug("cannot write {}: {}; killing its processes one by one", kill, e.toString());
      }
    }
    long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      List<Long> pids = members(dir);
      if (pids.isEmpty()) {
        return killed;
      }
      boolean alive = false;
      for (long pid : pids) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isPresent() && !ProcessTree.gone(handle.get())) {
          alive = true;
          if (handle.get().destroyForcibly() && !counted) {
            killed++;
          }
        }
      }
      if (!alive) {
        return killed; // only zombies left, which their parents (or init) reap
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
    log.warn("processes of worker cgroup {} survived 5 s of SIGKILL: {}", dir, members(dir));
    return killed;
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(h -> !ProcessTree.gone(h)).orElse(false);
  }

  /** The pids in {@code dir}'s {@code cgroup.procs} (none if it is gone). */
  static List<Long> members(Path dir) {
    List<Long> pids = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(dir.resolve("cgroup.procs"))) {
        if (!line.isBlank()) {
          pids.add(Long.parseLong(line.trim()));
        }
      }
    } catch (IOException | NumberFormatException e) {
      // gone, or being torn down
    }
    return pids;
  }

  /**
   * Removes an empty cgroup directory (a cgroup is removed with rmdir, its control files with it);
   * retries briefly while the kernel still counts exiting tasks.
   */
  static void removeDirectory(Path dir, Rmdir rmdir) {
    long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
    while (true) {
      try {
        rmdir.rmdir(dir);
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          log.warn("could not remove the worker cgroup {}: {}", dir, e.toString());
          return;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      }
    }
  }

  @Override
  public String toString() {
    return "WorkerCgroups" + mine + unified.map(u -> " " + u).orElse("");
  }
}
