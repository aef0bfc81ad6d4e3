package dev.worka.gateway.redaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.protocol.Json;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutputCleanerTest {
  private static final String CONFIGURED = "s3cr3t-configured-credential";
  private final OutputCleaner cleaner = new OutputCleaner(List.of(CONFIGURED, "short"));

  private String clean(String s) {
    return cleaner.cleanText(s, new HashMap<>());
  }

  @Test
  void configuredCredentialsAndCommonTokenFormatsAreRedacted() {
    assertEquals("key=[redacted]!", clean("key=" + CONFIGURED + "!"));
    assertEquals("too short to be a secret: short", clean("too short to be a secret: short"));
    for (String token :
        List.of(
            "xoxb-1234567890-abcdefghijkl",
            "xapp-1-A0123456789-abcdefghijk",
            "ghp_" + "A".repeat(36),
            "github_pat_" + "a1".repeat(20),
            "sk-ant-api03-" + "x".repeat(30),
            "sk-" + "Z".repeat(40),
            "AKIAABCDEFGHIJKLMNOP",
            "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJlcm5lc3QifQ.c2lnbmF0dXJlLXZhbHVl",
            "wk_" + "Q".repeat(43),
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIO\n-----END EC PRIVATE KEY-----")) {
      String out = clean("before " + token + " after");
      assertEquals("before [redacted] after", out, token);
    }
    assertEquals("ghp_short is fine", clean("ghp_short is fine"));
  }

  @Test
  void tokensGluedToOtherCharactersAreRedactedToo() {
    String slack = "xoxb-1234567890-abcdefghijkl";
    String github = "ghp_" + "A".repeat(36);
    String anthropic = "sk-ant-api03-" + "x".repeat(30);
    String jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJlcm5lc3QifQ.c2lnbmF0dXJlLXZhbHVl";
    assertEquals("abc[redacted]", clean("abc" + slack));
    assertEquals("token=[redacted]&x=1", clean("token=" + github + "&x=1"));
    assertEquals("{\"key\": \"[redacted]\"}", clean("{\"key\": \"" + anthropic + "\"}"));
    assertEquals(
        "https://x:[redacted]@github.com/acme/widgets.git",
        clean("https://x:" + github + "@github.com/acme/widgets.git"));
    assertEquals(
        "https://hooks.example/[redacted]?q=1", clean("https://hooks.example/" + slack + "?q=1"));
    assertEquals("Bearer[redacted]", clean("Bearer" + jwt));
    assertEquals("id_[redacted]", clean("id_AKIAABCDEFGHIJKLMNOP"));
    assertEquals("1[redacted]", clean("1" + "wk_" + "Q".repeat(43)));
    assertEquals(
        "before [redacted]",
        clean("before -----BEGIN PRIVATE KEY-----\nMIIEvQ cut off here"),
        "a key without its END line is redacted to the end");
  }

  @Test
  void neutralizingAMentionCannotReassembleASecret() {
    String split = "<!subteam^S0|@x" + CONFIGURED.substring(0, 10) + ">" + CONFIGURED.substring(10);
    String out = clean(split);
    assertFalse(out.contains(CONFIGURED), out);
    // and redacting cannot make a mention live: the word before a bare broadcast is redacted
    assertEquals(
        "[redacted]＠here [redacted]＠channel",
        clean(CONFIGURED + "@here " + CONFIGURED + "<!channel>"));
  }

  @Test
  void slackBroadcastsAreNeutralizedButOrdinaryTextIsNot() {
    assertEquals(
        "hey ＠channel and ＠here and ＠everyone",
        clean("hey <!channel> and <!here|here> and <!everyone>"));
    assertEquals("＠channel ＠here ＠everyone", clean("@channel @here @everyone"));
    assertEquals("ping ＠oncall", clean("ping <!subteam^S012ABC|@oncall>"));
    assertEquals("ping ＠group", clean("ping <!subteam^weird-id>"));
    assertEquals("not a mention: <!subteam^ unclosed", clean("not a mention: <!subteam^ unclosed"));
    // A bare broadcast is neutralized wherever it stands, even inside a word or an address: were it
    // only after a non-word character, redacting the word before it could make it live.
    assertEquals(
        "mail me at ops＠channel.example and ＠＠here",
        clean("mail me at ops@channel.example and ＠@here"));
    assertEquals("the ＠hereafter and x＠everyone", clean("the @hereafter and x@everyone"));
    assertEquals("@＠channel", clean("@@channel"));
    assertEquals(
        "the channel is #general; here it is", clean("the channel is #general; here it is"));
  }

  @Test
  void invisibleCharactersAreRemovedAndCountedWithEverythingElse() {
    Map<String, Integer> changes = new HashMap<>();
    assertEquals("abc\nd\te", cleaner.cleanText("a\u0000b\u200bc\u202e\nd\te\u0007", changes));
    assertEquals(Map.of("invisible_characters", 1), changes);
    JsonNode out =
        cleaner
            .clean(
                Json.parse(
                    "{\"a\": \"<!here>\", \"b\": [\""
                        + CONFIGURED
                        + "\", 3, true, null], \"c\\u200b\": 1, \"c\": 2}"))
            .value();
    assertEquals("＠here", out.path("a").asText());
    assertEquals("[redacted]", out.path("b").get(0).asText());
    assertEquals(3, out.path("b").get(1).asInt());
    assertTrue(
        out.has("c") && out.has("c_"), "keys that clean to the same text both survive: " + out);
    OutputCleaner.Cleaned counted =
        cleaner.clean(Json.parse("{\"x\": \"<!here> " + CONFIGURED + "\"}"));
    assertEquals(Map.of("secrets", 1, "broadcast_mentions", 1), counted.changes());
    assertFalse(cleaner.clean(Json.parse("{\"x\": \"plain\"}")).changed());
  }
}
