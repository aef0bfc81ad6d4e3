package dev.worka.gateway.redaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Fuzzes the output cleaner with hostile text. Properties: it never throws; what it returns holds
 * no configured secret, no token of a known format, no Slack broadcast mention (bare ones included,
 * wherever they stand) and no control or format character; and cleaning again changes nothing. The
 * second target glues known-format tokens and secrets to fuzzed text on both sides (a token after a
 * word character, inside a URL, split by a mention).
 */
class OutputCleanerFuzzTest {
  private static final List<String> SECRETS =
      List.of("xoxb-configured-secret-value", "CONFIGURED-S3CRET-0123");
  private static final List<String> TOKENS =
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
          "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIO\n-----END EC PRIVATE KEY-----");
  private static final OutputCleaner CLEANER = new OutputCleaner(SECRETS);
  private static final Pattern BROADCAST =
      Pattern.compile(
          "<!(channel|here|everyone)(\\|[^>]*)?>|@(channel|here|everyone)|<!subteam\\^[^>]*>");

  @FuzzTest(maxDuration = "10s")
  void cleanedOutputHoldsNoSecretNoBroadcastAndIsStable(FuzzedDataProvider data) {
    String prefix = data.consumeString(200);
    boolean withSecret = data.consumeBoolean();
    String text =
        prefix
            + (withSecret ? SECRETS.get(data.consumeInt(0, 1)) : "")
            + data.consumeRemainingAsString();
    check(text);
  }

  @FuzzTest(maxDuration = "10s")
  void tokensGluedToAnythingAreRedacted(FuzzedDataProvider data) {
    StringBuilder text = new StringBuilder();
    int pieces = data.consumeInt(1, 4);
    for (int i = 0; i < pieces; i++) {
      text.append(data.consumeString(40));
      switch (data.consumeInt(0, 3)) {
        case 0 -> text.append(TOKENS.get(data.consumeInt(0, TOKENS.size() - 1)));
        case 1 -> text.append(SECRETS.get(data.consumeInt(0, 1)));
        case 2 -> { // a token split by a mention that neutralization removes
          String token = TOKENS.get(data.consumeInt(0, TOKENS.size() - 1));
          int cut = data.consumeInt(0, token.length());
          text.append(token, 0, cut)
              .append(data.pickValue(List.of("<!here>", "<!subteam^S1|>", "<!channel|x>")))
              .append(token, cut, token.length());
        }
        default ->
            text.append("https://user:")
                .append(TOKENS.get(data.consumeInt(0, TOKENS.size() - 1)))
                .append("@example.test/?token=")
                .append(SECRETS.get(0));
      }
    }
    text.append(data.consumeRemainingAsString());
    String cleaned = check(text.toString());
    for (String token : TOKENS) {
      assertFalse(cleaned.contains(token), "token survived in: " + cleaned);
    }
  }

  private static String check(String text) {
    String cleaned = CLEANER.cleanText(text, new HashMap<>());
    for (String secret : SECRETS) {
      assertFalse(cleaned.contains(secret), "secret survived in: " + cleaned);
    }
    assertFalse(Redactor.holdsToken(cleaned), "a known-format token survived in: " + cleaned);
    assertFalse(BROADCAST.matcher(cleaned).find(), "broadcast survived in: " + cleaned);
    cleaned
        .codePoints()
        .forEach(
            cp ->
                assertFalse(
                    (Character.isISOControl(cp) && cp != '\n' && cp != '\t')
                        || Character.getType(cp) == Character.FORMAT,
                    "invisible character " + Integer.toHexString(cp) + " survived"));
    assertEquals(cleaned, CLEANER.cleanText(cleaned, new HashMap<>()), "cleaning is idempotent");

    ObjectNode object = JsonNodeFactory.instance.objectNode();
    object.put(text, text);
    JsonNode out = CLEANER.clean(object).value();
    out.properties()
        .forEach(
            e -> {
              assertEquals(cleaned, e.getKey()); // one key: no collision suffix
              assertEquals(cleaned, e.getValue().asText());
            });
    return cleaned;
  }
}
