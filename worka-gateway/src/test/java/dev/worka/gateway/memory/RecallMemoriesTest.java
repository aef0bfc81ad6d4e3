package dev.worka.gateway.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.redaction.OutputCleaner;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a step gets when the store fails, and what a query becomes. */
class RecallMemoriesTest {
  /** A store that is down: every call throws, as a pool with no database or mem0 refusing would. */
  static final class DownStore implements MemoryStore {
    @Override
    public String name() {
      return "postgres";
    }

    @Override
    public void add(Memory memory) {
      throw new IllegalStateException("the database is unreachable");
    }

    @Override
    public List<Memory> search(String agent, String query, int limit) {
      throw new IllegalStateException("the database is unreachable");
    }

    @Override
    public List<Memory> list(String agent, int limit) {
      throw new IllegalStateException("the database is unreachable");
    }

    @Override
    public Optional<Memory> find(String id) {
      throw new IllegalStateException("the database is unreachable");
    }

    @Override
    public boolean delete(String id) {
      throw new IllegalStateException("the database is unreachable");
    }
  }

  @Test
  void aStoreThatIsDownGivesNoSnippetsAndThrowsNothing() {
    RecallMemories recall = new RecallMemories(null, new DownStore(), new OutputCleaner(List.of()));
    assertEquals(List.of(), recall.snippets("hari", "plan the request"));
  }

  @Test
  void forgettingInAStoreThatIsDownIsUnavailableAndRecordsNothing() {
    ForgetMemory forget = new ForgetMemory(null, new DownStore(), null, null);
    assertTrue(forget.forget("x") instanceof ForgetMemory.Outcome.Unavailable);
  }

  @Test
  void aQueryIsItsWordsJoinedByOrWithNoSearchSyntax() {
    assertEquals(
        "open or an or issue or in or acme or widgets",
        PostgresMemories.orQuery("Open an issue in \"acme/widgets\" -OR- (!)"));
    assertEquals("", PostgresMemories.orQuery("! - \" ( ) :"));
    String many =
        java.util.stream.IntStream.range(0, 100)
            .mapToObj(i -> "word" + i)
            .collect(java.util.stream.Collectors.joining(" "));
    assertEquals(
        PostgresMemories.MAX_QUERY_WORDS, PostgresMemories.orQuery(many).split(" or ").length);
  }

  @Test
  void aMemoryIsCutWithoutSplittingACharacter() {
    String text = "a".repeat(9) + "😀" + "b".repeat(10);
    String cut = RememberRun.cut(text, 11);
    assertTrue(cut.endsWith("…"), cut);
    assertTrue(cut.length() <= 11, cut);
    assertEquals(
        cut, new String(cut.codePoints().toArray(), 0, cut.codePointCount(0, cut.length())));
  }
}
