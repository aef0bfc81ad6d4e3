package dev.worka.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.store.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PolicyStoreTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private static final Instant T0 = Instant.parse("2026-11-22T10:15:30.123456Z");
  private static final String BUILTIN = BuiltinPolicy.source();
  private static final String NARROWER =
      BUILTIN
          .replace("      - slack.post_message\n", "")
          .replaceAll(
              "(?s)\n  slack\\.post_message:\n    side_effect: true\n.*?\n(?=\n# --- limits)",
              "\n");

  private PolicyStore store() {
    return new PolicyStore(db.dataSource(), InstantSource.fixed(T0));
  }

  private long count(String table) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select count(*) from " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void firstActivationStoresVersionOne() {
    PolicyStore store = store();
    assertEquals(Optional.empty(), store.active());
    assertEquals(List.of(), store.versions());

    StoredPolicy v1 = store.activate(BUILTIN, "startup");
    assertEquals(1, v1.version());
    assertEquals(PolicyStore.sha256(BUILTIN), v1.sha256());
    assertEquals(BUILTIN, v1.source());
    assertEquals(BuiltinPolicy.compiled(), v1.policy());
    assertEquals(T0, v1.createdAt());
    assertEquals(Optional.of(v1), store.active());
    assertEquals(v1, store.byId(v1.id()));
    assertEquals(List.of(v1), store.versions());
  }

  @Test
  void declaredResourcesSurviveTheDatabase() {
    String source =
        BUILTIN.replace(
            "max_model_tokens_per_run: 200000",
            "max_model_tokens_per_run: 200000\n  resources: {memory: 64Gi, disk: 1024Gi, cpu: 250m}");
    StoredPolicy stored = store().activate(source, "operator");
    // A fresh store reads the row back from jsonb, not from its cache.
    CompiledPolicy read = store().byId(stored.id()).policy();
    assertEquals(stored.policy(), read);
    assertEquals(
        new Resources(64L << 30, 250, 128, 1024L << 30, 256),
        read.agents().get("hari").resources());
    assertTrue(
        read.unenforcedResources(List.of("memory", "cpu", "pids", "disk", "open_files"))
            .isPresent());
  }

  @Test
  void theSameSourceKeepsTheActiveVersion() throws SQLException {
    PolicyStore store = store();
    StoredPolicy v1 = store.activate(BUILTIN, "startup");
    StoredPolicy again = store.activate(BUILTIN, "operator");
    assertEquals(v1, again);
    assertEquals(1, count("policy_manifests"));
    assertEquals(1, count("policy_activations"));
  }

  @Test
  void aNewSourceIsTheNextVersionAndBecomesActive() throws SQLException {
    PolicyStore store = store();
    StoredPolicy v1 = store.activate(BUILTIN, "startup");
    StoredPolicy v2 = store.activate(NARROWER, "operator");
    assertEquals(2, v2.version());
    assertNotEquals(v1.id(), v2.id());
    assertNotEquals(v1.sha256(), v2.sha256());
    assertEquals(List.of("slack.read_thread"), v2.policy().agent("daneel").orElseThrow().skills());
    assertEquals(Optional.of(v2), store.active());

    // going back to an earlier text is a new version too: versions only grow
    StoredPolicy v3 = store.activate(BUILTIN, "operator");
    assertEquals(3, v3.version());
    assertEquals(v1.sha256(), v3.sha256());
    assertEquals(Optional.of(v3), store.active());
    assertEquals(List.of(1, 2, 3), store.versions().stream().map(StoredPolicy::version).toList());
    assertEquals(3, count("policy_activations"));
  }

  @Test
  void conditionsWorkOnAPolicyReadBackFromTheDatabase() {
    StoredPolicy stored = store().activate(BUILTIN, "startup");
    // a fresh store has nothing cached: it reads the row and compiles the conditions again
    CompiledPolicy read = store().byId(stored.id()).policy();
    assertNotSame(stored.policy(), read);
    assertEquals(stored.policy(), read);
    ConditionContext widgets = ConditionTest.issueIn("acme", "widgets");
    ConditionContext secret = ConditionTest.issueIn("acme", "secret");
    assertTrue(PolicyDecider.condition(read, "github.create_issue", widgets).allowed());
    assertEquals(
        "condition of github.create_issue does not hold: input.owner + \"/\" + input.repo in"
            + " lists.github_repos && size(input.title) <= 200",
        PolicyDecider.condition(read, "github.create_issue", secret).reason());
  }

  @Test
  void aStoreWithSkillFieldsChecksTheInputFieldsOfConditions() throws SQLException {
    PolicyStore store =
        new PolicyStore(
            db.dataSource(),
            InstantSource.fixed(T0),
            skill ->
                skill.startsWith("github.")
                    ? Optional.of(Set.of("owner", "repo", "title", "issue_number", "body"))
                    : Optional.empty());
    store.activate(BUILTIN, "startup");
    InvalidPolicyException e =
        assertThrows(
            InvalidPolicyException.class,
            () -> store.activate(BUILTIN.replace("input.owner + ", "input.ownr + "), "operator"));
    assertEquals(3, e.errors().size(), e.errors()::toString);
    assertTrue(
        e.errors().get(0).startsWith("skills.github.get_issue.when: 'input.ownr + "),
        e.errors()::toString);
    assertTrue(e.errors().get(0).contains(": input has no field 'ownr' (github.get_issue takes "));
    assertEquals(1, count("policy_manifests"));
  }

  @Test
  void anInvalidManifestThrowsWithEveryErrorAndStoresNothing() throws SQLException {
    PolicyStore store = store();
    InvalidPolicyException e =
        assertThrows(
            InvalidPolicyException.class,
            () ->
                store.activate(BUILTIN.replace("runtime: process", "runtime: docker"), "operator"));
    assertEquals(3, e.errors().size(), e.errors()::toString);
    assertTrue(
        e.errors()
            .contains(
                "agents.hari.runtime: unknown runtime 'docker' (expected process, kubernetes or"
                    + " wasm)"));
    assertTrue(e.getMessage().startsWith("invalid policy manifest: "));
    assertEquals(0, count("policy_manifests"));
    assertEquals(0, count("policy_activations"));
    assertEquals(Optional.empty(), store.active());
    assertThrows(IllegalArgumentException.class, () -> store.activate(BUILTIN, " "));
  }

  @Test
  void rowsAreReadBackByAnotherStoreFromTheCompiledColumn() {
    StoredPolicy v1 = store().activate(BUILTIN, "startup");
    PolicyStore fresh = store();
    assertEquals(v1, fresh.byId(v1.id()));
    assertEquals(Optional.of(v1), fresh.active());
    assertEquals(List.of(v1), fresh.versions());
    UUID unknown = UUID.randomUUID();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> fresh.byId(unknown));
    assertEquals("policy manifest " + unknown + " does not exist", e.getMessage());
  }

  @Test
  void theDatabaseRefusesToChangeOrDeleteAManifestOrAnActivation() throws SQLException {
    StoredPolicy v1 = store().activate(BUILTIN, "startup");
    for (String sql :
        List.of(
            "update policy_manifests set source_text = 'agents: {}' where id = '" + v1.id() + "'",
            "delete from policy_manifests where id = '" + v1.id() + "'",
            "update policy_activations set activated_by = 'mallory'",
            "delete from policy_activations")) {
      try (Connection c = db.dataSource().getConnection();
          Statement s = c.createStatement()) {
        SQLException refused = assertThrows(SQLException.class, () -> s.executeUpdate(sql), sql);
        assertTrue(refused.getMessage().contains("append-only"), refused.getMessage());
      }
    }
    assertEquals(v1, store().byId(v1.id()));
  }

  @Test
  void concurrentActivationsGetDistinctVersions() throws Exception {
    PolicyStore store = store();
    int writers = 6;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try {
      List<Future<StoredPolicy>> results = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        String source = BUILTIN + "\n# variant " + i + "\n";
        results.add(pool.submit(() -> store.activate(source, "operator")));
      }
      Set<Integer> versions = new TreeSet<>();
      for (Future<StoredPolicy> result : results) {
        versions.add(result.get().version());
      }
      assertEquals(Set.of(1, 2, 3, 4, 5, 6), versions);
      assertEquals(writers, store.versions().size());
      assertEquals(6, store.active().orElseThrow().version());
    } finally {
      pool.shutdownNow();
    }
  }
}
