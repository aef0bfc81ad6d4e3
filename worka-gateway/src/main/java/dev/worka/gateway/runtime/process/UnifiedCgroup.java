package dev.worka.gateway.runtime.process;

import dev.worka.gateway.policy.Resources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The cgroup v2 subtree that holds this Gateway's workers, where the host delegates one to it (the
 * kernel's {@code Documentation/admin-guide/cgroup-v2.rst}, "Delegation"): the Gateway's own cgroup
 * (the {@code 0::<path>} line of {@code /proc/self/cgroup}), as systemd gives a service with {@code
 * Delegate=yes} or a container runtime gives a container in its own cgroup namespace.
 *
 * <p>The layout, under the delegated cgroup {@code D}:
 *
 * <ul>
 *   <li>{@code D/gateway}: a leaf the Gateway moves itself into first. A cgroup that holds
 *       processes cannot enable controllers for its children (the "no internal processes" rule), so
 *       the Gateway leaves {@code D} as runc, crun and systemd's own delegated payloads do; only
 *       when it is the only process in {@code D} — a {@code D} that also holds other processes (an
 *       embedded PostgreSQL started before it, a shell) is not taken from them, and v2 is not used.
 *   <li>{@code D/cgroup.subtree_control} {@code +memory +pids +cpu} (those {@code D} offers), and
 *       the same in {@code D/worka} and {@code D/worka/<pid>-<start>-<n>} (this Gateway's, named as
 *       in {@link WorkerCgroups}).
 *   <li>{@code D/worka/<pid>-<start>-<n>/<step id>-<attempt>}: one leaf per step attempt, with
 *       {@code memory.max} and {@code memory.swap.max 0} (where swap is accounted), {@code
 *       pids.max}, {@code cpu.max "<quota> 100000"}. The launcher shell writes its own pid to its
 *       {@code cgroup.procs} before it execs the worker (or the sandbox); {@code memory.events}
 *       {@code oom_kill} and {@code pids.events} {@code max} tell a limit it hit; {@code
 *       cgroup.kill} kills all in it (Linux 5.14; before, each pid of {@code cgroup.procs}); rmdir
 *       removes it.
 * </ul>
 *
 * <p>Found by {@link #probe}, which refuses a tree it cannot use and says why, per controller: no
 * cgroup2 mount, no {@code 0::} line, a controller {@code D} does not offer ({@code
 * cgroup.controllers}), a {@code D} this user cannot write ({@code cgroup.procs}, {@code
 * cgroup.subtree_control}: not delegated), other processes in {@code D}, a write the kernel
 * refuses. It changes nothing (moves no process) unless {@code D} offers at least one of the
 * controllers and is writable.
 *
 * <p>Verified here only against a directory laid out like a cgroup2 mount: the machine this was
 * built on mounts cgroup v1 controllers and a cgroup2 tree offering only {@code hugetlb}.
 */
final class UnifiedCgroup {
  /** The leaf the Gateway moves itself into, out of the delegated cgroup. */
  static final String GATEWAY_LEAF = "gateway";

  /** The outcome of {@link #probe}: the subtree, and why each controller is not in it. */
  record Probe(Optional<UnifiedCgroup> tree, Map<String, String> absent) {}

  private final Path parent;
  private final Path mine;
  private final Set<String> controllers;
  private final boolean swapAccounting;

  private UnifiedCgroup(Path parent, Path mine, Set<String> controllers, boolean swap) {
    this.parent = parent;
    this.mine = mine;
    this.controllers = Set.copyOf(controllers);
    this.swapAccounting = swap;
  }

  /**
   * Finds the cgroup2 mount in {@code mountinfo} and the Gateway's cgroup in {@code membership},
   * and prepares the subtree of {@link WorkerCgroups#CONTROLLERS} that cgroup offers.
   *
   * @param sysRoot prefix of mount points (empty path for the real host; tests pass a directory)
   * @param key this Gateway's directory name, {@code <pid>-<start>-<n>}
   */
  static Probe probe(List<String> mountinfo, List<String> membership, Path sysRoot, String key) {
    Map<String, String> absent = new LinkedHashMap<>();
    Optional<String[]> mount = mount(mountinfo);
    Optional<String> own =
        membership.stream().filter(l -> l.startsWith("0::")).map(l -> l.substring(3)).findFirst();
    String why = null;
    Path delegated = null;
    if (mount.isEmpty()) {
      why = "no cgroup v2 hierarchy is mounted";
    } else if ("ro".equals(mount.get()[2])) {
      why = "the cgroup v2 hierarchy at " + mount.get()[0] + " is mounted read-only";
    } else if (own.isEmpty()) {
      why = "this process is in no cgroup v2 cgroup (no 0:: line in /proc/self/cgroup)";
    } else {
      String relative = own.get();
      String mountRoot = mount.get()[1];
      if (!mountRoot.equals("/")) {
        if (!(relative + "/").startsWith(mountRoot + "/")) {
          why = "this process's cgroup v2 cgroup is outside the mount";
        } else {
          relative = relative.substring(mountRoot.length());
        }
      }
      if (why == null) {
        delegated =
            WorkerCgroups.at(sysRoot, mount.get()[0]).resolve(WorkerCgroups.strip(relative));
      }
    }
    if (why != null) {
      return none(why, absent);
    }
    if (delegated.getFileName() != null
        && delegated.getFileName().toString().equals(GATEWAY_LEAF)
        && Files.isDirectory(delegated.resolveSibling(WorkerCgroups.PARENT))) {
      // Already moved by an earlier runtime of this JVM (tests start several Gateways in one).
      delegated = delegated.getParent();
    }
    Set<String> offered = new LinkedHashSet<>();
    try {
      String text =
          Files.readString(delegated.resolve("cgroup.controllers"), StandardCharsets.US_ASCII);
      List.of(text.trim().split("\\s+")).stream().filter(c -> !c.isEmpty()).forEach(offered::add);
    } catch (java.nio.file.NoSuchFileException e) {
      return none(
          delegated + " is not a cgroup v2 directory (it has no cgroup.controllers)", absent);
    } catch (IOException | RuntimeException e) {
      return none("cannot read " + delegated.resolve("cgroup.controllers") + ": " + e, absent);
    }
    Set<String> usable = new LinkedHashSet<>();
    for (String controller : WorkerCgroups.CONTROLLERS) {
      if (offered.contains(controller)) {
        usable.add(controller);
      } else {
        absent.put(
            controller,
            "the Gateway's cgroup v2 "
                + delegated
                + " does not offer the "
                + controller
                + " controller ("
                + (offered.isEmpty()
                    ? "its cgroup.controllers is empty"
                    : "its cgroup.controllers: " + String.join(" ", offered))
                + ")");
      }
    }
    if (usable.isEmpty()) {
      return new Probe(Optional.empty(), absent);
    }
    String refusal = prepare(delegated, usable, key);
    if (refusal != null) {
      usable.forEach(c -> absent.put(c, refusal));
      return new Probe(Optional.empty(), absent);
    }
    Path parent = delegated.resolve(WorkerCgroups.PARENT);
    boolean swap =
        usable.contains("memory")
            && (Files.exists(delegated.resolve("memory.swap.max"))
                || Files.exists(parent.resolve("memory.swap.max")));
    return new Probe(
        Optional.of(new UnifiedCgroup(parent, parent.resolve(key), usable, swap)), absent);
  }

  private static Probe none(String why, Map<String, String> absent) {
    WorkerCgroups.CONTROLLERS.forEach(c -> absent.put(c, why));
    return new Probe(Optional.empty(), absent);
  }

  /**
   * Checks that {@code delegated} is this user's, moves the Gateway out of it into {@link
   * #GATEWAY_LEAF} (when it is the only process there), enables {@code controllers} in it, in
   * {@code worka/} and in {@code worka/<key>}; null when done, else why not.
   */
  private static String prepare(Path delegated, Set<String> controllers, String key) {
    for (String file : List.of("cgroup.procs", "cgroup.subtree_control")) {
      if (!Files.isWritable(delegated) || !Files.isWritable(delegated.resolve(file))) {
        return "the Gateway's cgroup v2 "
            + delegated
            + " is not delegated to this user ("
            + (Files.isWritable(delegated) ? file : "the directory")
            + " is not writable): run the Gateway with a cgroup of its own, e.g. as a systemd"
            + " service with Delegate=yes";
      }
    }
    long self = ProcessHandle.current().pid();
    List<Long> inside = WorkerCgroups.members(delegated);
    if (!inside.isEmpty() && !inside.equals(List.of(self))) {
      List<Long> others = inside.stream().filter(p -> p != self).toList();
      return "the Gateway's cgroup v2 "
          + delegated
          + " also holds other processes ("
          + (others.size() > 5 ? others.subList(0, 5) + "…" : others)
          + "), and a cgroup with processes cannot enable controllers for its children: start"
          + " the Gateway in a cgroup of its own (a systemd service with Delegate=yes)";
    }
    String enable = String.join(" ", controllers.stream().map(c -> "+" + c).toList());
    try {
      if (!inside.isEmpty()) {
        Path leaf = delegated.resolve(GATEWAY_LEAF);
        Files.createDirectories(leaf);
        write(leaf, "cgroup.procs", Long.toString(self));
      }
      Path at = delegated;
      for (String child : List.of(WorkerCgroups.PARENT, key)) {
        write(at, "cgroup.subtree_control", enable);
        at = at.resolve(child);
        Files.createDirectories(at);
      }
      write(at, "cgroup.subtree_control", enable);
    } catch (IOException | RuntimeException e) {
      return "cannot prepare the workers' cgroup v2 subtree in " + delegated + ": " + e;
    }
    return null;
  }

  /** The mount point, mount root and {@code rw}/{@code ro} of the cgroup2 mount. */
  static Optional<String[]> mount(List<String> mountinfo) {
    for (String line : mountinfo) {
      int dash = line.indexOf(" - ");
      if (dash < 0) {
        continue;
      }
      String[] before = line.substring(0, dash).split(" ");
      String[] after = line.substring(dash + 3).split(" ");
      if (before.length >= 6 && after.length >= 1 && after[0].equals("cgroup2")) {
        String access = before[5].startsWith("ro") ? "ro" : "rw";
        return Optional.of(
            new String[] {
              WorkerCgroups.unescape(before[4]), WorkerCgroups.unescape(before[3]), access
            });
      }
    }
    return Optional.empty();
  }

  Set<String> controllers() {
    return controllers;
  }

  boolean swapAccounting() {
    return swapAccounting;
  }

  /** {@code D/worka}, where leftovers of dead Gateways are looked for. */
  Path parent() {
    return parent;
  }

  /** {@code D/worka/<key>}, this Gateway's. */
  Path gatewayDirectory() {
    return mine;
  }

  /**
   * Creates the leaf of one step attempt with {@code resources}' limits for the controllers of this
   * subtree; removed again (with {@code rmdir}) when a limit cannot be set.
   */
  Path create(String name, Resources resources, WorkerCgroups.Rmdir rmdir) throws IOException {
    Path dir = mine.resolve(name);
    Files.createDirectory(dir);
    try {
      if (controllers.contains("memory")) {
        write(dir, "memory.max", Long.toString(resources.memoryBytes()));
        if (swapAccounting) {
          write(dir, "memory.swap.max", "0");
        }
      }
      if (controllers.contains("pids")) {
        write(dir, "pids.max", Integer.toString(resources.pids()));
      }
      if (controllers.contains("cpu")) {
        write(
            dir,
            "cpu.max",
            resources.cpuMillis() * WorkerCgroups.CFS_PERIOD_US / 1000
                + " "
                + WorkerCgroups.CFS_PERIOD_US);
      }
    } catch (IOException | RuntimeException e) {
      WorkerCgroups.removeDirectory(dir, rmdir);
      throw e instanceof IOException io ? io : new IOException(e);
    }
    return dir;
  }

  private static void write(Path dir, String file, String value) throws IOException {
    Files.writeString(dir.resolve(file), value, StandardCharsets.US_ASCII);
  }

  @Override
  public String toString() {
    return "UnifiedCgroup[" + mine + " " + controllers + "]";
  }
}
