package dev.worka.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The check behind every {@link TestDatabase} test: a thread that holds a pooled connection and
 * asks the same pool for another is recorded (one such borrow per connection of the pool deadlocks
 * it), while borrowing one after the other, or from another pool, is not.
 */
class SecondBorrowTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  @Test
  void aTransactionThatAsksItsPoolForASecondConnectionIsRecordedWithWhereItAsked() {
    Transactions.inTransaction(
        db.dataSource(),
        c ->
            Transactions.withConnection(
                db.dataSource(), inner -> Sql.one(inner, "select 1", rs -> 1)));
    Transactions.withConnection(
        db.dataSource(),
        c ->
            Transactions.inTransaction(
                db.dataSource(), inner -> Sql.one(inner, "select 1", rs -> 1)));
    List<Throwable> seen = Transactions.secondBorrowsSeen();
    assertEquals(2, seen.size(), "both nested borrows");
    assertTrue(
        seen.get(0).getStackTrace()[2].getMethodName().contains("aTransactionThatAsks"),
        "the stack names the code that asked: " + List.of(seen.get(0).getStackTrace()));
  }

  @Test
  void borrowingOneAfterTheOtherOrFromAnotherPoolIsFine() throws Exception {
    Transactions.inTransaction(db.dataSource(), c -> Sql.one(c, "select 1", rs -> 1));
    Transactions.withConnection(db.dataSource(), c -> Sql.one(c, "select 1", rs -> 1));
    try (Database other = Database.connect(db.url(), 1, "second-borrow-test")) {
      Transactions.inTransaction(
          db.dataSource(),
          c ->
              Transactions.withConnection(
                  other.dataSource(), inner -> Sql.one(inner, "select 1", rs -> 1)));
    }
    assertEquals(List.of(), Transactions.secondBorrowsSeen());
  }
}
