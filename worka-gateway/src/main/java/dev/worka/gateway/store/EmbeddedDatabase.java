package dev.worka.gateway.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded PostgreSQL server Worka uses when no {@code WORKA_DATABASE_URL} is set: a real
 * PostgreSQL whose data lives under {@code WORKA_HOME/postgres} and survives restarts. When the
 * process runs as root (as CI machines do) the server still runs, inside a user namespace. It
 * listens on loopback and on a Unix socket in {@code WORKA_HOME/postgres.sock} (mode 0700), and
 * every connection needs a generated password kept beside the data directory ({@code
 * postgres.password}, mode 0600): the cluster is initialized with password authentication ({@code
 * initdb --auth=scram-sha-256 --pwfile}), so it never trusts anyone, not even for a moment.
 *
 * <p>It starts whatever state a Gateway that died left it in: a postmaster still running or still
 * shutting down is shut down, a stale {@code postmaster.pid} or socket lock file is removed ({@link
 * LeftoverPostgres}), and a first initialization that was interrupted is started over. A lock file
 * beside the data directory ({@code postgres.lock}) keeps a second Worka off the same data. What
 * PostgreSQL itself prints goes to {@code postgres.log} beside the data directory.
 */
public final class EmbeddedDatabase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

  private static final String HBA =
      """
      # Written by Worka: every connection needs the password in the .password file beside this
      # data directory (mode 0600). Nothing on this machine may connect without it.
      local   all   all                  scram-sha-256
      host    all   all   127.0.0.1/32   scram-sha-256
      host    all   all   ::1/128        scram-sha-256
      """;

  /**
   * The longest Unix socket path the kernel takes ({@code sizeof(sun_path)} is 108 bytes with the
   * terminating NUL), which PostgreSQL's socket {@code <dir>/.s.PGSQL.<port>} must fit in.
   */
  static final int MAX_SOCKET_PATH = 107;

  private static final String SOCKET_FILE = "/.s.PGSQL.65535";

  /** How long a starting server may take (crash recovery replays the write-ahead log first). */
  private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

  private static final long LOG_ROTATE_BYTES = 10L * 1024 * 1024;

  private final EmbeddedPostgres postgres;
  private final Path dataDirectory;
  private final String password;
  private final String appPassword;
  private final Optional<Path> socketDirectory;
  private final FileChannel lock;

  private EmbeddedDatabase(
      EmbeddedPostgres postgres,
      Path dataDirectory,
      String password,
      String appPassword,
      Optional<Path> socketDirectory,
      FileChannel lock) {
    this.postgres = postgres;
    this.dataDirectory = dataDirectory;
    this.password = password;
    this.appPassword = appPassword;
    this.socketDirectory = socketDirectory;
    this.lock = lock;
  }

  /** Starts (initializing on first use) the server whose data is in {@code dataDirectory}. */
  public static EmbeddedDatabase start(Path dataDirectory) {
    return start(dataDirectory, 0);
  }

  /**
   * As {@link #start(Path)}, listening on {@code port} (0: any free port). Tests stop a server and
   * start it again on the same data and port, where its clients look for it.
   */
  static EmbeddedDatabase start(Path dataDirectory, int port) {
    FileChannel lock = null;
    Path logFile = sibling(dataDirectory, ".log");
    long logFrom =
        -1; // where this start's server output begins in logFile, once it is about to start
    try {
      Files.createDirectories(dataDirectory.getParent());
      lock = lockDataDirectory(dataDirectory);
      clearInterruptedUnpackingOnce();
      LeftoverPostgres.clear(dataDirectory);
      Path initializing = sibling(dataDirectory, ".initializing");
      if (Files.exists(initializing)) {
        log.warn(
            "the first start of the embedded PostgreSQL in {} was interrupted: initializing it again",
            dataDirectory);
        deleteRecursively(dataDirectory);
      }
      boolean fresh = !Files.exists(dataDirectory.resolve("postgresql.conf"));
      if (fresh && Files.isDirectory(dataDirectory) && !isEmpty(dataDirectory)) {
        throw new IOException(
            dataDirectory
                + " is not empty but holds no PostgreSQL cluster (no postgresql.conf);"
                + " move it away to start with a new database");
      }
      log.info(
          "starting embedded PostgreSQL (data: {}{})",
          dataDirectory,
          fresh ? ", first start: initializing, this takes a few seconds" : "");
      Path passwordFile = passwordFile(dataDirectory);
      String password = loadOrCreatePassword(passwordFile);
      String appPassword = loadOrCreatePassword(sibling(dataDirectory, ".app-password"));
      if (fresh) {
        Files.writeString(
            initializing, "initdb under way; a start that finds this file initializes again\n");
      }
      Optional<Path> socketDirectory = prepareSocketDirectory(dataDirectory);
      logFrom = prepareLog(logFile);
      EmbeddedPostgres postgres =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDirectory)
              .setCleanDataDirectory(false)
              .setPort(port)
              .setPGStartupWait(STARTUP_WAIT)
              // initdb: the superuser's password from its file, and password authentication from
              // the
              // first moment (zonky passes -A trust before these; the later option wins).
              .setLocaleConfig("auth", "scram-sha-256")
              .setLocaleConfig("pwfile", passwordFile.toString())
              // Before every start, the server's pg_hba.conf is Worka's, whatever was there.
              .setDataDirectoryCustomizer(directory -> writeHba(directory.toPath()))
              .setOutputRedirector(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .setErrorRedirector(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .setServerConfig(
                  "unix_socket_directories", socketDirectory.map(Path::toString).orElse(""))
              .setServerConfig("max_connections", "200")
              .setServerConfig("fsync", "on")
              // zonky's default is off (fast tests); a gate acknowledged as committed must survive
              // a crash, so commits wait for the write-ahead log.
              .setServerConfig("synchronous_commit", "on")
              .setServerConfig("full_page_writes", "on")
              .setServerConfig("password_encryption", "scram-sha-256")
              .setConnectConfig("password", password)
              .start();
      try {
        ensureApplicationRole(postgres, appPassword);
        Files.deleteIfExists(initializing);
      } catch (IOException | SQLException | RuntimeException e) {
        postgres.close();
        throw e;
      }
      return new EmbeddedDatabase(
          postgres, dataDirectory, password, appPassword, socketDirectory, lock);
    } catch (IOException | SQLException | RuntimeException e) {
      if (logFrom >= 0) {
        // A server that started too slowly, or whose set-up failed, must not outlive this attempt
        // (still under the lock, so it is ours to stop).
        try {
          LeftoverPostgres.clear(dataDirectory);
        } catch (IOException | RuntimeException stopping) {
          e.addSuppressed(stopping);
        }
      }
      closeQuietly(lock);
      List<String> tail = logFrom < 0 ? List.of() : lastLines(logFile, logFrom, 8);
      String said =
          tail.isEmpty()
              ? ""
              : "\n(the server's last words, from "
                  + logFile
                  + ":)\n  "
                  + String.join("\n  ", tail);
      throw new StoreException(explain(dataDirectory), new IOException(e.getMessage() + said, e));
    }
  }

  private static boolean unpackingChecked; // guarded by EmbeddedDatabase.class

  /**
   * The first start in this JVM (before any server of it unpacks binaries) looks for a killed
   * unpacking.
   */
  private static synchronized void clearInterruptedUnpackingOnce() throws IOException {
    if (!unpackingChecked) {
      unpackingChecked = true;
      LeftoverPostgres.clearInterruptedUnpacking(LeftoverPostgres.zonkyWorkingDirectory());
    }
  }

  /**
   * Takes {@code <data>.lock} for as long as this server runs: held, it means a live Worka uses the
   * data (whose server must then not be touched). The operating system lets go of it when the
   * holder dies, however it dies. A Worka older than this lock holds zonky's {@code epg-lock} in
   * the data directory instead, so that one is tried as well.
   */
  private static FileChannel lockDataDirectory(Path dataDirectory) throws IOException {
    Path lockFile = sibling(dataDirectory, ".lock");
    if (!Files.exists(lockFile)) {
      try {
        Files.createFile(
            lockFile,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // another start made it a moment ago; the lock decides
      }
    }
    FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE);
    boolean held;
    try {
      held = channel.tryLock() == null;
    } catch (OverlappingFileLockException e) {
      held = true;
    }
    Path olderLock = dataDirectory.resolve("epg-lock");
    if (!held && Files.exists(olderLock)) {
      try (FileChannel older = FileChannel.open(olderLock, StandardOpenOption.WRITE);
          FileLock probe = older.tryLock()) {
        held = probe == null;
      } catch (OverlappingFileLockException e) {
        held = true;
      }
    }
    if (held) {
      channel.close();
      throw new IOException(
          "another Worka is using the embedded database in "
              + dataDirectory
              + " ("
              + lockFile
              + " is locked): stop it first, or give this one another WORKA_HOME");
    }
    return channel;
  }

  /**
   * {@code <data>.sock}, made private (0700) and emptied of a dead server's socket and lock files —
   * or none, when its socket path would be longer than a Unix socket path can be (a WORKA_HOME
   * longer than about 78 bytes) or holds characters the server's command line cannot carry: the
   * server then has no Unix socket at all, only loopback TCP, which is what Worka uses.
   */
  private static Optional<Path> prepareSocketDirectory(Path dataDirectory) throws IOException {
    Path directory = sibling(dataDirectory, ".sock").toAbsolutePath();
    String path = directory.toString();
    if (path.getBytes(StandardCharsets.UTF_8).length + SOCKET_FILE.length() > MAX_SOCKET_PATH) {
      log.info(
          "no Unix socket for the embedded PostgreSQL: {} is too long for a socket path (at most {} bytes"
              + " with the socket's name); it listens on loopback TCP only (a shorter WORKA_HOME gives it one)",
          path,
          MAX_SOCKET_PATH);
      return Optional.empty();
    }
    if (!path.matches("[A-Za-z0-9/._+-]+")) {
      log.info(
          "no Unix socket for the embedded PostgreSQL: {} holds characters other than letters, digits and"
              + " /._+-; it listens on loopback TCP only",
          path);
      return Optional.empty();
    }
    if (!Files.isDirectory(directory)) {
      Files.createDirectory(
          directory,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        if (file.getFileName().toString().startsWith(".s.PGSQL.")) {
          Files.deleteIfExists(file); // a dead server's (LeftoverPostgres stopped any live one)
        }
      }
    }
    return Optional.of(directory);
  }

  /** Where the Unix socket is ({@link #prepareSocketDirectory}), if the server has one. */
  Optional<Path> socketDirectory() {
    return socketDirectory;
  }

  private static void writeHba(Path dataDirectory) {
    try {
      Path hba = dataDirectory.resolve("pg_hba.conf");
      if (!Files.exists(hba) || !Files.readString(hba).equals(HBA)) {
        Files.writeString(hba, HBA);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(
          "could not write " + dataDirectory.resolve("pg_hba.conf"), e);
    }
  }

  /**
   * Creates the server's log file (0600), first moving a large one to {@code .log.1}; returns its
   * size, where what this start's server says begins.
   */
  private static long prepareLog(Path logFile) throws IOException {
    if (Files.exists(logFile) && Files.size(logFile) > LOG_ROTATE_BYTES) {
      Files.move(
          logFile,
          logFile.resolveSibling(logFile.getFileName() + ".1"),
          StandardCopyOption.REPLACE_EXISTING);
    }
    if (!Files.exists(logFile)) {
      Files.createFile(
          logFile,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }
    return Files.size(logFile);
  }

  /** The login role the Gateway runs as: no superuser, owns nothing, holds only its grants. */
  private static void ensureApplicationRole(EmbeddedPostgres postgres, String appPassword)
      throws SQLException {
    try (Connection c = postgres.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      // The password is [A-Za-z0-9] only, so it cannot break out of the literal.
      s.execute(
          "do $$ begin"
              + " if not exists (select from pg_roles where rolname = '"
              + Database.APPLICATION_ROLE
              + "') then"
              + " create role "
              + Database.APPLICATION_ROLE
              + " login nosuperuser nocreatedb nocreaterole;"
              + " end if; end $$");
      s.execute(
          "alter role " + Database.APPLICATION_ROLE + " with login password '" + appPassword + "'");
    }
  }

  private static Path sibling(Path dataDirectory, String suffix) {
    return dataDirectory.resolveSibling(dataDirectory.getFileName() + suffix);
  }

  private static boolean isEmpty(Path directory) throws IOException {
    try (Stream<Path> entries = Files.list(directory)) {
      return entries.findAny().isEmpty();
    }
  }

  private static void deleteRecursively(Path directory) throws IOException {
    if (!Files.exists(directory, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path p : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // closing releases the lock; the process ending would too
      }
    }
  }

  static Path passwordFile(Path dataDirectory) {
    return dataDirectory.resolveSibling(dataDirectory.getFileName() + ".password");
  }

  private static String loadOrCreatePassword(Path file) throws IOException {
    if (Files.exists(file)) {
      String existing = Files.readString(file).trim();
      if (existing.matches("[A-Za-z0-9]{32,}")) {
        return existing;
      }
      throw new IOException(
          file
              + " does not hold a password Worka wrote; remove it only together"
              + " with the data directory beside it");
    }
    SecureRandom random = new SecureRandom();
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder password = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      password.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    Path tmp =
        Files.createTempFile(
            file.getParent(),
            ".pg-password",
            ".tmp",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, password + "\n");
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    return password.toString();
  }

  private static String explain(Path dataDirectory) {
    StringBuilder message =
        new StringBuilder("could not start the embedded PostgreSQL with data in ")
            .append(dataDirectory);
    if ("root".equals(System.getProperty("user.name")) && !onPath("unshare")) {
      message.append(
          ". Running as root needs util-linux's `unshare` and user namespaces"
              + " (apt-get install util-linux), or set WORKA_DATABASE_URL to an external"
              + " PostgreSQL");
    } else {
      message.append(
          ". Check that the directory is writable and not used by another running Worka, or set"
              + " WORKA_DATABASE_URL to an external PostgreSQL");
    }
    return message.toString();
  }

  /** The last {@code count} non-blank lines of {@code file} after byte {@code from}. */
  private static List<String> lastLines(Path file, long from, int count) {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long start = Math.max(from, channel.size() - 64 * 1024);
      java.nio.ByteBuffer buffer =
          java.nio.ByteBuffer.allocate((int) Math.max(0, channel.size() - start));
      channel.read(buffer, start);
      List<String> lines =
          new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8)
              .lines()
              .filter(l -> !l.isBlank())
              .toList();
      return lines.subList(Math.max(0, lines.size() - count), lines.size());
    } catch (IOException e) {
      return List.of();
    }
  }

  private static boolean onPath(String command) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(":")) {
      if (Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }

  /**
   * A URL for the given database as the application role ({@link Database#APPLICATION_ROLE}), which
   * may insert audit rows but never change them; grant it with {@link
   * Database#grantApplicationRole} after migrating.
   */
  public DatabaseUrl applicationUrl(String database) {
    return new DatabaseUrl(
        postgres.getJdbcUrl(Database.APPLICATION_ROLE, database),
        Database.APPLICATION_ROLE,
        appPassword);
  }

  /** A URL for the given database on this server, as the {@code postgres} superuser. */
  public DatabaseUrl url(String database) {
    return new DatabaseUrl(postgres.getJdbcUrl("postgres", database), "postgres", password);
  }

  /** The port the server listens on (loopback). */
  int port() {
    return postgres.getPort();
  }

  Path dataDirectory() {
    return dataDirectory;
  }

  /**
   * The passwords of this server's roles (superuser and application): secrets to redact from
   * outputs.
   */
  public List<String> secrets() {
    return List.of(password, appPassword);
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      log.warn("embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
    } finally {
      closeQuietly(lock);
    }
  }
}
