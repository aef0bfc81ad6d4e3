package dev.worka.gateway.skill.slack;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.regex.Pattern;

/**
 * Fuzzes what Worka and {@code slack.post_message} send to Slack. Properties: {@link
 * SlackText#inert} never throws; its result holds no {@code <} or {@code >} (so no Slack markup: no
 * mention, channel link, {@code <url|label>}), every {@code &} starts one of the three escapes, and
 * no bare broadcast is left.
 */
class SlackTextFuzzTest {
  private static final Pattern RAW_AMPERSAND = Pattern.compile("&(?!amp;|lt;|gt;)");
  private static final Pattern BARE = Pattern.compile("(?i)@(channel|here|everyone)\\b");

  @FuzzTest(maxDuration = "10s")
  void whatIsPostedHoldsNoMarkup(FuzzedDataProvider data) {
    String text = data.consumeRemainingAsString();
    String out = SlackText.inert(text);
    assertFalse(out.contains("<") || out.contains(">"), out);
    assertFalse(RAW_AMPERSAND.matcher(out).find(), out);
    assertFalse(BARE.matcher(out).find(), out);
    assertTrue(
        out.length() >= text.length() - text.chars().filter(c -> c == '<' || c == '>').count() * 64,
        out);
  }
}
