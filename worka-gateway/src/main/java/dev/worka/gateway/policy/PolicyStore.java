package dev.worka.gateway.policy;

import dev.worka.gateway.store.Sha256;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * Policy versions in {@code policy_manifests} and which one is active in {@code
 * policy_activations}. Both tables are append-only (the database refuses UPDATE and DELETE): a new
 * manifest is a new row with the next version, and activating it is a new activation row. The
 * active policy is the manifest of the latest activation.
 *
 * <p>Manifest rows never change, so they are cached by id once read.
 */
public final class PolicyStore {
  private static final String COLUMNS =
      "m.id, m.version, m.sha256, m.source_text, m.compiled, m.created_at";

  private final DataSource dataSource;
  private final InstantSource clock;
  private final SkillFields skillFields;
  private final Map<UUID, StoredPolicy> byId = new ConcurrentHashMap<>();

  /** A store whose activations do not check conditions' input fields (no skill catalog known). */
  public PolicyStore(DataSource dataSource, InstantSource clock) {
    this(dataSource, clock, SkillFields.unknown());
  }

  /**
   * A store whose activations compile with {@link PolicyCompiler#compile(String, SkillFields)}: a
   * condition that reads an input field its skill does not have makes the manifest invalid.
   */
  public PolicyStore(DataSource dataSource, InstantSource clock, SkillFields skillFields) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.skillFields = Objects.requireNonNull(skillFields, "skillFields");
  }

  /**
   * Compiles {@code yamlSource} and makes it the active policy. If its SHA-256 equals the active
   * manifest's, the active one is returned unchanged (no new version); otherwise a new version (the
   * highest so far + 1) is stored and activated in one transaction. Concurrent activations are
   * serialized by a transaction-scoped advisory lock.
   *
   * @param actor who asked (an operator, {@code "startup"}), recorded in both rows
   * @throws InvalidPolicyException with every compiler error; nothing is stored
   */
  public StoredPolicy activate(String yamlSource, String actor) {
    return activate(yamlSource, actor, ADMIT_ALL);
  }

  /**
   * What else must hold for an uploaded manifest to become active, and what is recorded with its
   * activation (the caller's gate): both run inside {@link #activate(String, String, Admission)}.
   */
  public interface Admission {
    /**
     * Why {@code policy} may not become active; empty when it may. Called before anything is
     * stored.
     */
    List<String> refusals(CompiledPolicy policy);

    /** Called in the transaction that stores and activates a new version, after both rows. */
    void activated(Connection c, StoredPolicy activated) throws SQLException;
  }

  private static final Admission ADMIT_ALL =
      new Admission() {
        @Override
        public List<String> refusals(CompiledPolicy policy) {
          return List.of();
        }

        @Override
        public void activated(Connection c, StoredPolicy activated) {}
      };

  /**
   * As {@link #activate(String, String)}, if {@code admission} has no refusal for the compiled
   * manifest; {@code admission} also records, in the activating transaction, that a new version
   * became active (nothing is recorded when the manifest is the active one already).
   *
   * @throws InvalidPolicyException with every compiler error; nothing is stored
   * @throws PolicyRefusedException with {@code admission}'s refusals; nothing is stored
   */
  public StoredPolicy activate(String yamlSource, String actor, Admission admission) {
    if (actor == null || actor.isBlank()) {
      throw new IllegalArgumentException("activating a policy needs an actor, got " + actor);
    }
    CompiledPolicy policy =
        switch (PolicyCompiler.compile(yamlSource, skillFields)) {
          case Compilation.Compiled c -> c.policy();
          case Compilation.Invalid i -> throw new InvalidPolicyException(i.errors());
        };
    List<String> refusals = admission.refusals(policy);
    if (!refusals.isEmpty()) {
      throw new PolicyRefusedException(refusals);
    }
    String sha256 = sha256(yamlSource);
    StoredPolicy stored =
        Transactions.inTransaction(
            dataSource,
            c -> {
              // Serializes activations across Gateways without needing UPDATE on the table (the
              // application role may only insert into it).
              Sql.execute(c, "select pg_advisory_xact_lock(hashtext('worka.policy_activations'))");
              Optional<StoredPolicy> active = activeRow(c);
              if (active.isPresent() && active.get().sha256().equals(sha256)) {
                return active.get();
              }
              int version = nextVersion(c);
              StoredPolicy created =
                  new StoredPolicy(
                      UUID.randomUUID(), version, sha256, yamlSource, policy, clock.instant());
              insertManifest(c, created, actor);
              insertActivation(c, created.id(), actor);
              admission.activated(c, created);
              return created;
            });
    return cache(stored);
  }

  /**
   * Who made the latest activation (e.g. {@code built-in}, {@code operator}), or empty before the
   * first.
   */
  public Optional<String> activeActor() {
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.one(
                c,
                "select activated_by from policy_activations order by id desc limit 1",
                rs -> rs.getString(1)));
  }

  /** The policy of the latest activation, or empty before the first activation. */
  public Optional<StoredPolicy> active() {
    return Transactions.withConnection(dataSource, this::active);
  }

  /** As {@link #active()}, read on the caller's connection (inside its transaction). */
  public Optional<StoredPolicy> active(Connection c) throws SQLException {
    Optional<UUID> id =
        Sql.one(
            c,
            "select manifest_id from policy_activations order by id desc limit 1",
            rs -> Sql.getUuid(rs, "manifest_id"));
    return id.isEmpty() ? Optional.empty() : Optional.of(byId(c, id.get()));
  }

  /**
   * The manifest version {@code id} (cached: rows are immutable).
   *
   * @throws IllegalStateException if no manifest has that id (runs reference manifests by a foreign
   *     key, so a missing one is a broken invariant)
   */
  public StoredPolicy byId(UUID id) {
    Objects.requireNonNull(id, "id");
    StoredPolicy cached = byId.get(id);
    if (cached != null) {
      return cached;
    }
    return Transactions.withConnection(dataSource, c -> byId(c, id));
  }

  /**
   * As {@link #byId(UUID)}, read on the caller's connection (inside its transaction) when it is not
   * cached yet.
   */
  public StoredPolicy byId(Connection c, UUID id) throws SQLException {
    Objects.requireNonNull(id, "id");
    StoredPolicy cached = byId.get(id);
    if (cached != null) {
      return cached;
    }
    StoredPolicy row =
        Sql.one(
                c,
                "select " + COLUMNS + " from policy_manifests m where m.id = ?",
                PolicyStore::row,
                id)
            .orElseThrow(
                () -> new IllegalStateException("policy manifest " + id + " does not exist"));
    return cache(row);
  }

  /** Every stored version, oldest first. */
  public List<StoredPolicy> versions() {
    return Transactions.withConnection(
        dataSource,
        c ->
            List.copyOf(
                Sql.list(
                    c,
                    "select " + COLUMNS + " from policy_manifests m order by m.version",
                    rs -> {
                      StoredPolicy cached = byId.get(Sql.getUuid(rs, "id"));
                      return cached != null ? cached : cache(row(rs));
                    })));
  }

  /** Hex SHA-256 of the UTF-8 source text, as stored in {@code policy_manifests.sha256}. */
  static String sha256(String source) {
    return Sha256.hex(source);
  }

  private static Optional<StoredPolicy> activeRow(Connection c) throws SQLException {
    return Sql.one(
        c,
        "select "
            + COLUMNS
            + " from policy_activations a join policy_manifests m on m.id = a.manifest_id"
            + " order by a.id desc limit 1",
        PolicyStore::row);
  }

  private static int nextVersion(Connection c) throws SQLException {
    return Sql.one(
            c, "select coalesce(max(version), 0) + 1 from policy_manifests", rs -> rs.getInt(1))
        .orElseThrow();
  }

  private static void insertManifest(Connection c, StoredPolicy p, String actor)
      throws SQLException {
    Sql.update(
        c,
        "insert into policy_manifests"
            + " (id, version, sha256, source_text, compiled, created_by, created_at)"
            + " values (?, ?, ?, ?, ?, ?, ?)",
        p.id(),
        p.version(),
        p.sha256(),
        p.source(),
        Sql.json(p.policy().toJson()),
        actor,
        p.createdAt());
  }

  private void insertActivation(Connection c, UUID manifestId, String actor) throws SQLException {
    Sql.update(
        c,
        "insert into policy_activations (manifest_id, activated_by, activated_at)"
            + " values (?, ?, ?)",
        manifestId,
        actor,
        clock.instant());
  }

  private static StoredPolicy row(ResultSet rs) throws SQLException {
    return new StoredPolicy(
        Sql.getUuid(rs, "id"),
        rs.getInt("version"),
        rs.getString("sha256"),
        rs.getString("source_text"),
        CompiledPolicy.fromJson(rs.getString("compiled")),
        Sql.getInstant(rs, "created_at"));
  }

  /** The cached instance for this row's id (the first one read wins; they are equal anyway). */
  private StoredPolicy cache(StoredPolicy row) {
    StoredPolicy earlier = byId.putIfAbsent(row.id(), row);
    return earlier != null ? earlier : row;
  }
}
