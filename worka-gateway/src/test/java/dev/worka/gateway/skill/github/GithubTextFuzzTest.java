package dev.worka.gateway.skill.github;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.regex.Pattern;

/**
 * Fuzzes what is posted on GitHub. Properties: {@link GithubText#inert} never throws; its result
 * holds no {@code @} directly before a letter or digit (no mention), no {@code ](} or {@code ]:}
 * (no link or reference definition hiding its target), no {@code <!--}, {@code <a} or {@code <img}
 * tag, no copy of the crash marker; it is idempotent, and it only inserts (removing every inserted
 * zero-width space and undoing the escape gives the input back).
 */
class GithubTextFuzzTest {
  private static final Pattern LIVE =
      Pattern.compile(
          "@[A-Za-z0-9]|\\][(:]|<!--|(?i:<(?:a|img)(?![A-Za-z0-9-]))|worka-invocation:");

  @FuzzTest(maxDuration = "10s")
  void whatIsPostedMentionsNobodyAndHidesNoLink(FuzzedDataProvider data) {
    String text = data.consumeRemainingAsString().replace("\u200b", "");
    String out = GithubText.inert(text);
    assertFalse(LIVE.matcher(out).find(), out);
    assertEquals(out, GithubText.inert(out), "idempotent");
    assertEquals(
        text.replace("&lt;", "<"), out.replace("\u200b", "").replace("&lt;", "<"), "only inserts");
  }
}
