package dev.worka.gateway.memory;

import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The embedded memory store: the {@code memories} table, searched with PostgreSQL's full-text
 * search (a stored {@code tsvector} with a GIN index, {@code websearch_to_tsquery} and {@code
 * ts_rank}), so memory needs no service besides the database. A query matches a memory that shares
 * any of its words (stemmed, English), ranked by how well; a memory whose id was forgotten never
 * matches. Owns {@code memories}.
 */
final class PostgresMemories implements MemoryStore {
  /** Words of a query used at most (the rest of a long objective adds little). */
  static final int MAX_QUERY_WORDS = 32;

  /** How long a search may take before it is given up (the step's context goes without). */
  static final String SEARCH_TIMEOUT = "2s";

  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}]{2,40}");
  private static final String COLUMNS = "id, agent, run_id, step_id, content, created_at";

  private final DataSource dataSource;

  PostgresMemories(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Override
  public String name() {
    return "postgres";
  }

  @Override
  public void add(Memory m) {
    Transactions.inTransaction(
        dataSource,
        c ->
            Sql.update(
                c,
                "insert into memories (id, agent, run_id, step_id, content, sha256, created_at)"
                    + " values (?, ?, ?, ?, ?, ?, ?) on conflict (step_id) do nothing",
                UUID.fromString(m.id()),
                m.agent(),
                m.runId(),
                m.stepId(),
                m.text(),
                Digest.sha256(m.text()),
                m.createdAt()));
  }

  @Override
  public List<Memory> search(String agent, String query, int limit) {
    String words = orQuery(query);
    if (words.isEmpty()) {
      return List.of();
    }
    return Transactions.inTransaction(
        dataSource,
        c -> {
          Sql.execute(c, "set local statement_timeout = '" + SEARCH_TIMEOUT + "'");
          return Sql.list(
              c,
              "select "
                  + COLUMNS
                  + " from memories m, websearch_to_tsquery('english', ?) q"
                  + " where m.agent = ? and m.search @@ q"
                  + " and not exists (select from memory_forgets f where f.memory_id = m.id::text)"
                  + " order by ts_rank(m.search, q) desc, m.created_at desc, m.id limit ?",
              PostgresMemories::read,
              words,
              agent,
              limit);
        });
  }

  @Override
  public List<Memory> list(String agent, int limit) {
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.list(
                c,
                "select "
                    + COLUMNS
                    + " from memories where agent = ? order by created_at desc, id limit ?",
                PostgresMemories::read,
                agent,
                limit));
  }

  @Override
  public Optional<Memory> find(String id) {
    UUID uuid = uuidOrNull(id);
    if (uuid == null) {
      return Optional.empty();
    }
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.one(
                c,
                "select " + COLUMNS + " from memories where id = ?",
                PostgresMemories::read,
                uuid));
  }

  @Override
  public boolean delete(String id) {
    UUID uuid = uuidOrNull(id);
    if (uuid == null) {
      return false;
    }
    return Transactions.inTransaction(
            dataSource, c -> Sql.update(c, "delete from memories where id = ?", uuid))
        > 0;
  }

  /**
   * {@code query}'s words joined by {@code or} for {@code websearch_to_tsquery}: a memory matches
   * when it shares any of them (its rank says how many and how often). Only letters and digits
   * pass, so nothing in a query is read as search syntax.
   */
  static String orQuery(String query) {
    if (query == null) {
      return "";
    }
    Set<String> words = new LinkedHashSet<>();
    Matcher m = WORD.matcher(query);
    while (m.find() && words.size() < MAX_QUERY_WORDS) {
      String w = m.group().toLowerCase(Locale.ROOT);
      if (!w.equals("or")) {
        words.add(w);
      }
    }
    return String.join(" or ", words);
  }

  private static UUID uuidOrNull(String id) {
    try {
      return UUID.fromString(id);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static Memory read(ResultSet rs) throws SQLException {
    return new Memory(
        rs.getObject("id").toString(),
        rs.getString("agent"),
        Sql.getUuid(rs, "run_id"),
        Sql.getUuid(rs, "step_id"),
        rs.getString("content"),
        Sql.getInstant(rs, "created_at"));
  }
}
