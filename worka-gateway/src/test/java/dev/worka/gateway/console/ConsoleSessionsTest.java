package dev.worka.gateway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.SettableClock;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The console's sessions in PostgreSQL: random ids stored only as hashes, expiry, sign-out. */
class ConsoleSessionsTest {
  @RegisterExtension TestDatabase db = new TestDatabase();

  @Test
  void aSessionLivesUntilItExpiresOrEndsAndOnlyItsHashIsStored() {
    SettableClock clock = new SettableClock();
    ConsoleSessions sessions = new ConsoleSessions(db.dataSource(), clock);
    ConsoleSessions.Session s = sessions.start();
    ConsoleSessions.Session other = sessions.start();
    assertNotEquals(s.id(), other.id());
    assertNotEquals(s.csrfToken(), other.csrfToken());
    assertTrue(s.id().length() >= 43, "256 random bits");
    assertEquals(s.csrfToken(), sessions.find(s.id()).orElseThrow().csrfToken());

    List<String> stored =
        Transactions.withConnection(
            db.dataSource(),
            c -> Sql.list(c, "select id_sha256 from console_sessions", rs -> rs.getString(1)));
    assertEquals(2, stored.size());
    assertFalse(stored.contains(s.id()), "the table holds hashes, not cookies");
    assertFalse(s.toString().contains(s.id()) || s.toString().contains(s.csrfToken()));

    sessions.end(s.id());
    assertTrue(sessions.find(s.id()).isEmpty(), "signed out: the cookie means nothing");
    assertTrue(sessions.find(other.id()).isPresent());

    clock.advance(ConsoleSessions.LIFETIME.minusSeconds(1));
    assertTrue(sessions.find(other.id()).isPresent());
    clock.advance(Duration.ofSeconds(1));
    assertTrue(sessions.find(other.id()).isEmpty(), "expired");
    assertTrue(sessions.find("").isEmpty());
    assertTrue(sessions.find("x".repeat(5000)).isEmpty());

    sessions.start(); // deletes the expired
    assertEquals(
        1,
        Transactions.withConnection(
                db.dataSource(),
                c -> Sql.list(c, "select id_sha256 from console_sessions", rs -> rs.getString(1)))
            .size());
  }
}
