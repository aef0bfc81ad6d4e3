package dev.worka.gateway.runtime.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The host's home directories, which a sandboxed worker never gets bound whole: they hold what a
 * person's or a service's credentials are (ssh keys, cloud and registry credentials, shell
 * history). A path is refused when it is one of them or a parent of one ({@code /}, {@code /home},
 * {@code /root}, {@code /home/alice}); a path inside one ({@code ~/.m2/repository/x.jar}, a JDK
 * under {@code ~/.sdkman}) is fine.
 *
 * <p>Which directories are homes: the Gateway user's ({@code user.home}, {@code $HOME}), {@code
 * /root}, every directory directly under {@code /home}, and the home of every account of {@code
 * /etc/passwd} that is root or a person's (uid 0, or 1000 up to but excluding 65534 {@code
 * nobody}): system accounts' "homes" are {@code /usr/sbin}, {@code /bin}, {@code /var/lib/...}.
 */
record HomeDirectories(Set<Path> paths) {
  private static final Path ROOT = Path.of("/");

  HomeDirectories {
    Set<Path> normalized = new LinkedHashSet<>();
    for (Path p : paths) {
      Path n = p.toAbsolutePath().normalize();
      if (!n.equals(ROOT)) { // a service account whose home is / ; / is refused anyway
        normalized.add(n);
      }
    }
    paths = Set.copyOf(normalized);
  }

  static HomeDirectories of(Collection<Path> paths) {
    return new HomeDirectories(Set.copyOf(paths));
  }

  /** This host's, read once per JVM. */
  static HomeDirectories detected() {
    return Detected.HOMES;
  }

  /** The home {@code path} is or holds ({@code path} is a home or a parent of one), or empty. */
  Optional<Path> heldBy(Path path) {
    Path p = path.toAbsolutePath().normalize();
    if (p.equals(ROOT)) {
      return Optional.of(ROOT);
    }
    return paths.stream().filter(home -> home.startsWith(p)).sorted().findFirst();
  }

  /** Whether {@code path} is a home directory or a parent of one. */
  boolean holdsAHome(Path path) {
    return heldBy(path).isPresent();
  }

  private static final class Detected {
    static final HomeDirectories HOMES = read();

    private static HomeDirectories read() {
      Set<Path> homes = new LinkedHashSet<>();
      add(homes, System.getProperty("user.home"));
      add(homes, System.getenv("HOME"));
      add(homes, "/root");
      try (Stream<Path> children = Files.list(Path.of("/home"))) {
        children.filter(Files::isDirectory).forEach(homes::add);
      } catch (IOException | RuntimeException e) {
        // no /home
      }
      try {
        for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
          String[] fields = line.split(":", -1);
          if (fields.length >= 7) {
            try {
              long uid = Long.parseLong(fields[2]);
              if (uid == 0 || (uid >= 1000 && uid < 65534)) {
                add(homes, fields[5]);
              }
            } catch (NumberFormatException e) {
              // a malformed line
            }
          }
        }
      } catch (IOException | RuntimeException e) {
        // no /etc/passwd: the rest is all there is
      }
      return new HomeDirectories(homes);
    }

    private static void add(Set<Path> homes, String path) {
      if (path != null && path.startsWith("/")) {
        try {
          homes.add(Path.of(path));
        } catch (InvalidPathException e) {
          // not a path
        }
      }
    }
  }

  /** For messages: the homes, sorted. */
  List<Path> sorted() {
    return paths.stream().sorted().toList();
  }
}
