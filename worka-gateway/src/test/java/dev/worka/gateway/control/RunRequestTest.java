package dev.worka.gateway.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.worka.gateway.policy.Requester;
import dev.worka.gateway.run.ReplyTo;
import dev.worka.gateway.run.RunSource;
import org.junit.jupiter.api.Test;

class RunRequestTest {
  private static final ReplyTo.SlackThread THREAD =
      new ReplyTo.SlackThread("C0DEV", "U1", "1700000001.000100", "app_mention", null, null, null);

  @Test
  void anOperatorRequestIsAnsweredNowhere() {
    RunService.Request r = new RunService.Request(RunSource.CLI, "t", "alice", null);
    assertEquals(new ReplyTo.Nowhere(), r.replyTo());
    assertEquals("cli:alice", r.who().subject());
  }

  @Test
  void aRequestIsAnsweredOnlyWhereItsSourceIs() {
    new RunService.Request(
        RunSource.SLACK,
        "t",
        "U1",
        THREAD,
        null,
        null,
        new Requester.SlackUser("U1", null, null, "C0DEV", false));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new RunService.Request(
                RunSource.API,
                "t",
                null,
                THREAD,
                null,
                null,
                new Requester.Operator(RunSource.API, null)));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new RunService.Request(
                RunSource.SLACK,
                "t",
                "U1",
                new ReplyTo.Nowhere(),
                null,
                null,
                new Requester.SlackUser("U1", null, null, "C0DEV", false)));
  }

  @Test
  void theRequestHashIsTheOneOfTheSlackFieldsAsBefore() {
    // sha256 of {"source":"slack","text":"t","requester":"U1","slack_channel":"C0DEV",
    // "slack_thread_ts":"1700000001.000100"}: what runs created before ReplyTo carry.
    RunService.Request r =
        new RunService.Request(
            RunSource.SLACK,
            "t",
            "U1",
            THREAD,
            null,
            null,
            new Requester.SlackUser("U1", null, null, "C0DEV", false));
    assertEquals(EXPECTED_SLACK_HASH, RunService.requestHash(r));
  }

  private static final String EXPECTED_SLACK_HASH =
      "9eb9c279c1d68a79828eeed3002ca34d9d4b2b22316574ab1faa89bf436d989a";
}
