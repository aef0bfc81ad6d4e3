package dev.worka.gateway.skill.slack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

/** Text made inert for Slack: nothing in it is markup any more, and it reads as it did. */
class SlackTextTest {
  @Test
  void mentionsAndDisguisedLinksBecomeTextThatShowsWhatTheyAre() {
    assertEquals(
        "hi &lt;@U0ALICE&gt; and &lt;@W0BOB|bob&gt;",
        SlackText.inert("hi <@U0ALICE> and <@W0BOB|bob>"));
    assertEquals("see &lt;#C0GENERAL&gt;", SlackText.inert("see <#C0GENERAL>"));
    assertEquals(
        "&lt;https://evil.example/login|https://good.example&gt;",
        SlackText.inert("<https://evil.example/login|https://good.example>"));
    assertEquals(
        "@\u200bchannel @\u200bhere @\u200beveryone @\u200bgroup",
        SlackText.inert("<!channel> <!here|here> <!everyone> <!group>"));
    assertEquals(
        "@\u200bdevs and @\u200bgroup",
        SlackText.inert("<!subteam^S0DEVS|@devs> and <!subteam^S1>"));
    assertEquals("@\u200bchannel and @\u200bHere", SlackText.inert("@channel and @Here"));
    assertEquals("a &amp; b &lt;!date^1^{date}|x&gt;", SlackText.inert("a & b <!date^1^{date}|x>"));
    assertEquals("mail me@example.com", SlackText.inert("mail me@example.com"));
    String hostile = SlackText.inert("<!subteam^S1|<@U1>> <<!here>> <!channel");
    assertFalse(hostile.contains("<") || hostile.contains(">"), hostile);
  }
}
