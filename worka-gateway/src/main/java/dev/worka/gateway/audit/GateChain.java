package dev.worka.gateway.audit;

import dev.worka.gateway.store.Lock;
import dev.worka.gateway.store.Sql;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.erdtman.jcs.JsonCanonicalizer;

/**
 * The gates' hash chain: each gate's hash is SHA-256 over the RFC 8785 canonical JSON of its
 * content and the previous gate's hash, so editing, removing or inserting a gate anywhere breaks
 * every later link. {@link #verify} walks the chain and names the first row that breaks it.
 *
 * <p>The chain makes tampering evident to anyone who verifies; it does not stop someone who can
 * rewrite the whole tail after the point they edit. Anchoring the head elsewhere (exporting it
 * periodically) closes that, and is not built yet.
 */
public final class GateChain {
  /** The "previous hash" of the first gate. */
  public static final String GENESIS = "0".repeat(64);

  private GateChain() {}

  /** The hash a gate must carry. */
  static String hash(Gate g) {
    Map<String, Object> content = new LinkedHashMap<>();
    content.put("id", g.id().toString());
    content.put("chain_index", g.chainIndex());
    content.put("prev_hash", g.prevHash());
    content.put("action", g.action().sql());
    content.put("status", g.status().sql());
    content.put("subject", g.subject());
    content.put("run_id", str(g.runId()));
    content.put("step_id", str(g.stepId()));
    content.put("attempt", g.attempt());
    content.put("skill", g.skill());
    content.put("reason", g.reason());
    content.put("policy_manifest_id", str(g.policyManifestId()));
    content.put("trace_id", g.traceId());
    content.put("created_at", g.createdAt().toString());
    try {
      String canonical = new JsonCanonicalizer(Json.write(content)).getEncodedString();
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256")
                  .digest(canonical.getBytes(StandardCharsets.UTF_8)));
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot hash gate " + g.id(), e);
    }
  }

  private static String str(UUID id) {
    return id == null ? null : id.toString();
  }

  /** What a walk of the chain found. */
  public sealed interface Verification {
    /** Every gate links to the one before it and matches its hash; the head agrees. */
    record Intact(long length, String headHash) implements Verification {}

    /** The first place the chain breaks: which gate (by chain position and id) and how. */
    record Broken(long chainIndex, String gateId, String problem) implements Verification {}
  }

  /**
   * A gate row as the walk reads it: its place in the chain, and the gate, unless its action is one
   * no Gateway writes (then the row was edited, and {@link AuditLog#readGate} would refuse it).
   */
  private record Row(long chainIndex, UUID id, String prevHash, String hash, Optional<Gate> gate) {
    static Row read(java.sql.ResultSet rs) throws SQLException {
      Optional<Gate> gate =
          GateAction.known(rs.getString("action"))
              ? Optional.of(AuditLog.readGate(rs))
              : Optional.empty();
      return new Row(
          rs.getLong("chain_index"),
          Sql.getUuid(rs, "id"),
          rs.getString("prev_hash"),
          rs.getString("hash"),
          gate);
    }
  }

  /** Walks every gate in chain order; reads in pages so the chain can be long. */
  public static Verification verify(Connection c) throws SQLException {
    long unchained =
        Sql.one(c, "select count(*) from gates where chain_index is null", rs -> rs.getLong(1))
            .orElseThrow();
    if (unchained > 0) {
      return new Verification.Broken(
          0,
          null,
          unchained
              + " gate row(s) carry no chain position: they were inserted outside the Gateway");
    }
    long expected = 1;
    String prev = GENESIS;
    long after = 0;
    while (true) {
      List<Row> page =
          Sql.list(
              c,
              "select * from gates where chain_index > ? order by chain_index limit 1000",
              Row::read,
              after);
      for (Row row : page) {
        after = row.chainIndex();
        if (row.chainIndex() != expected) {
          return new Verification.Broken(
              expected,
              null,
              "gate #"
                  + expected
                  + " is missing: the chain jumps from #"
                  + (expected - 1)
                  + " to #"
                  + row.chainIndex()
                  + " (gate "
                  + row.id()
                  + "), so a gate was removed");
        }
        if (!Objects.equals(row.prevHash(), prev)) {
          return new Verification.Broken(
              expected,
              row.id().toString(),
              "gate #"
                  + expected
                  + " ("
                  + row.id()
                  + ") does not link to gate #"
                  + (expected - 1)
                  + ": it was inserted out of order, or the gate before it was replaced");
        }
        // An action no Gateway writes was not hashed by one either.
        if (row.gate().isEmpty() || !Objects.equals(hash(row.gate().get()), row.hash())) {
          return new Verification.Broken(
              expected,
              row.id().toString(),
              "gate #"
                  + expected
                  + " ("
                  + row.id()
                  + ") was edited: its content no longer matches its hash");
        }
        prev = row.hash();
        expected++;
      }
      if (page.isEmpty()) {
        break;
      }
    }
    long length = expected - 1;
    Optional<AuditLog.ChainHead> head = AuditLog.chainHead(c, Lock.NONE);
    if (head.isEmpty()) {
      return new Verification.Broken(length, null, "the chain head row is missing");
    }
    if (head.get().length() != length || !head.get().hash().equals(prev)) {
      return new Verification.Broken(
          length + 1,
          null,
          "the chain ends at gate #"
              + length
              + " but its head says #"
              + head.get().length()
              + ": gates were removed from the end, or the head was altered");
    }
    return new Verification.Intact(length, prev);
  }
}
