package dev.worka.gateway.memory;

import java.util.List;
import java.util.Optional;

/**
 * Where memories are kept: PostgreSQL ({@link PostgresMemories}, the default) or mem0 ({@link
 * Mem0Memories}). Every method may throw a {@link RuntimeException} when the store fails; callers
 * in this package turn that into nothing remembered or recalled.
 */
interface MemoryStore {
  /** What the store is, for log lines and the operator API ({@code postgres}, {@code mem0}). */
  String name();

  /** Adds {@code memory} (its id chosen here; a store may keep its own). */
  void add(Memory memory);

  /**
   * The memories of {@code agent} most relevant to {@code query}, best first, at most {@code
   * limit}.
   */
  List<Memory> search(String agent, String query, int limit);

  /** The memories of {@code agent}, newest first, at most {@code limit}. */
  List<Memory> list(String agent, int limit);

  /** The memory {@code id}, if the store has it. */
  Optional<Memory> find(String id);

  /** Deletes the memory {@code id}; whether the store had it. */
  boolean delete(String id);
}
