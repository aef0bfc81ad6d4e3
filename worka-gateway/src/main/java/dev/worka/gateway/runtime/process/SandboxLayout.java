package dev.worka.gateway.runtime.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The file system a sandboxed worker sees, as bubblewrap mount arguments. The root is an empty
 * tmpfs, made read-only once everything is mounted; on it:
 *
 * <ul>
 *   <li>read-only: {@code /usr}, {@code /opt} and the {@code /bin}, {@code /sbin}, {@code /lib*}
 *       directories (or their merged-{@code /usr} symlinks), and from {@code /etc} only what
 *       programs need to run ({@link #ETC}: users, name resolution, the dynamic linker, time zone,
 *       CA certificates, alternatives, {@code java*}) — not the rest, which may hold the host's
 *       secrets;
 *   <li>a fresh {@code /proc} (of the worker's own PID namespace), a minimal {@code /dev}, an empty
 *       tmpfs {@code /tmp};
 *   <li>read-only, each at its own path: the installation directory, the installation prefix of an
 *       absolute {@code command[0]} (its directory, or the parent of a {@code bin} directory that
 *       has a {@code lib} beside it, like a JDK's), and every absolute path in the arguments that
 *       exists (also inside {@code :}/{@code =}-separated values such as a class path; a file is
 *       bound alone, not its directory) — each also at its real path when it is reached through a
 *       symlink;
 *   <li>read-write: the attempt's own work directory, nothing else of the host.
 * </ul>
 *
 * <p>Hidden paths (WORKA_HOME) that would be visible through one of these binds are covered: a
 * directory by an empty read-only tmpfs, a file by {@code /dev/null}; so is the work directories'
 * parent when the installation directory contains it. Argument paths inside a hidden path, {@code
 * /}, {@code /proc}, {@code /sys}, the work directories' parent (or anything above it) and other
 * attempts' work directories are never bound; {@link #refusals()} says which were left out and why.
 *
 * <p>No home directory, nor a parent of one ({@link HomeDirectories}: {@code /root}, {@code /home},
 * {@code /home/alice}, …), is ever bound, whatever names it: an argument naming one is refused (a
 * path inside one, say a jar under {@code ~/.m2}, is bound alone); an absolute command whose
 * installation prefix or directory is one brings only the narrower of the two that is not, or the
 * program file alone; a home under a system directory ({@code /opt/alice}) is covered like a hidden
 * path. {@code ProcessRuntime} refuses an installation directory that is one. Mounts are emitted
 * parents first, so a mount always lands on a tmpfs or an existing directory, never on a missing
 * mount point in a read-only bind.
 */
final class SandboxLayout {
  static final List<Path> SYSTEM =
      Stream.of("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt")
          .map(Path::of)
          .toList();
  static final List<String> ETC =
      List.of(
          "passwd",
          "group",
          "nsswitch.conf",
          "hosts",
          "host.conf",
          "resolv.conf",
          "gai.conf",
          "ld.so.cache",
          "ld.so.conf",
          "ld.so.conf.d",
          "localtime",
          "timezone",
          "ssl",
          "ca-certificates",
          "ca-certificates.conf",
          "pki",
          "crypto-policies",
          "alternatives",
          "mime.types",
          "os-release",
          "debian_version",
          "locale.alias");
  static final String WORK_DIRECTORY_PREFIX = "worka-step-";

  private static final Path ROOT = Path.of("/");
  private static final Path ETC_DIR = Path.of("/etc");
  private static final Path DEV = Path.of("/dev");
  private static final Path TMP = Path.of("/tmp");
  private static final List<Path> NEVER = List.of(Path.of("/proc"), Path.of("/sys"));

  /**
   * One mount: where it lands, its bwrap arguments, whether it makes a host tree visible, and
   * whether its target is made read-only once every mount (including those inside it) is done.
   */
  private record Mount(Path target, List<String> arguments, boolean exposes, boolean remount) {
    Mount(Path target, List<String> arguments, boolean exposes) {
      this(target, arguments, exposes, false);
    }
  }

  private final List<Mount> mounts = new ArrayList<>();
  private final List<Path> symlinked = new ArrayList<>();
  private final List<String> refusals = new ArrayList<>();
  private final Set<Path> hidden = new LinkedHashSet<>();
  private HomeDirectories homes = HomeDirectories.of(List.of());
  private Path workRoot;

  private SandboxLayout() {}

  /** The system part alone: what every worker gets, and what the trial sandbox checks. */
  static SandboxLayout system() {
    SandboxLayout layout = new SandboxLayout();
    for (Path dir : SYSTEM) {
      if (Files.isSymbolicLink(dir)) {
        try {
          layout.mounts.add(
              new Mount(
                  dir,
                  List.of("--symlink", Files.readSymbolicLink(dir).toString(), dir.toString()),
                  false));
          layout.symlinked.add(dir);
        } catch (IOException e) {
          // unreadable link: leave it out
        }
      } else if (Files.isDirectory(dir)) {
        layout.readOnly(dir, dir);
      }
    }
    for (String name : etcEntries()) {
      Path entry = ETC_DIR.resolve(name);
      if (Files.exists(entry)) {
        layout.readOnly(entry, entry);
      }
    }
    layout.mounts.add(new Mount(Path.of("/proc"), List.of("--proc", "/proc"), false));
    layout.mounts.add(new Mount(DEV, List.of("--dev", "/dev"), false));
    layout.mounts.add(new Mount(TMP, List.of("--tmpfs", "/tmp"), false));
    return layout;
  }

  /** The layout of one attempt with no further read-only paths. */
  static SandboxLayout of(
      Path installDir,
      Path program,
      boolean absoluteCommand,
      List<String> arguments,
      Path workDirectory,
      Collection<Path> hiddenPaths) {
    return of(
        installDir, program, absoluteCommand, arguments, workDirectory, hiddenPaths, List.of());
  }

  /**
   * The layout of one attempt.
   *
   * @param installDir the installation (bound read-only even inside a hidden path)
   * @param program the resolved {@code command[0]}
   * @param absoluteCommand whether {@code command[0]} was absolute (then its prefix is bound)
   * @param arguments {@code command[1..]}
   * @param workDirectory the attempt's own directory (bound read-write)
   * @param hiddenPaths paths the worker must not see
   * @param alsoReadOnly further paths workers need read-only (the Gateway's own JDK, which {@code
   *     bin/worka-agent} uses), unless hidden
   */
  static SandboxLayout of(
      Path installDir,
      Path program,
      boolean absoluteCommand,
      List<String> arguments,
      Path workDirectory,
      Collection<Path> hiddenPaths,
      Collection<Path> alsoReadOnly) {
    return of(
        installDir,
        program,
        absoluteCommand,
        arguments,
        workDirectory,
        hiddenPaths,
        alsoReadOnly,
        HomeDirectories.detected());
  }

  /** As above, with the host's home directories given (tests). */
  static SandboxLayout of(
      Path installDir,
      Path program,
      boolean absoluteCommand,
      List<String> arguments,
      Path workDirectory,
      Collection<Path> hiddenPaths,
      Collection<Path> alsoReadOnly,
      HomeDirectories homes) {
    SandboxLayout layout = system();
    layout.homes = homes;
    layout.workRoot = normalize(workDirectory).getParent();
    for (Path path : hiddenPaths) {
      Path given = normalize(path);
      layout.hidden.add(given);
      layout.hidden.add(real(given));
    }
    // A home inside a system directory the sandbox shows (/opt/alice) is covered like a hidden
    // path.
    for (Path home : homes.paths()) {
      if (SYSTEM.stream().anyMatch(home::startsWith)) {
        layout.hidden.add(home);
        layout.hidden.add(real(home));
      }
    }
    layout.add(installDir, true);
    alsoReadOnly.forEach(p -> layout.add(p, false));
    if (absoluteCommand) {
      layout.addProgram(normalize(program));
      layout.addProgram(real(normalize(program)));
    }
    for (String argument : arguments) {
      for (String token : argument.split("[:=]")) {
        pathIn(token).ifPresent(p -> layout.add(p, false));
      }
    }
    layout.hide();
    Path work = normalize(workDirectory);
    layout.mounts.add(new Mount(work, List.of("--bind", work.toString(), work.toString()), false));
    return layout;
  }

  /**
   * Bounds what the worker can write: {@code /tmp} and its work directory become tmpfs mounts of at
   * most {@code bytes} each (bubblewrap's {@code --size}), the work directory holding only the
   * token file, bound read-only from the host's work directory. Nothing the worker writes reaches
   * the host's disk. {@code tokenFile} null: a pre-started worker, whose token comes on its
   * standard input; its work directory is then {@code workDirectory}, empty.
   */
  void boundDisk(long bytes, Path tokenFile) {
    boundDisk(bytes, tokenFile, null);
  }

  void boundDisk(long bytes, Path tokenFile, Path workDirectory) {
    String size = Long.toString(bytes);
    Path token = tokenFile == null ? null : normalize(tokenFile);
    Path work = token != null ? token.getParent() : normalize(workDirectory);
    for (int i = 0; i < mounts.size(); i++) {
      Mount mount = mounts.get(i);
      if (mount.target().equals(TMP) || mount.target().equals(work)) {
        String target = mount.target().toString();
        mounts.set(i, new Mount(mount.target(), List.of("--size", size, "--tmpfs", target), false));
      }
    }
    if (token != null) {
      mounts.add(new Mount(token, List.of("--ro-bind", token.toString(), token.toString()), false));
    }
  }

  /** Makes the Unix socket {@code socket} visible at its own path (to connect to; read-only). */
  void bindSocket(Path socket) {
    Path s = normalize(socket);
    mounts.add(new Mount(s, List.of("--ro-bind", s.toString(), s.toString()), false));
  }

  /**
   * The bwrap arguments: every mount, parents before children; then the masks and the root made
   * read-only (only after everything inside them is mounted: a mount point cannot be created on a
   * read-only file system).
   */
  List<String> arguments() {
    List<Mount> ordered =
        mounts.stream().sorted(Comparator.comparingInt(m -> m.target().getNameCount())).toList();
    List<String> out = new ArrayList<>();
    ordered.forEach(m -> out.addAll(m.arguments()));
    ordered.stream()
        .filter(Mount::remount)
        .forEach(m -> out.addAll(List.of("--remount-ro", m.target().toString())));
    out.addAll(List.of("--remount-ro", "/"));
    return out;
  }

  /** Argument paths that were not bound, each with the reason. */
  List<String> refusals() {
    return List.copyOf(refusals);
  }

  private static List<String> etcEntries() {
    List<String> names = new ArrayList<>(ETC);
    try (Stream<Path> entries = Files.list(ETC_DIR)) {
      entries
          .map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("java"))
          .sorted()
          .forEach(names::add);
    } catch (IOException | RuntimeException e) {
      // no /etc listing: the fixed entries are all there is
    }
    return names;
  }

  /** An absolute path named by {@code token} that exists ({@code dir/*} names {@code dir}). */
  private static Optional<Path> pathIn(String token) {
    String text = token.endsWith("/*") ? token.substring(0, token.length() - 2) : token;
    if (!text.startsWith("/")) {
      return Optional.empty();
    }
    try {
      Path path = normalize(Path.of(text));
      return Files.exists(path) ? Optional.of(path) : Optional.empty();
    } catch (InvalidPathException e) {
      return Optional.empty();
    }
  }

  /**
   * Binds what an absolute command needs: its installation prefix, unless that is a home directory
   * or a parent of one, in which case the program's directory, or (that too) the program file
   * alone; the narrowing is among the {@link #refusals()}.
   */
  private void addProgram(Path program) {
    Path prefix = prefixOf(program);
    List<Path> narrower = new ArrayList<>(List.of(prefix));
    if (program.getParent() != null && !program.getParent().equals(prefix)) {
      narrower.add(program.getParent());
    }
    narrower.add(program);
    for (Path candidate : narrower) {
      Optional<Path> home = homes.heldBy(candidate);
      if (home.isEmpty()) {
        if (!candidate.equals(prefix)) {
          refusals.add(
              prefix + " (" + homeReason(home(prefix)) + "; only " + candidate + " is bound)");
        }
        add(candidate, false);
        return;
      }
    }
    refusals.add(program + " (" + homeReason(home(program)) + ")");
  }

  private Path home(Path path) {
    return homes.heldBy(path).orElse(path);
  }

  private static String homeReason(Path home) {
    return "a home directory or a parent of one (" + home + ")";
  }

  /**
   * A program's installation: the parent of its {@code bin} directory when that looks like an
   * installation prefix (it has a {@code lib} directory, as a JDK does), else the program's
   * directory.
   */
  private static Path prefixOf(Path program) {
    Path dir = program.getParent();
    if (dir == null) {
      return ROOT;
    }
    Path fileName = dir.getFileName();
    Path parent = dir.getParent();
    if (fileName != null
        && fileName.toString().equals("bin")
        && parent != null
        && !parent.equals(ROOT)
        && Files.isDirectory(parent.resolve("lib"))) {
      return parent;
    }
    return dir;
  }

  /** Binds {@code path} (and its real path, if it differs) read-only unless already visible. */
  private void add(Path path, boolean trusted) {
    Path given = normalize(path);
    Path real = real(given);
    for (Path form : given.equals(real) ? List.of(given) : List.of(given, real)) {
      String why = refusal(form, trusted);
      if (why != null) {
        refusals.add(path + " (" + why + ")");
        return;
      }
    }
    if (real.startsWith(DEV)) {
      return; // the minimal /dev is all a worker gets
    }
    boolean insideHidden = hiddenContaining(real) || hiddenContaining(given);
    if (insideHidden || !visible(real)) {
      readOnly(real, real);
    }
    if (!given.equals(real) && (insideHidden || !visible(insideView(given)))) {
      readOnly(real, given);
    }
  }

  /** Why {@code path} must not be bound, or null. */
  private String refusal(Path path, boolean trusted) {
    if (path.equals(ROOT)) {
      return "the whole file system";
    }
    for (Path never : NEVER) {
      if (path.startsWith(never)) {
        return "under " + never;
      }
    }
    Optional<Path> home = homes.heldBy(path);
    if (home.isPresent()) {
      return homeReason(home.get());
    }
    if (workRoot != null) {
      if (!trusted && workRoot.startsWith(path)) {
        return "holds the work directories of all attempts";
      }
      if (path.startsWith(workRoot)
          && !path.equals(workRoot)
          && workRoot.relativize(path).getName(0).toString().startsWith(WORK_DIRECTORY_PREFIX)) {
        return "inside the work directory of an attempt";
      }
    }
    if (!trusted && hiddenContaining(path)) {
      return "inside a hidden path";
    }
    return null;
  }

  private boolean hiddenContaining(Path path) {
    return hidden.stream().anyMatch(path::startsWith);
  }

  /**
   * Covers each hidden path that some read-only bind makes visible, and the work directories'
   * parent if the installation contains it (the attempt's own directory is bound on top).
   */
  private void hide() {
    Set<Path> covered = new LinkedHashSet<>(hidden);
    if (workRoot != null) {
      covered.add(workRoot);
    }
    for (Path path : covered) {
      // A symlink is hidden through its real path, which is in the set too.
      if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)
          || Files.isSymbolicLink(path)
          || !exposedByBind(path)) {
        continue;
      }
      String target = path.toString();
      if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
        mounts.add(new Mount(path, List.of("--tmpfs", target), false, true));
      } else {
        mounts.add(new Mount(path, List.of("--ro-bind", "/dev/null", target), false));
      }
    }
  }

  /**
   * Whether a read-only bind shows {@code path}: it lies under the bind's target, and no other
   * hidden path between the two covers it already.
   */
  private boolean exposedByBind(Path path) {
    return mounts.stream()
        .filter(Mount::exposes)
        .map(Mount::target)
        .anyMatch(
            target ->
                path.startsWith(target)
                    && hidden.stream()
                        .noneMatch(
                            h ->
                                !h.equals(path)
                                    && path.startsWith(h)
                                    && h.startsWith(target)
                                    && Files.isDirectory(h, LinkOption.NOFOLLOW_LINKS)));
  }

  /** Whether {@code path} is already inside a read-only bind. */
  private boolean visible(Path path) {
    return exposedByBind(path);
  }

  /** {@code path} as the worker resolves it through the merged-/usr symlinks ({@code /bin} …). */
  private Path insideView(Path path) {
    for (Path link : symlinked) {
      if (path.startsWith(link)) {
        try {
          Path target = link.resolveSibling(Files.readSymbolicLink(link)).normalize();
          return target.resolve(link.relativize(path));
        } catch (IOException e) {
          return path;
        }
      }
    }
    return path;
  }

  private void readOnly(Path source, Path target) {
    mounts.add(new Mount(target, List.of("--ro-bind", source.toString(), target.toString()), true));
  }

  private static Path normalize(Path path) {
    return path.toAbsolutePath().normalize();
  }

  private static Path real(Path path) {
    try {
      return path.toRealPath();
    } catch (IOException | RuntimeException e) {
      return path;
    }
  }
}
