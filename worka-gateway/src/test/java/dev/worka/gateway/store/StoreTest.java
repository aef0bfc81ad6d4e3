package dev.worka.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class StoreTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  @Test
  void migrationsCreateEveryDesignTable() {
    List<String> tables =
        List.of(
            "runs",
            "plans",
            "steps",
            "gates",
            "burns",
            "evals",
            "skill_invocations",
            "policy_manifests",
            "artifacts",
            "run_events",
            "tasks",
            "policy_activations");
    for (String table : tables) {
      int found =
          Transactions.withConnection(
              db.dataSource(),
              c -> {
                try (PreparedStatement ps =
                    c.prepareStatement(
                        "select count(*) from information_schema.tables where table_name = ?")) {
                  ps.setString(1, table);
                  try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                  }
                }
              });
      assertEquals(1, found, "table " + table);
    }
    assertTrue(db.database().migrationsApplied());
    assertTrue(db.database().reachable());
  }

  @Test
  void theDatabaseRefusesToChangeAuditRows() {
    UUID gate = UUID.randomUUID();
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          try (Statement s = c.createStatement()) {
            s.execute(
                "insert into gates (id, action, status, subject, reason) values ('"
                    + gate
                    + "', 'skill.invoke', 'deny', 'ernest', 'test')");
            UUID manifest = UUID.randomUUID();
            UUID run = UUID.randomUUID();
            s.execute(
                "insert into policy_manifests (id, version, sha256, source_text, compiled,"
                    + " created_by) values ('"
                    + manifest
                    + "', 1, 'x', 'agents: {}', '{}', 'test')");
            s.execute(
                "insert into runs (id, status, source, text, trace_id, policy_manifest_id)"
                    + " values ('"
                    + run
                    + "', 'received', 'api', 'hi', 't', '"
                    + manifest
                    + "')");
            s.execute(
                "insert into run_events (run_id, entity, to_status, actor) values ('"
                    + run
                    + "', 'run', 'received', 'test')");
            s.execute(
                "insert into burns (id, run_id, kind, reason) values (gen_random_uuid(), '"
                    + run
                    + "', 'crash', 'test')");
            return null;
          }
        });
    for (String sql :
        List.of(
            "update gates set status = 'allow'",
            "delete from gates",
            "truncate burns",
            "update burns set reason = 'x'",
            "delete from run_events",
            "update policy_manifests set version = 9",
            "truncate run_events")) {
      StoreException e =
          assertThrows(
              StoreException.class,
              () ->
                  Transactions.inTransaction(
                      db.dataSource(),
                      c -> {
                        try (Statement s = c.createStatement()) {
                          return s.execute(sql);
                        }
                      }),
              sql);
      assertTrue(e.getMessage().contains("append-only"), sql + ": " + e.getMessage());
    }
    String status =
        Transactions.withConnection(
            db.dataSource(),
            c -> {
              try (Statement s = c.createStatement();
                  ResultSet rs = s.executeQuery("select status from gates")) {
                rs.next();
                return rs.getString(1);
              }
            });
    assertEquals("deny", status);
  }

  @Test
  void theEmbeddedServerRefusesConnectionsWithoutItsPassword() throws Exception {
    String url = db.url().jdbcUrl();
    java.sql.SQLException refused =
        assertThrows(
            java.sql.SQLException.class,
            () -> java.sql.DriverManager.getConnection(url, "postgres", "wrong-password").close());
    assertTrue(
        refused.getSQLState().startsWith("28"), refused.getSQLState() + " " + refused.getMessage());
    assertThrows(
        java.sql.SQLException.class,
        () -> java.sql.DriverManager.getConnection(url, "postgres", "").close());
    java.sql.DriverManager.getConnection(url, "postgres", db.url().password()).close();
  }

  @Test
  void theApplicationRoleMayInsertAuditRowsButNeverChangeThemNorTheirGuards() throws Exception {
    DatabaseUrl app = db.applicationUrl();
    try (Database asApp = Database.connect(app, 2, "test-app")) {
      dev.worka.gateway.audit.AuditLog audit =
          new dev.worka.gateway.audit.AuditLog(java.time.InstantSource.system());
      Transactions.inTransaction(
          asApp.dataSource(),
          c ->
              audit.recordGate(
                  c,
                  new dev.worka.gateway.audit.AuditLog.Decision(
                      dev.worka.gateway.audit.GateAction.SKILL_INVOKE,
                      dev.worka.gateway.audit.GateStatus.DENY,
                      "ernest",
                      null,
                      null,
                      1,
                      null,
                      "x",
                      null,
                      null)));
      for (String sql :
          List.of(
              "update gates set reason = 'y'",
              "delete from gates",
              "alter table gates disable trigger gates_append_only",
              "drop trigger gates_append_only on gates",
              "delete from task_keys",
              "update policy_manifests set version = 2",
              "truncate run_events")) {
        java.sql.SQLException e =
            assertThrows(
                java.sql.SQLException.class,
                () -> {
                  try (java.sql.Connection c = asApp.dataSource().getConnection();
                      Statement s = c.createStatement()) {
                    s.execute(sql);
                  }
                },
                sql);
        assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
      }
      Transactions.withConnection(
          asApp.dataSource(),
          c -> {
            try (Statement s = c.createStatement()) {
              // The queue's own rows: a claim updates one, a completion deletes it.
              return s.executeUpdate("update tasks set attempts = attempts where false")
                  + s.executeUpdate("delete from tasks where false");
            }
          });
    }
  }

  @Test
  void theApplicationRoleCannotWriteTheMigrationHistoryAndARightToIsAGap() throws Exception {
    DatabaseUrl app = db.applicationUrl();
    try (Database asApp = Database.connect(app, 2, "test-app")) {
      assertEquals(List.of(), asApp.auditProtectionGaps());
      for (String sql :
          List.of(
              "insert into flyway_schema_history (installed_rank, version, description, type, script, installed_by,"
                  + " execution_time, success) values (999, '999', 'forged', 'SQL', 'V999__forged.sql', 'x', 0, true)",
              "update flyway_schema_history set success = false",
              "delete from flyway_schema_history",
              "truncate flyway_schema_history")) {
        java.sql.SQLException e =
            assertThrows(
                java.sql.SQLException.class,
                () -> {
                  try (java.sql.Connection c = asApp.dataSource().getConnection();
                      Statement s = c.createStatement()) {
                    s.execute(sql);
                  }
                },
                sql);
        assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
      }

      // A right to write it, granted by hand, is a gap; granting the role again takes it back.
      Transactions.withConnection(
          db.dataSource(),
          c -> {
            try (Statement s = c.createStatement()) {
              return s.execute(
                  "grant insert, delete on flyway_schema_history to " + Database.APPLICATION_ROLE);
            }
          });
      assertEquals(
          List.of(
              "role worka_app may INSERT flyway_schema_history (the migration history)",
              "role worka_app may DELETE flyway_schema_history (the migration history)"),
          asApp.auditProtectionGaps());
      db.database().grantApplicationRole(Database.APPLICATION_ROLE);
      assertEquals(List.of(), asApp.auditProtectionGaps());
    }
    assertTrue(db.database().auditProtectionGaps().stream().anyMatch(g -> g.contains("superuser")));
  }

  @Test
  void aRightToChangeAnyAppendOnlyTableIsAGapTheLaterOnesToo() throws Exception {
    DatabaseUrl app = db.applicationUrl();
    try (Database asApp = Database.connect(app, 2, "test-app")) {
      assertEquals(List.of(), asApp.auditProtectionGaps());
      // Every table a migration guards with an append-only trigger, the ones added after the check
      // was written among them (model usage V12, reservations V15, ingress refusals V16).
      List<String> guarded =
          Transactions.withConnection(
              db.dataSource(),
              c -> {
                List<String> tables = new java.util.ArrayList<>();
                try (Statement s = c.createStatement();
                    ResultSet rs =
                        s.executeQuery(
                            "select c.relname from pg_trigger g"
                                + " join pg_class c on c.oid = g.tgrelid where g.tgname = c.relname || '_append_only' order by 1")) {
                  while (rs.next()) {
                    tables.add(rs.getString(1));
                  }
                }
                return tables;
              });
      assertTrue(
          guarded.containsAll(
              List.of(
                  "gates",
                  "burns",
                  "run_events",
                  "policy_manifests",
                  "policy_activations",
                  "invocation_lock_events",
                  "model_usage",
                  "model_reservations",
                  "run_refusals")),
          guarded.toString());
      Transactions.withConnection(
          db.dataSource(),
          c -> {
            try (Statement s = c.createStatement()) {
              return s.execute(
                  "grant update, delete on "
                      + String.join(", ", guarded)
                      + " to "
                      + Database.APPLICATION_ROLE);
            }
          });
      List<String> gaps = asApp.auditProtectionGaps();
      for (String table : guarded) {
        assertTrue(gaps.contains("role worka_app may UPDATE " + table), table + ": " + gaps);
        assertTrue(gaps.contains("role worka_app may DELETE " + table), table + ": " + gaps);
      }
      db.database().grantApplicationRole(Database.APPLICATION_ROLE);
      assertEquals(List.of(), asApp.auditProtectionGaps());
    }
  }

  @Test
  void everyAppendOnlyTableRefusesUpdateDeleteAndTruncateByTrigger() {
    // The row triggers run the function theDatabaseRefusesToChangeAuditRows shows refusing; here,
    // that every table the migrations made append-only has both of its guards, the later ones too.
    List<String> missing =
        Transactions.withConnection(
            db.dataSource(),
            c -> {
              List<String> found = new java.util.ArrayList<>();
              try (Statement s = c.createStatement();
                  ResultSet rs =
                      s.executeQuery(
                          """
          select c.relname,
                 exists (select from pg_trigger g join pg_proc p on p.oid = g.tgfoid
                         where g.tgrelid = c.oid and g.tgname = c.relname || '_append_only'
                           and p.proname = 'worka_refuse_change' and (g.tgtype & 1) = 1
                           and (g.tgtype & 2) = 2 and (g.tgtype & 8) = 8 and (g.tgtype & 16) = 16),
                 exists (select from pg_trigger g join pg_proc p on p.oid = g.tgfoid
                         where g.tgrelid = c.oid and g.tgname = c.relname || '_no_truncate'
                           and p.proname = 'worka_refuse_change' and (g.tgtype & 32) = 32)
          from pg_class c where c.relname = any(array['gates', 'burns', 'run_events', 'policy_manifests',
            'policy_activations', 'invocation_lock_events', 'model_usage', 'model_reservations', 'run_refusals'])
          order by 1""")) {
                int tables = 0;
                while (rs.next()) {
                  tables++;
                  if (!rs.getBoolean(2)) {
                    found.add(
                        rs.getString(1)
                            + ": no row trigger refusing UPDATE and DELETE before they happen");
                  }
                  if (!rs.getBoolean(3)) {
                    found.add(rs.getString(1) + ": no trigger refusing TRUNCATE");
                  }
                }
                if (tables != 9) {
                  found.add("expected 9 append-only tables, found " + tables);
                }
              }
              return found;
            });
    assertEquals(List.of(), missing);
  }

  @Test
  void databaseUrlsInBothForms() {
    DatabaseUrl supabase =
        DatabaseUrl.parse(
            "postgresql://postgres.abc:s%40cret@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=require",
            null, null);
    assertEquals(
        "jdbc:postgresql://aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=require",
        supabase.jdbcUrl());
    assertEquals("postgres.abc", supabase.user());
    assertEquals("s@cret", supabase.password());
    assertTrue(!supabase.toString().contains("s@cret"));

    DatabaseUrl jdbc = DatabaseUrl.parse("jdbc:postgresql://db:5432/worka", "worka", "pw");
    assertEquals("jdbc:postgresql://db:5432/worka", jdbc.jdbcUrl());
    assertEquals("worka", jdbc.user());

    DatabaseUrl noPort = DatabaseUrl.parse("postgres://u@h/d", null, null);
    assertEquals("jdbc:postgresql://h:5432/d", noPort.jdbcUrl());
    assertNull(noPort.password());

    assertThrows(IllegalArgumentException.class, () -> DatabaseUrl.parse("mysql://x", null, null));
  }
}
