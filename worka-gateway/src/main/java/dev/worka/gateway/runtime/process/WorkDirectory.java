package dev.worka.gateway.runtime.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The attempt's own temporary directory (0700), which is the worker's working directory and holds
 * its token file (0600). Deleted recursively after the worker's process tree is gone, without
 * following links the worker may have planted.
 */
final class WorkDirectory {
  static final String TOKEN_FILE = "token";
  private static final Logger log = LoggerFactory.getLogger(WorkDirectory.class);
  private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY =
      EnumSet.of(
          PosixFilePermission.OWNER_READ,
          PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.OWNER_EXECUTE);
  private static final Set<PosixFilePermission> OWNER_ONLY_FILE =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  private final Path path;

  private WorkDirectory(Path path) {
    this.path = path;
  }

  /** A fresh directory under {@code parent} (or the system's temporary directory when null). */
  static WorkDirectory create(Path parent) throws IOException {
    var attribute = PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY);
    Path path =
        parent == null
            ? Files.createTempDirectory("worka-step-", attribute)
            : Files.createTempDirectory(parent, "worka-step-", attribute);
    Files.setPosixFilePermissions(path, OWNER_ONLY_DIRECTORY); // whatever the umask did
    return new WorkDirectory(path);
  }

  Path path() {
    return path;
  }

  /** Writes the token to a new 0600 file in this directory and returns its path. */
  Path writeToken(String token) throws IOException {
    Path file = path.resolve(TOKEN_FILE);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE));
    Files.setPosixFilePermissions(file, OWNER_ONLY_FILE);
    Files.writeString(file, token, StandardCharsets.US_ASCII, StandardOpenOption.WRITE);
    return file;
  }

  /** Deletes the directory and all in it; logs (never throws) what could not be deleted. */
  void delete() {
    try {
      Files.walkFileTree(
          path,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes)
                throws IOException {
              // A worker may have made a directory unreadable; it is ours, so take it back.
              Files.setPosixFilePermissions(dir, OWNER_ONLY_DIRECTORY);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
                throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
              Files.deleteIfExists(dir);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (NoSuchFileException gone) {
      // already deleted
    } catch (IOException e) {
      log.warn("could not delete the worker directory {}: {}", path, e.toString());
    }
  }

  @Override
  public String toString() {
    return path.toString();
  }
}
