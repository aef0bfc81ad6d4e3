package dev.worka.gateway.memory;

import dev.worka.gateway.audit.AuditLog;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.gateway.run.RunStore;
import dev.worka.gateway.run.StepStore;
import java.time.InstantSource;
import java.util.List;
import javax.sql.DataSource;

/**
 * The Gateway's memory, built once by the composition root over the store its settings name: what
 * writes memories after a run succeeded ({@link #remember()}), what finds a step's snippets ({@link
 * #recall()}), what forgets one for an operator ({@link #forget()}), and the operator's listing.
 */
public final class Memories {
  /** Memories one listing returns at most. */
  public static final int MAX_LIST = 200;

  private final DataSource dataSource;
  private final MemoryStore store;
  private final RememberRun remember;
  private final RecallMemories recall;
  private final ForgetMemory forget;

  /**
   * @param cleaner the cleaning of outputs (secrets, token formats, broadcasts), applied to every
   *     text remembered and recalled
   */
  public Memories(
      MemorySettings settings,
      DataSource dataSource,
      RunStore runs,
      StepStore steps,
      AuditLog audit,
      OutputCleaner cleaner,
      InstantSource clock) {
    this.dataSource = dataSource;
    this.store =
        settings
            .mem0()
            .<MemoryStore>map(m -> new Mem0Memories(m, cleaner))
            .orElseGet(() -> new PostgresMemories(dataSource));
    this.remember = new RememberRun(dataSource, runs, steps, store, cleaner, clock);
    this.recall = new RecallMemories(dataSource, store, cleaner);
    this.forget = new ForgetMemory(dataSource, store, audit, clock);
  }

  public RememberRun remember() {
    return remember;
  }

  public RecallMemories recall() {
    return recall;
  }

  public ForgetMemory forget() {
    return forget;
  }

  /** The store's name: {@code postgres} or {@code mem0}. */
  public String store() {
    return store.name();
  }

  /**
   * The memories in {@code agent}'s namespace, newest first, at most {@code limit} (up to {@value
   * #MAX_LIST}); throws when the store fails (an operator is told).
   */
  public List<Memory> list(String agent, int limit) {
    List<Memory> listed = store.list(agent, Math.min(Math.max(limit, 1), MAX_LIST));
    java.util.Set<String> forgotten = ForgetMemory.forgotten(dataSource, listed);
    return listed.stream().filter(m -> !forgotten.contains(m.id())).toList();
  }
}
