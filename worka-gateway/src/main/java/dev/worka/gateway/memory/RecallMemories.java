package dev.worka.gateway.memory;

import dev.worka.gateway.redaction.OutputCleaner;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory snippets of a step envelope ({@code GET /v1/agent/context}): the memories of the
 * step's agent — its own namespace, named by its verified token, never by what it asks — most
 * relevant to the step's objective, at most {@value #MAX_SNIPPETS} of at most {@value
 * #MAX_SNIPPET_CHARS} characters each. Whether the agent may have them at all ({@code
 * memory.search}) is the caller's to check. Forgotten memories are left out (also when the store
 * still has them), and every snippet is cleaned again (a store such as mem0 is an upstream).
 *
 * <p>Best-effort: a store that fails, answers garbage or is slow gives no snippets and a warning;
 * the step goes on without them.
 */
public final class RecallMemories {
  private static final Logger log = LoggerFactory.getLogger(RecallMemories.class);

  /** Snippets one envelope carries at most. */
  public static final int MAX_SNIPPETS = 5;

  /** Characters one snippet holds at most. */
  public static final int MAX_SNIPPET_CHARS = 800;

  private final DataSource dataSource;
  private final MemoryStore store;
  private final OutputCleaner cleaner;

  RecallMemories(DataSource dataSource, MemoryStore store, OutputCleaner cleaner) {
    this.dataSource = dataSource;
    this.store = store;
    this.cleaner = cleaner;
  }

  /**
   * The snippets for a step of {@code agent} whose objective is {@code objective}; never throws.
   */
  public List<String> snippets(String agent, String objective) {
    try {
      List<Memory> found = store.search(agent, objective, MAX_SNIPPETS * 2);
      Set<String> forgotten = ForgetMemory.forgotten(dataSource, found);
      List<String> snippets = new ArrayList<>();
      Set<String> seen = new HashSet<>();
      for (Memory m : found) {
        if (snippets.size() == MAX_SNIPPETS) {
          break;
        }
        if (!m.agent().equals(agent) || forgotten.contains(m.id())) {
          continue; // another namespace's, or forgotten: never given out
        }
        String text =
            RememberRun.cut(cleaner.cleanText(m.text(), new HashMap<>()), MAX_SNIPPET_CHARS);
        if (!text.isBlank() && seen.add(text)) {
          snippets.add(text);
        }
      }
      return snippets;
    } catch (RuntimeException e) {
      log.warn(
          "memory: search in {}'s namespace failed ({} store), the step gets no memory: {}",
          agent,
          store.name(),
          e.toString());
      return List.of();
    }
  }
}
