package dev.worka.gateway.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.delivery.RunNotifications;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.gateway.store.Transactions;
import dev.worka.protocol.Json;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Where a run is answered is stored in the columns and the delivery context the ingresses wrote
 * before it was a type, and the run vocabularies keep their stored names.
 */
class ReplyToTest {
  @RegisterExtension static TestDatabase db = new TestDatabase();

  private final SettableClock clock = new SettableClock();
  private final RunStore runs = new RunStore(clock, new RunNotifications(clock));

  private Run insert(RunSource source, ReplyTo replyTo) {
    UUID policy =
        new PolicyStore(db.dataSource(), clock).activate(BuiltinPolicy.source(), "test").id();
    return Transactions.inTransaction(
        db.dataSource(),
        c ->
            runs.insert(
                c,
                new RunStore.NewRun(
                    source, "hello", "U1", replyTo, null, "hash", "trace", policy, null),
                "test"));
  }

  @Test
  void aSlackThreadIsStoredInTheSlackColumnsAndItsFactsInTheDeliveryContext() {
    Run run =
        insert(
            RunSource.SLACK,
            new ReplyTo.SlackThread(
                "C0DEV", "U1", "1700000001.000100", "app_mention", "T0HOME", null, "channel"));
    assertEquals(RunSource.SLACK, run.source());
    assertEquals("C0DEV", run.slackChannel());
    assertEquals("U1", run.slackUser());
    assertEquals("1700000001.000100", run.slackThreadTs());
    assertEquals(
        Json.parse(
            "{\"kind\":\"app_mention\",\"team_id\":\"T0HOME\",\"channel_type\":\"channel\"}"),
        Json.parse(run.deliveryJson()));
  }

  @Test
  void aGithubIssueIsStoredInTheDeliveryContext() {
    Run run =
        insert(
            RunSource.GITHUB,
            new ReplyTo.GithubIssue(
                "acme", "widgets", 12, "https://github.com/acme/widgets/issues/12#c1", "d-1"));
    assertNull(run.slackChannel());
    assertNull(run.slackUser());
    assertNull(run.slackThreadTs());
    JsonNode delivery = Json.parse(run.deliveryJson());
    assertEquals(
        Json.parse(
            "{\"owner\":\"acme\",\"repo\":\"widgets\",\"issue_number\":12,"
                + "\"comment_url\":\"https://github.com/acme/widgets/issues/12#c1\","
                + "\"github_delivery\":\"d-1\"}"),
        delivery);
  }

  @Test
  void nowhereStoresAnEmptyDeliveryContext() {
    Run run = insert(RunSource.CLI, new ReplyTo.Nowhere());
    assertEquals(RunSource.CLI, run.source());
    assertNull(run.slackChannel());
    assertEquals(Json.parse("{}"), Json.parse(run.deliveryJson()));
  }

  @Test
  void sourcesKeepTheirStoredNames() {
    assertEquals(
        List.of("slack", "github", "api", "cli"),
        Arrays.stream(RunSource.values()).map(RunSource::sql).toList());
    for (RunSource source : RunSource.values()) {
      assertEquals(source, RunSource.fromSql(source.sql()));
    }
    IllegalStateException source =
        assertThrows(IllegalStateException.class, () -> RunSource.fromSql("email"));
    assertTrue(source.getMessage().contains("'email'"), source.getMessage());
  }
}
