package dev.worka.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The JDBC runner every repository uses: binding by position and type, one row, rows, updates. */
class SqlTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private record Row(
      String text, UUID id, Integer n, Long big, Boolean flag, Instant at, String json) {}

  @Test
  void everyParameterTypeIsBoundByPositionAndReadBack() {
    UUID id = UUID.randomUUID();
    Instant at = Instant.parse("2026-12-06T10:15:30.123456Z");
    Row row =
        Transactions.withConnection(
                db.dataSource(),
                c ->
                    Sql.one(
                        c,
                        "select ?::text as text, ?::uuid as id, ?::int as n, ?::bigint as big,"
                            + " ?::boolean as flag, ?::timestamptz as at, ?::jsonb as json",
                        rs ->
                            new Row(
                                rs.getString("text"),
                                Sql.getUuid(rs, "id"),
                                rs.getInt("n"),
                                rs.getLong("big"),
                                rs.getBoolean("flag"),
                                Sql.getInstant(rs, "at"),
                                rs.getString("json")),
                        "héllo",
                        id,
                        42,
                        1L << 40,
                        true,
                        at,
                        Sql.json("{\"a\": [1, 2]}")))
            .orElseThrow();
    assertEquals(new Row("héllo", id, 42, 1L << 40, true, at, "{\"a\": [1, 2]}"), row);
  }

  @Test
  void arraysAndNullsBindWhereTheyStand() {
    UUID a = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    List<Object> read =
        Transactions.withConnection(
                db.dataSource(),
                c ->
                    Sql.one(
                        c,
                        "select ? = any(?) as has, cardinality(?) as n,"
                            + " coalesce(?, 'none') as text, coalesce(?::jsonb, '{}') as json,"
                            + " coalesce(?, now()) is not null as at",
                        rs ->
                            List.<Object>of(
                                rs.getBoolean("has"),
                                rs.getInt("n"),
                                rs.getString("text"),
                                rs.getString("json"),
                                rs.getBoolean("at")),
                        b,
                        Sql.uuidArray(c, List.of(a, b)),
                        Sql.textArray(c, List.of("x", "y", "z")),
                        null,
                        Sql.json(null),
                        (Instant) null))
            .orElseThrow();
    assertEquals(List.of(true, 3, "none", "{}", true), read);
  }

  @Test
  void oneIsTheFirstRowOrEmptyListIsEveryRowInOrderAndUpdateCountsRows() {
    Transactions.inTransaction(
        db.dataSource(),
        c -> {
          Sql.execute(c, "create temporary table t (k int primary key, v text) on commit drop");
          assertEquals(
              3,
              Sql.update(
                  c, "insert into t values (?, ?), (?, ?), (?, ?)", 2, "b", 1, "a", 3, null));
          assertEquals(
              List.of("a", "b", "-"),
              Sql.list(
                  c,
                  "select coalesce(v, '-') from t where k >= ? order by k",
                  rs -> rs.getString(1),
                  1));
          assertEquals(
              Optional.of("b"),
              Sql.one(c, "select v from t order by k desc offset ?", rs -> rs.getString(1), 1));
          assertEquals(
              Optional.empty(),
              Sql.one(c, "select v from t where k = ?", rs -> rs.getString(1), 9));
          assertEquals(
              Optional.empty(),
              Sql.one(c, "select v from t where k = ?", rs -> rs.getString(1), 3),
              "a null read is empty");
          assertEquals(2, Sql.update(c, "delete from t where v is not null and k <= ?", 2));
          return null;
        });
  }

  @Test
  void aParameterOfAnotherTypeIsRefusedNamingItsPosition() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Transactions.withConnection(
                    db.dataSource(),
                    c -> Sql.one(c, "select ?, ?", rs -> 1, "fine", List.of("not", "bound"))));
    assertTrue(e.getMessage().startsWith("SQL parameter 2 is a java.util."), e.getMessage());
  }
}
