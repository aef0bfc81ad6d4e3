package dev.worka.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.TestGateway;
import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.config.WorkaConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An external database (WORKA_DATABASE_URL): with WORKA_DATABASE_APP_USER the Gateway migrates as
 * the configured owner and runs as a login that cannot change audit rows; a login that could is
 * refused at start; without one, the gaps are what the Gateway warns about.
 */
class ExternalDatabaseTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();
  private static final AtomicInteger ROLES = new AtomicInteger();

  @TempDir Path home;

  private Map<String, String> environment(String appUser, String appPassword) throws Exception {
    Files.writeString(home.resolve("policy.yaml"), TestGateway.builtinPolicyForTests());
    Map<String, String> env = new HashMap<>();
    env.put("WORKA_HOME", home.toString());
    env.put("WORKA_HTTP_PORT", "0");
    env.put("WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN);
    env.put("WORKA_POLICY_FILE", home.resolve("policy.yaml").toString());
    env.put("WORKA_INSTALL_DIR", Path.of("..").toAbsolutePath().normalize().toString());
    env.put("WORKA_DATABASE_URL", db.url().jdbcUrl());
    env.put("WORKA_DATABASE_USER", db.url().user());
    if (db.url().password() != null) {
      env.put("WORKA_DATABASE_PASSWORD", db.url().password());
    }
    if (appUser != null) {
      env.put("WORKA_DATABASE_APP_USER", appUser);
      env.put("WORKA_DATABASE_APP_PASSWORD", appPassword);
    }
    return env;
  }

  @Test
  void withAnApplicationLoginTheGatewayRunsAsARoleThatCannotChangeAuditRows() throws Exception {
    String role = "ext_app_" + ROLES.incrementAndGet() + "_" + ProcessHandle.current().pid();
    // A login a DBA made beforehand with too wide rights on the migration history: the Gateway's
    // grant
    // at start takes them back.
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("create role " + role + " login password 'app-secret-" + role + "'");
      s.execute("grant select, insert, update, delete on flyway_schema_history to " + role);
    }
    WorkaConfig config = WorkaConfig.fromEnvironment(environment(role, "app-secret-" + role));
    try (TestGateway gateway = TestGateway.start(config)) {
      var story = gateway.finish(gateway.submit("open an issue in acme/widgets titled external"));
      assertEquals("succeeded", story.path("status").asText(), story.toPrettyString());
      assertEquals(List.of(), gateway.gateway.database().auditProtectionGaps());
      try (Connection c = gateway.gateway.database().dataSource().getConnection();
          Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("select current_user")) {
          rs.next();
          assertEquals(role, rs.getString(1));
        }
        List<String> forbiddenStatements =
            new java.util.ArrayList<>(
                List.of(
                    "update gates set reason = 'edited'",
                    "delete from run_events",
                    "truncate burns",
                    "alter table gates disable trigger all"));
        forbiddenStatements.addAll(
            List.of(
                "delete from flyway_schema_history",
                "truncate flyway_schema_history",
                "update flyway_schema_history set success = false",
                "insert into flyway_schema_history (installed_rank,"
                    + " description, type, script, installed_by, execution_time, success) values (999, 'forged', 'SQL',"
                    + " 'V999__forged.sql', 'x', 0, true)"));
        for (String forbidden : forbiddenStatements) {
          SQLException e = assertThrows(SQLException.class, () -> s.execute(forbidden), forbidden);
          assertEquals("42501", e.getSQLState(), forbidden + ": " + e.getMessage());
        }
      }
    }
  }

  @Test
  void anApplicationLoginThatCouldChangeAuditRowsIsRefusedAtStart() throws Exception {
    String role = "ext_super_" + ROLES.incrementAndGet() + "_" + ProcessHandle.current().pid();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("create role " + role + " login superuser password 'pw-" + role + "'");
    }
    WorkaConfig config = WorkaConfig.fromEnvironment(environment(role, "pw-" + role));
    ConfigException e =
        assertThrows(ConfigException.class, () -> TestGateway.start(config).close());
    assertTrue(
        e.getMessage().contains("superuser") && e.getMessage().contains(role), e.getMessage());
  }

  @Test
  void withoutAnApplicationLoginTheOwnersRightsAreTheGapsReported() {
    List<String> gaps = db.database().auditProtectionGaps();
    assertTrue(gaps.stream().anyMatch(g -> g.contains("superuser")), gaps.toString());
  }

  @Test
  void theApplicationLoginIsCheckedWhenConfigured() {
    Map<String, String> env = new HashMap<>(Map.of("WORKA_DATABASE_APP_USER", "worka_app"));
    ConfigException noUrl =
        assertThrows(ConfigException.class, () -> WorkaConfig.fromEnvironment(env));
    assertTrue(noUrl.getMessage().contains("only with WORKA_DATABASE_URL"), noUrl.getMessage());
    env.put("WORKA_DATABASE_URL", "postgresql://owner:pw@db.example:5432/worka");
    ConfigException noPassword =
        assertThrows(ConfigException.class, () -> WorkaConfig.fromEnvironment(env));
    assertTrue(
        noPassword.getMessage().contains("WORKA_DATABASE_APP_PASSWORD"), noPassword.getMessage());
    env.put("WORKA_DATABASE_APP_USER", "x; drop table gates");
    ConfigException badName =
        assertThrows(ConfigException.class, () -> WorkaConfig.fromEnvironment(env));
    assertTrue(badName.getMessage().contains("plain role name"), badName.getMessage());
    env.put("WORKA_DATABASE_APP_USER", "owner");
    env.put("WORKA_DATABASE_APP_PASSWORD", "secret-app");
    ConfigException same =
        assertThrows(ConfigException.class, () -> WorkaConfig.fromEnvironment(env));
    assertTrue(same.getMessage().contains("must differ"), same.getMessage());
    env.put("WORKA_DATABASE_APP_USER", "worka_gateway");
    WorkaConfig config = WorkaConfig.fromEnvironment(env);
    assertEquals("worka_gateway", config.applicationDatabase().orElseThrow().user());
    assertTrue(
        config.secrets().contains("secret-app"),
        "the application password is redacted like any secret");
    assertTrue(!config.toString().contains("secret-app"), config.toString());

    DatabaseUrl owner =
        DatabaseUrl.parse(
            "jdbc:postgresql://db.example:5432/worka?user=owner&sslmode=require&password=owner-pw-123",
            null,
            null);
    assertTrue(!owner.toString().contains("owner-pw-123"), owner.toString());
    DatabaseUrl app = owner.withLogin("worka_gateway", "app-pw");
    assertEquals(
        "jdbc:postgresql://db.example:5432/worka?sslmode=require",
        app.jdbcUrl(),
        "the owner's login parameters would win over the application login's: they are removed");
    assertEquals("worka_gateway", app.user());
  }
}
