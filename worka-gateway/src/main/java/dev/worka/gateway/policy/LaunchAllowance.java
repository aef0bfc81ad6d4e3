package dev.worka.gateway.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Which launch specs (a process {@code command}, a Kubernetes {@code image}, a WASI {@code module})
 * this host lets a manifest use. The operator token may change what agents are allowed to do, but
 * what runs on the host is the host's decision: a manifest uploaded through the API is admitted
 * only if every agent's launch spec is
 *
 * <ol>
 *   <li>one of the host's own manifests' — the built-in manifest and {@code WORKA_POLICY_FILE} —
 *       compared whole: the same argv, element by element, with {@code command[0]} resolved against
 *       the installation directory and {@code ..} removed (that path is what the process runtime
 *       executes); the same image; the same module path; or
 *   <li>under a prefix of {@code WORKA_ALLOWED_LAUNCH}: a program or module whose path, and whose
 *       real path (symlinks followed), both lie under a path entry — component by component, so
 *       {@code /opt/agents-evil} is not under {@code /opt/agents} — with any arguments; an image
 *       that is an image entry or continues it at a {@code /}, {@code :} or {@code @}.
 * </ol>
 *
 * <p>Why the whole argv for the host's manifests: an allowed program with other arguments can be
 * another program ({@code java -cp /tmp/x Evil}, {@code sh -c …}, {@code bin/worka-agent}'s JVM
 * given other options), and only the manifest's author knows which arguments are harmless. A prefix
 * is the host's statement that every program under it is an agent that treats its arguments as
 * data, so it admits any arguments: a prefix must never hold a shell, an interpreter or a program
 * that runs its arguments; {@link #of} refuses the obvious ones ({@code /}, {@code /usr}, {@code
 * /bin}, {@code /tmp}, …) and any directory everyone may write to.
 *
 * <p>Pure but for reading the file system (real paths, permissions); thread-safe and immutable.
 */
public final class LaunchAllowance {
  /**
   * Directories a prefix may be neither equal to nor a parent of: they hold shells and
   * interpreters, the host's secrets, or are writable by every user.
   */
  private static final List<Path> TOO_BROAD =
      List.of(
              "/bin",
              "/sbin",
              "/usr/bin",
              "/usr/sbin",
              "/usr/local/bin",
              "/usr/local/sbin",
              "/usr/libexec",
              "/etc",
              "/tmp",
              "/var/tmp",
              "/dev",
              "/proc",
              "/sys",
              "/run",
              "/root",
              "/home")
          .stream()
          .map(Path::of)
          .toList();

  /** A path prefix: as configured (normalized) and where it really is. */
  private record PathPrefix(Path given, Path real) {
    boolean covers(Path lexical, Path realPath) {
      return (lexical.startsWith(given) || lexical.startsWith(real)) && realPath.startsWith(real);
    }
  }

  private final Path installDir;
  private final Set<List<String>> commands;
  private final Set<String> images;
  private final Set<Path> modules;
  private final List<PathPrefix> pathPrefixes;
  private final List<String> imagePrefixes;

  private LaunchAllowance(
      Path installDir,
      Set<List<String>> commands,
      Set<String> images,
      Set<Path> modules,
      List<PathPrefix> pathPrefixes,
      List<String> imagePrefixes) {
    this.installDir = installDir;
    this.commands = Set.copyOf(commands);
    this.images = Set.copyOf(images);
    this.modules = Set.copyOf(modules);
    this.pathPrefixes = List.copyOf(pathPrefixes);
    this.imagePrefixes = List.copyOf(imagePrefixes);
  }

  /**
   * The allowance of a host.
   *
   * @param installDir what relative commands and modules resolve against ({@code
   *     WORKA_INSTALL_DIR})
   * @param hostManifests the host's own manifests: the built-in one and {@code WORKA_POLICY_FILE}'s
   * @param allowedLaunch the entries of {@code WORKA_ALLOWED_LAUNCH}: absolute paths, or image
   *     prefixes (anything not starting with {@code /})
   * @throws IllegalArgumentException naming each entry that cannot be a prefix and why
   */
  public static LaunchAllowance of(
      Path installDir, Collection<CompiledPolicy> hostManifests, List<String> allowedLaunch) {
    Path install = installDir.toAbsolutePath().normalize();
    Set<List<String>> commands = new LinkedHashSet<>();
    Set<String> images = new LinkedHashSet<>();
    Set<Path> modules = new LinkedHashSet<>();
    for (CompiledPolicy manifest : hostManifests) {
      for (AgentPolicy agent : manifest.agents().values()) {
        RuntimeSpec spec = agent.runtime();
        switch (spec.kind()) {
          case PROCESS -> canonical(install, spec.command()).ifPresent(commands::add);
          case KUBERNETES -> images.add(spec.image());
          case WASM -> resolve(install, spec.module()).ifPresent(modules::add);
        }
      }
    }
    List<String> problems = new ArrayList<>();
    List<PathPrefix> paths = new ArrayList<>();
    List<String> imagePrefixes = new ArrayList<>();
    for (String entry : allowedLaunch) {
      if (!entry.startsWith("/")) {
        imagePrefixes.add(entry);
        continue;
      }
      Path given;
      Path real;
      try {
        given = Path.of(entry).normalize();
        real = given.toRealPath();
      } catch (IOException | InvalidPathException e) {
        problems.add("WORKA_ALLOWED_LAUNCH entry " + entry + " does not exist (or cannot be read)");
        continue;
      }
      Optional<Path> broad =
          TOO_BROAD.stream().filter(p -> p.startsWith(real) || p.startsWith(given)).findFirst();
      if (real.getParent() == null || broad.isPresent()) {
        problems.add(
            "WORKA_ALLOWED_LAUNCH entry "
                + entry
                + " is too broad: it is or holds "
                + broad.map(Path::toString).orElse("everything")
                + ", where shells, interpreters or anyone's files"
                + " are; name the directory that holds only your agent programs (e.g. /opt/agents)");
        continue;
      }
      Optional<String> untrusted = writableByOthers(real);
      if (untrusted.isPresent()) {
        problems.add(
            "WORKA_ALLOWED_LAUNCH entry "
                + entry
                + ": "
                + untrusted.get()
                + ", who could put a program"
                + " there; let only root or the Gateway's user write it and every directory above it");
        continue;
      }
      paths.add(new PathPrefix(given, real));
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    return new LaunchAllowance(install, commands, images, modules, paths, imagePrefixes);
  }

  /**
   * Why each agent of {@code policy} whose launch spec this host does not allow is refused, one
   * line per agent ({@code agent NAME: …}); empty when every one is allowed. Disabled agents are
   * checked too: enabling one is a manifest change of its own, but a refused spec is refused
   * wherever it appears.
   */
  public List<String> refusals(CompiledPolicy policy) {
    List<String> out = new ArrayList<>();
    for (AgentPolicy agent : policy.agents().values()) {
      refusal(agent.runtime()).ifPresent(why -> out.add("agent " + agent.name() + ": " + why));
    }
    return out;
  }

  /** Why this host does not allow {@code spec}, or empty when it does. */
  public Optional<String> refusal(RuntimeSpec spec) {
    return switch (spec.kind()) {
      case PROCESS -> commandRefusal(spec.command());
      case KUBERNETES -> imageRefusal(spec.image());
      case WASM -> moduleRefusal(spec.module());
    };
  }

  /** Why this host does not allow running {@code command} (an argv), or empty when it does. */
  public Optional<String> commandRefusal(List<String> command) {
    Optional<List<String>> canonical = canonical(installDir, command);
    if (canonical.isEmpty()) {
      return Optional.of("command " + command + " does not start with a valid path");
    }
    if (commands.contains(canonical.get())) {
      return Optional.empty();
    }
    Path program = Path.of(canonical.get().get(0));
    return pathRefusal(program)
        .map(
            why ->
                "command "
                    + command
                    + " is not a launch spec this host allows: "
                    + why
                    + "; "
                    + allowedText());
  }

  private Optional<String> imageRefusal(String image) {
    if (images.contains(image)) {
      return Optional.empty();
    }
    for (String prefix : imagePrefixes) {
      if (image.equals(prefix)
          || (image.startsWith(prefix)
              && (prefix.endsWith("/")
                  || prefix.endsWith(":")
                  || prefix.endsWith("@")
                  || "/:@".indexOf(image.charAt(prefix.length())) >= 0))) {
        return Optional.empty();
      }
    }
    return Optional.of(
        "image " + image + " is not a launch spec this host allows; " + allowedText());
  }

  private Optional<String> moduleRefusal(String module) {
    Optional<Path> path = resolve(installDir, module);
    if (path.isEmpty()) {
      return Optional.of("module " + module + " is not a valid path");
    }
    if (modules.contains(path.get())) {
      return Optional.empty();
    }
    return pathRefusal(path.get())
        .map(
            why ->
                "module "
                    + module
                    + " is not a launch spec this host allows: "
                    + why
                    + "; "
                    + allowedText());
  }

  /** Why {@code path} (resolved, {@code ..} removed) is not under a path prefix, or empty. */
  private Optional<String> pathRefusal(Path path) {
    if (pathPrefixes.isEmpty()) {
      return Optional.of(path + " is not one of the host's own");
    }
    if (pathPrefixes.stream()
        .noneMatch(p -> path.startsWith(p.given()) || path.startsWith(p.real()))) {
      return Optional.of(path + " is not under WORKA_ALLOWED_LAUNCH");
    }
    Path real;
    try {
      real = path.toRealPath();
    } catch (IOException | RuntimeException e) {
      return Optional.of(path + " does not exist");
    }
    if (!Files.isRegularFile(real)) {
      return Optional.of(path + " is not a file");
    }
    for (PathPrefix prefix : pathPrefixes) {
      if (prefix.covers(path, real)) {
        return Optional.empty();
      }
    }
    return Optional.of(
        path
            + " is really "
            + real
            + " (through a symlink), which is not under WORKA_ALLOWED_LAUNCH");
  }

  private String allowedText() {
    List<String> prefixes = new ArrayList<>();
    pathPrefixes.forEach(p -> prefixes.add(p.given().toString()));
    prefixes.addAll(imagePrefixes);
    return "allowed are the launch specs of the built-in manifest and WORKA_POLICY_FILE, each as a whole argv,"
        + (prefixes.isEmpty()
            ? " and nothing else (WORKA_ALLOWED_LAUNCH is not set)"
            : " and programs, images and modules under WORKA_ALLOWED_LAUNCH: "
                + String.join(", ", prefixes));
  }

  /** For the start-up log: what this host allows. */
  public String describe() {
    return commands.size()
        + " command(s), "
        + images.size()
        + " image(s) and "
        + modules.size()
        + " module(s) of the host's manifests"
        + (pathPrefixes.isEmpty() && imagePrefixes.isEmpty()
            ? ""
            : "; under WORKA_ALLOWED_LAUNCH: "
                + String.join(
                    ", ",
                    java.util.stream.Stream.concat(
                            pathPrefixes.stream().map(p -> p.given().toString()),
                            imagePrefixes.stream())
                        .toList()));
  }

  /**
   * {@code command} as the process runtime runs it: {@code command[0]} resolved against the
   * installation and normalized (so {@code bin/../bin/x} and {@code /inst/bin/x} are one), the
   * arguments as they are.
   */
  private static Optional<List<String>> canonical(Path installDir, List<String> command) {
    if (command.isEmpty()) {
      return Optional.empty();
    }
    Optional<Path> program = resolve(installDir, command.get(0));
    if (program.isEmpty()) {
      return Optional.empty();
    }
    List<String> out = new ArrayList<>(command.size());
    out.add(program.get().toString());
    out.addAll(command.subList(1, command.size()));
    return Optional.of(List.copyOf(out));
  }

  private static Optional<Path> resolve(Path installDir, String path) {
    try {
      Path p = Path.of(path);
      return Optional.of((p.isAbsolute() ? p : installDir.resolve(p)).normalize());
    } catch (InvalidPathException e) {
      return Optional.empty();
    }
  }

  /**
   * Who other than root and the Gateway's user could change what {@code real} holds: an owner that
   * is neither, or a world-writable directory (an ancestor may be one if it is sticky, like {@code
   * /tmp}: others cannot rename what is ours in it). Empty when nobody else can, or when this file
   * system does not say.
   */
  private static Optional<String> writableByOthers(Path real) {
    int self;
    try {
      self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
    for (Path p = real; p != null; p = p.getParent()) {
      try {
        int owner = (Integer) Files.getAttribute(p, "unix:uid");
        int mode = (Integer) Files.getAttribute(p, "unix:mode");
        if (owner != 0 && owner != self) {
          return Optional.of(p + " belongs to user id " + owner);
        }
        boolean othersWrite = (mode & 0002) != 0;
        boolean sticky = (mode & 01000) != 0;
        if (othersWrite && (p.equals(real) || !sticky)) {
          return Optional.of(p + " may be written by every user of this host");
        }
      } catch (IOException | RuntimeException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }
}
