package dev.worka.gateway.agent;

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
 * no configured secret, no Slack broadcast mention and no control or format character; and cleaning
 * again changes nothing.
 */
class OutputCleanerFuzzTest {
  private static final List<String> SECRETS = List.of("xoxb-configured-secret-value", "CONFIGURED-S3CRET-0123");
  private static final OutputCleaner CLEANER = new OutputCleaner(SECRETS);
  private static final Pattern BROADCAST =
      Pattern.compile("<!(channel|here|everyone)(\\|[^>]*)?>|(?<!\\w)@(channel|here|everyone)\\b|<!subteam\\^[^>]*>");

  @FuzzTest(maxDuration = "10s")
  void cleanedOutputHoldsNoSecretNoBroadcastAndIsStable(FuzzedDataProvider data) {
    String prefix = data.consumeString(200);
    boolean withSecret = data.consumeBoolean();
    String text = prefix + (withSecret ? SECRETS.get(data.consumeInt(0, 1)) : "") + data.consumeRemainingAsString();

    String cleaned = CLEANER.cleanText(text, new HashMap<>());
    for (String secret : SECRETS) {
      assertFalse(cleaned.contains(secret), "secret survived in: " + cleaned);
    }
    assertFalse(BROADCAST.matcher(cleaned).find(), "broadcast survived in: " + cleaned);
    cleaned.codePoints().forEach(cp -> assertFalse(
        (Character.isISOControl(cp) && cp != '\n' && cp != '\t') || Character.getType(cp) == Character.FORMAT,
        "invisible character " + Integer.toHexString(cp) + " survived"));
    assertEquals(cleaned, CLEANER.cleanText(cleaned, new HashMap<>()), "cleaning is idempotent");

    ObjectNode object = JsonNodeFactory.instance.objectNode();
    object.put(text, text);
    JsonNode out = CLEANER.clean(object).value();
    out.properties().forEach(e -> {
      assertEquals(cleaned, e.getKey()); // one key: no collision suffix
      assertEquals(cleaned, e.getValue().asText());
    });
  }
}
