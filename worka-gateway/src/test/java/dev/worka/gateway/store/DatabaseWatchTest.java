package dev.worka.gateway.store;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watch notices on its own connection that the database stopped answering and that it answers
 * again; readiness follows it without waiting for the pool.
 */
class DatabaseWatchTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(50);

  @TempDir Path data;

  @Test
  void theWatchSeesTheDatabaseGoAndComeBack() throws Exception {
    try (StoppablePostgres postgres = StoppablePostgres.start(data.resolve("pg"));
        Database database = Database.connect(postgres.url("postgres"), 2, "watch-test")) {
      database.watch(Duration.ofMillis(200));
      assertTrue(database.reachable());
      assertFalse(database.down());

      postgres.stop();
      await("the watch noticed the outage").atMost(WAIT).pollInterval(POLL).until(database::down);
      assertFalse(database.reachable(), "readiness follows the watch");

      postgres.restart();
      await("the watch noticed the database is back")
          .atMost(WAIT)
          .pollInterval(POLL)
          .until(() -> !database.down());
      await("the pool reconnects").atMost(WAIT).pollInterval(POLL).until(database::reachable);
    }
  }
}
