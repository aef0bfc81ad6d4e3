package dev.worka.gateway.store;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watch notices on its own connection that the database stopped answering and that it answers
 * again; readiness follows it without waiting for the pool.
 */
class DatabaseWatchTest {
  @TempDir Path data;

  @Test
  void theWatchSeesTheDatabaseGoAndComeBack() throws Exception {
    try (StoppablePostgres postgres = StoppablePostgres.start(data.resolve("pg"));
        Database database = Database.connect(postgres.url("postgres"), 2, "watch-test")) {
      database.watch(Duration.ofMillis(200));
      assertTrue(database.reachable());
      assertFalse(database.down());

      postgres.stop();
      await(database::down, "the watch noticed the outage");
      assertFalse(database.reachable(), "readiness follows the watch");

      postgres.restart();
      await(() -> !database.down(), "the watch noticed the database is back");
      await(database::reachable, "the pool reconnects");
    }
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 60 s: " + what);
      }
      Thread.sleep(50);
    }
  }
}
