package dev.worka.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded server's own set-up: password authentication from initdb on (no moment of {@code
 * trust}), its socket in a private directory under its home (or none when the home's path is too
 * long for a socket), a home made by the previous code still starting, and what a dead Gateway
 * leaves in the data directory (a stale {@code postmaster.pid} whose pid is now another process, an
 * interrupted first start) not stopping the next start. The states a killed Gateway process leaves
 * (its postmaster still running, killed too, shutting down) are in {@code
 * EmbeddedCrashRestartTest}.
 */
class EmbeddedDatabaseTest {
  @TempDir Path home;

  @Test
  void aNewClusterWantsThePasswordFromItsFirstMomentAndItsSocketIsPrivateUnderItsHome()
      throws Exception {
    Path data = home.resolve("postgres");
    try (EmbeddedDatabase server = EmbeddedDatabase.start(data)) {
      // initdb ran with --auth=scram-sha-256 --pwfile: it warns when it enables trust, and it did
      // not.
      String initdb = Files.readString(home.resolve("postgres.log"));
      assertTrue(initdb.contains("Success"), initdb);
      assertFalse(initdb.toLowerCase(Locale.ROOT).contains("trust"), initdb);
      assertFalse(Files.readString(data.resolve("pg_hba.conf")).contains("trust"));
      // The superuser's password came from the pwfile: nothing ever set it afterwards.
      String password = Files.readString(home.resolve("postgres.password")).strip();
      String appPassword = Files.readString(home.resolve("postgres.app-password")).strip();
      assertEquals(List.of(password, appPassword), server.secrets());

      String url = server.url("postgres").jdbcUrl();
      for (String wrong : List.of("", "wrong-password", appPassword)) {
        SQLException refused =
            assertThrows(
                SQLException.class,
                () -> DriverManager.getConnection(url, "postgres", wrong).close(),
                wrong);
        // An empty password pgjdbc does not even send once the server asks for SCRAM (08004).
        assertTrue(
            refused.getSQLState().startsWith("28")
                || (wrong.isEmpty() && refused.getMessage().contains("SCRAM")),
            refused.getSQLState() + " " + refused.getMessage());
      }

      Path socketDirectory = home.resolve("postgres.sock").toAbsolutePath();
      assertEquals(java.util.Optional.of(socketDirectory), server.socketDirectory());
      assertEquals(
          "rwx------",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(socketDirectory)));
      try (Connection c = DriverManager.getConnection(url, "postgres", password);
          Statement s = c.createStatement()) {
        assertEquals(socketDirectory.toString(), single(s, "show unix_socket_directories"));
        Path socket = socketDirectory.resolve(".s.PGSQL." + single(s, "show port"));
        assertTrue(
            Files.exists(socket) && !Files.isRegularFile(socket) && !Files.isDirectory(socket),
            socket + " is a socket");
        assertEquals("on", single(s, "show fsync"));
      }
      assertFalse(Files.exists(home.resolve("postgres.initializing")), "the first start finished");
    }
  }

  @Test
  void aSecondServerOnTheSameDataIsRefusedAndTheFirstKeepsServing() throws Exception {
    Path data = home.resolve("postgres");
    try (EmbeddedDatabase first = EmbeddedDatabase.start(data)) {
      StoreException refused =
          assertThrows(StoreException.class, () -> EmbeddedDatabase.start(data).close());
      assertTrue(refused.getMessage().contains("another Worka is using"), refused.getMessage());
      try (Connection c =
          DriverManager.getConnection(
              first.url("postgres").jdbcUrl(), "postgres", first.secrets().get(0))) {
        assertTrue(c.isValid(5), "the first server still answers");
      }
    }
  }

  @Test
  void aStalePidFileWhosePidIsNowAnotherProcessDoesNotStopTheStartNorThatProcess()
      throws Exception {
    Path data = home.resolve("postgres");
    EmbeddedDatabase.start(data).close();
    Process stranger = new ProcessBuilder("sleep", "600").start();
    try {
      // What a postmaster killed with the Gateway leaves, once its pid went to another program:
      // PostgreSQL alone refuses to start over it ("lock file postmaster.pid already exists").
      Files.writeString(
          data.resolve("postmaster.pid"),
          stranger.pid()
              + "\n"
              + data
              + "\n1700000000\n5432\n"
              + home.resolve("postgres.sock").toAbsolutePath()
              + "\nlocalhost\n  1234567         0\nready   \n");
      Files.writeString(
          home.resolve("postgres.sock").resolve(".s.PGSQL.5432.lock"), stranger.pid() + "\n");
      try (EmbeddedDatabase again = EmbeddedDatabase.start(data);
          Connection c =
              DriverManager.getConnection(
                  again.url("postgres").jdbcUrl(), "postgres", again.secrets().get(0))) {
        assertTrue(c.isValid(5));
        assertFalse(
            Files.exists(home.resolve("postgres.sock").resolve(".s.PGSQL.5432.lock")),
            "stale socket lock removed");
      }
      assertTrue(stranger.isAlive(), "the process that now has the stale pid was left alone");
    } finally {
      stranger.destroyForcibly().waitFor();
    }
  }

  @Test
  void anInterruptedFirstStartIsStartedOverAndAStrangeDirectoryIsRefused() throws Exception {
    Path data = home.resolve("postgres");
    // A first start killed in the middle of initdb: half a cluster and the marker.
    Files.createDirectories(data.resolve("base"));
    Files.writeString(data.resolve("PG_VERSION"), "18\n");
    Files.writeString(data.resolve("postgresql.conf"), "# half written\n");
    Files.writeString(home.resolve("postgres.initializing"), "");
    try (EmbeddedDatabase server = EmbeddedDatabase.start(data);
        Connection c =
            DriverManager.getConnection(
                server.url("postgres").jdbcUrl(), "postgres", server.secrets().get(0))) {
      assertTrue(c.isValid(5));
    }
    assertFalse(Files.exists(home.resolve("postgres.initializing")));

    Path strange = home.resolve("other");
    Files.createDirectories(strange);
    Files.writeString(strange.resolve("notes.txt"), "not a cluster");
    StoreException refused =
        assertThrows(StoreException.class, () -> EmbeddedDatabase.start(strange).close());
    assertTrue(refused.getMessage().contains("holds no PostgreSQL cluster"), refused.getMessage());
    assertTrue(Files.exists(strange.resolve("notes.txt")), "nothing of it was deleted");
  }

  @Test
  void aHomeTooLongForASocketPathGetsNoSocketAndStillServes() throws Exception {
    Path deep = home;
    while (deep.toAbsolutePath().toString().length() + "/postgres.sock/.s.PGSQL.65535".length()
        <= EmbeddedDatabase.MAX_SOCKET_PATH) {
      deep = deep.resolve("a-rather-long-directory-name");
    }
    try (EmbeddedDatabase server = EmbeddedDatabase.start(deep.resolve("postgres"));
        Connection c =
            DriverManager.getConnection(
                server.url("postgres").jdbcUrl(), "postgres", server.secrets().get(0));
        Statement s = c.createStatement()) {
      assertEquals(java.util.Optional.empty(), server.socketDirectory());
      assertEquals("", single(s, "show unix_socket_directories"));
      assertFalse(Files.exists(deep.resolve("postgres.sock")));
    }
  }

  /**
   * A home the previous code made: initdb trusting everyone, the superuser's password set and
   * pg_hba.conf rewritten afterwards, the socket in /tmp. It starts with the same passwords and its
   * data, now with its socket under the home.
   */
  @Test
  void aHomeInitializedByThePreviousCodeKeepsItsDataAndPasswords() throws Exception {
    Path data = home.resolve("postgres");
    String password = "A".repeat(20) + "b".repeat(20);
    String appPassword = "C".repeat(20) + "d".repeat(20);
    Files.writeString(home.resolve("postgres.password"), password + "\n");
    Files.writeString(home.resolve("postgres.app-password"), appPassword + "\n");
    try (EmbeddedPostgres old =
            EmbeddedPostgres.builder()
                .setDataDirectory(data)
                .setCleanDataDirectory(false)
                .setServerConfig("password_encryption", "scram-sha-256")
                .setConnectConfig("password", password)
                .start();
        Connection c = old.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("alter role postgres with password '" + password + "'");
      Files.writeString(
          data.resolve("pg_hba.conf"),
          """
          local all all scram-sha-256
          host all all 127.0.0.1/32 scram-sha-256
          host all all ::1/128 scram-sha-256
          """);
      s.execute("select pg_reload_conf()");
      s.execute(
          "create role " + Database.APPLICATION_ROLE + " login password '" + appPassword + "'");
      s.execute("create table kept (note text)");
      s.execute("insert into kept values ('from before the upgrade')");
      assertEquals("/tmp", single(s, "show unix_socket_directories"));
    }
    try (EmbeddedDatabase server = EmbeddedDatabase.start(data)) {
      assertEquals(List.of(password, appPassword), server.secrets());
      try (Connection c =
              DriverManager.getConnection(server.url("postgres").jdbcUrl(), "postgres", password);
          Statement s = c.createStatement()) {
        assertEquals("from before the upgrade", single(s, "select note from kept"));
        assertEquals(
            home.resolve("postgres.sock").toAbsolutePath().toString(),
            single(s, "show unix_socket_directories"));
      }
      DatabaseUrl app = server.applicationUrl("postgres");
      DriverManager.getConnection(app.jdbcUrl(), app.user(), appPassword).close();
      assertThrows(
          SQLException.class,
          () ->
              DriverManager.getConnection(server.url("postgres").jdbcUrl(), "postgres", "")
                  .close());
    }
  }

  /**
   * A process killed while unpacking the PostgreSQL binaries (the first start on a machine) leaves
   * files that may be truncated, and no {@code .exists} mark; zonky would unpack around them and
   * mark the directory ready. They are removed so that the next start unpacks them whole.
   */
  @Test
  void binariesLeftHalfUnpackedByAKilledStartAreRemovedAndOnlyThose() throws Exception {
    Path work = home.resolve("embedded-pg");
    Path killed = work.resolve("PG-killed");
    Files.createDirectories(killed.resolve("bin"));
    Files.writeString(killed.resolve("bin").resolve("postgres"), "trunc");
    Files.writeString(killed.resolve("epg-lock"), "");
    Path done = work.resolve("PG-done");
    Files.createDirectories(done.resolve("bin"));
    Files.writeString(done.resolve(".exists"), "");
    Path starting =
        work.resolve("PG-starting"); // made a moment ago, its unpacking lock not yet taken
    Files.createDirectories(starting);

    assertEquals(List.of(killed), LeftoverPostgres.clearInterruptedUnpacking(work));
    assertFalse(Files.exists(killed));
    assertTrue(Files.exists(done.resolve(".exists")) && Files.isDirectory(starting));
  }

  private static String single(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
