package dev.worka.gateway.skill.slack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.slack.api.Slack;
import com.slack.api.SlackConfig;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillDefinition;
import dev.worka.gateway.skill.SkillFailedException;
import dev.worka.gateway.skill.SkillOutcomeUnknownException;
import dev.worka.gateway.skill.SkillProvider.Reconciliation;
import dev.worka.protocol.Json;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The live Slack skills against the Web API stand-in, through the SDK client configured by URL
 * only.
 */
class SlackProviderTest {
  static final String TOKEN = "xoxb-provider-Secret-7777";

  private SlackApiStandIn slack;
  private Slack sdk;
  private SlackProvider provider;

  @BeforeEach
  void start() throws Exception {
    slack = new SlackApiStandIn();
    SlackConfig config = new SlackConfig();
    config.setMethodsEndpointUrlPrefix(slack.url());
    sdk = Slack.getInstance(config);
    provider =
        new SlackProvider(
            CatalogOnlyProvider.slack(true), sdk.methods(TOKEN), Duration.ofSeconds(30));
  }

  @AfterEach
  void stop() throws Exception {
    sdk.close();
    slack.close();
  }

  private SkillDefinition skill(String name) {
    return provider.skills().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
  }

  private static InvocationContext ctx() {
    return new InvocationContext(
        UUID.randomUUID(), UUID.randomUUID(), "daneel", UUID.randomUUID(), null);
  }

  @Test
  void readThreadReturnsTheThreadsMessagesPagedAndSendsTheBotToken() {
    slack.seed("C0DEV", "1700000001.000001", null, "U1", "the build is red");
    for (int i = 2; i <= 450; i++) {
      slack.seed(
          "C0DEV",
          String.format("1700000001.%06d", i),
          "1700000001.000001",
          "U" + (i % 3),
          "reply " + i);
    }
    slack.seed("C0DEV", "1700000009.000001", null, "U9", "another thread");

    JsonNode out =
        provider.invoke(
            skill("slack.read_thread"),
            Json.parse("{\"channel\":\"C0DEV\",\"ts\":\"1700000001.000001\"}"),
            ctx());

    assertEquals(450, out.path("messages").size(), "every page read");
    assertEquals("the build is red", out.path("messages").get(0).path("text").asText());
    assertEquals("U1", out.path("messages").get(0).path("user").asText());
    assertFalse(out.path("has_more").asBoolean());
    assertEquals(3, slack.calls("conversations.replies").size(), "pages of 200");
    assertTrue(slack.calls().stream().allMatch(c -> ("Bearer " + TOKEN).equals(c.authorization())));

    JsonNode limited =
        provider.invoke(
            skill("slack.read_thread"),
            Json.parse("{\"channel\":\"C0DEV\",\"ts\":\"1700000001.000001\",\"limit\":5}"),
            ctx());
    assertEquals(5, limited.path("messages").size());
    assertTrue(limited.path("has_more").asBoolean());
    assertFalse(out.toString().contains(TOKEN));
  }

  @Test
  void postMessagePostsInertTextWithTheInvocationInItsMetadataAndReconcileFindsIt() {
    slack.seed("C0DEV", "1700000001.000001", null, "U1", "parent");
    InvocationContext ctx = ctx();
    JsonNode input =
        Json.parse(
            "{\"channel\":\"C0DEV\",\"thread_ts\":\"1700000001.000001\","
                + "\"text\":\"done <!channel> and <!here|here> and <!subteam^S1|@devs>\"}");
    SkillDefinition post = skill("slack.post_message");

    assertInstanceOf(
        Reconciliation.NotPerformed.class, provider.reconcile(post, input, ctx), "nothing yet");
    JsonNode out = provider.invoke(post, input, ctx);

    SlackApiStandIn.Call call = slack.calls("chat.postMessage").get(0);
    assertEquals("C0DEV", call.params().get("channel"));
    assertEquals("1700000001.000001", call.params().get("thread_ts"));
    assertEquals("none", call.params().get("parse"));
    assertEquals("0", call.params().get("link_names"), "link_names off");
    String text = call.params().get("text");
    assertFalse(text.contains("<!"), text);
    assertTrue(
        text.contains("@\u200bchannel")
            && text.contains("@\u200bhere")
            && text.contains("@\u200bdevs"),
        text);
    JsonNode metadata = Json.parse(call.params().get("metadata"));
    assertEquals(SlackProvider.METADATA_EVENT_TYPE, metadata.path("event_type").asText());
    assertEquals(
        ctx.invocationId().toString(), metadata.path("event_payload").path("invocation").asText());
    String ts = out.path("ts").asText();
    assertEquals("C0DEV/" + ts, provider.upstreamRef(post, out).orElseThrow());

    Reconciliation found = provider.reconcile(post, input, ctx);
    Reconciliation.Performed performed = assertInstanceOf(Reconciliation.Performed.class, found);
    assertEquals("C0DEV/" + ts, performed.upstreamRef());
    assertInstanceOf(
        Reconciliation.NotPerformed.class,
        provider.reconcile(post, input, ctx()),
        "another invocation");
    assertEquals(1, slack.calls("chat.postMessage").size(), "reconciling never posts");

    // A top-level post is looked for in the channel's history.
    JsonNode top = Json.parse("{\"channel\":\"C0DEV\",\"text\":\"top\"}");
    InvocationContext topCtx = ctx();
    provider.invoke(post, top, topCtx);
    assertInstanceOf(Reconciliation.Performed.class, provider.reconcile(post, top, topCtx));
    assertInstanceOf(
        Reconciliation.NotPerformed.class,
        provider.reconcile(
            skill("slack.read_thread"),
            Json.parse("{\"channel\":\"C0DEV\",\"ts\":\"1.2\"}"),
            ctx()));
  }

  @Test
  void failuresSayWhetherToTryAgainAndWhetherAPostMayHaveHappened() {
    SkillDefinition post = skill("slack.post_message");
    SkillDefinition read = skill("slack.read_thread");
    JsonNode postInput = Json.parse("{\"channel\":\"C0DEV\",\"text\":\"hi\"}");
    JsonNode readInput = Json.parse("{\"channel\":\"C0DEV\",\"ts\":\"1700000001.000001\"}");

    slack.fail("chat.postMessage", SlackApiStandIn.Failure.error("not_in_channel"), 1);
    SkillFailedException notIn =
        assertThrows(SkillFailedException.class, () -> provider.invoke(post, postInput, ctx()));
    assertFalse(notIn.retryable(), notIn.getMessage());
    assertTrue(notIn.getMessage().contains("not_in_channel"), notIn.getMessage());

    slack.fail("chat.postMessage", SlackApiStandIn.Failure.status(429), 1);
    SkillFailedException limited =
        assertThrows(SkillFailedException.class, () -> provider.invoke(post, postInput, ctx()));
    assertTrue(limited.retryable(), limited.getMessage());
    assertFalse(limited instanceof SkillOutcomeUnknownException);

    slack.fail("chat.postMessage", SlackApiStandIn.Failure.status(500), 1);
    assertThrows(SkillOutcomeUnknownException.class, () -> provider.invoke(post, postInput, ctx()));

    slack.fail("conversations.replies", SlackApiStandIn.Failure.status(503), 1);
    SkillFailedException readDown =
        assertThrows(SkillFailedException.class, () -> provider.invoke(read, readInput, ctx()));
    assertTrue(readDown.retryable());
    assertFalse(
        readDown instanceof SkillOutcomeUnknownException, "a read has no outcome to be unsure of");

    slack.fail("conversations.history", SlackApiStandIn.Failure.error("invalid_auth"), 1);
    assertInstanceOf(Reconciliation.Unknown.class, provider.reconcile(post, postInput, ctx()));
    for (SlackApiStandIn.Call c : slack.calls()) {
      assertEquals("Bearer " + TOKEN, c.authorization());
    }
  }
}
