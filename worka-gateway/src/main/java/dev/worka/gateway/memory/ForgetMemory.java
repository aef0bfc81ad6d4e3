package dev.worka.gateway.memory;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.audit.Gate;
import dev.worka.gateway.audit.GateAction;
import dev.worka.gateway.audit.GateStatus;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import java.time.InstantSource;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An operator forgets a memory: the decision is recorded first — a {@code memory.forget} allow gate
 * and a {@code memory_forgets} row (the id and a digest of the text, never the text), one
 * transaction — then the store deletes it. From the commit on, the memory is never in a step's
 * context again, even while a store that deletes late (or failed to) still has it; and the same
 * text is not remembered again in that namespace. Owns {@code memory_forgets}.
 */
public final class ForgetMemory {
  private static final Logger log = LoggerFactory.getLogger(ForgetMemory.class);
  static final String OPERATOR = "operator";

  /** What forgetting a memory came to. */
  public sealed interface Outcome {
    /**
     * Forgotten: {@code gateId} records it; {@code deleted} whether the store deleted it now (when
     * not, it is hidden all the same and the reason was logged).
     */
    record Forgotten(Memory memory, UUID gateId, boolean deleted) implements Outcome {}

    /** The store has no memory {@code id}. */
    record NotFound(String id) implements Outcome {}

    /** The store could not be asked: {@code why}, in words. */
    record Unavailable(String why) implements Outcome {}
  }

  private final DataSource dataSource;
  private final MemoryStore store;
  private final AuditLog audit;
  private final InstantSource clock;

  ForgetMemory(DataSource dataSource, MemoryStore store, AuditLog audit, InstantSource clock) {
    this.dataSource = dataSource;
    this.store = store;
    this.audit = audit;
    this.clock = clock;
  }

  public Outcome forget(String id) {
    Optional<Memory> found;
    try {
      found = store.find(id);
    } catch (RuntimeException e) {
      return new Outcome.Unavailable(
          "the " + store.name() + " memory store could not be asked: " + e.getMessage());
    }
    if (found.isEmpty()) {
      return new Outcome.NotFound(id);
    }
    Memory memory = found.get();
    // A memory's run and step as this Gateway wrote them (PostgreSQL) file the gate under that
    // run; mem0's metadata is an upstream's word, so there they are only named in the reason.
    boolean ownRecord = store instanceof PostgresMemories;
    Gate gate =
        Transactions.inTransaction(
            dataSource,
            c -> {
              Gate g =
                  audit.recordGate(
                      c,
                      new AuditLog.Decision(
                          GateAction.MEMORY_FORGET,
                          GateStatus.ALLOW,
                          OPERATOR,
                          ownRecord ? memory.runId() : null,
                          ownRecord ? memory.stepId() : null,
                          null,
                          null,
                          "memory "
                              + memory.id()
                              + " forgotten from "
                              + memory.agent()
                              + "'s namespace ("
                              + store.name()
                              + " store"
                              + (memory.runId() == null ? "" : ", run " + memory.runId())
                              + ")",
                          null,
                          null));
              Sql.update(
                  c,
                  "insert into memory_forgets (memory_id, agent, sha256, gate_id, created_at)"
                      + " values (?, ?, ?, ?, ?)",
                  memory.id(),
                  memory.agent(),
                  Digest.sha256(memory.text()),
                  g.id(),
                  clock.instant());
              return g;
            });
    boolean deleted;
    try {
      deleted = store.delete(memory.id());
    } catch (RuntimeException e) {
      log.warn(
          "memory: {} was forgotten (gate {}) but the {} store did not delete it: {}; it is"
              + " never given to an agent again",
          memory.id(),
          gate.id(),
          store.name(),
          e.toString());
      deleted = false;
    }
    return new Outcome.Forgotten(memory, gate.id(), deleted);
  }

  /** Which of {@code memories} an operator forgot (their ids). */
  static Set<String> forgotten(DataSource dataSource, List<Memory> memories) {
    if (memories.isEmpty()) {
      return Set.of();
    }
    List<String> ids = memories.stream().map(Memory::id).toList();
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.collect(
                c,
                "select memory_id from memory_forgets where memory_id = any (?)",
                rs -> rs.getString(1),
                new HashSet<>(),
                Sql.textArray(c, ids)));
  }
}
