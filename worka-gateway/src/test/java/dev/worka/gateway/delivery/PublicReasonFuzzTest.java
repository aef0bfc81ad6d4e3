package dev.worka.gateway.delivery;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.worka.gateway.redaction.Redactor;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Fuzzes the public reason of a failure with hostile errors (fuzzed text around tokens, secrets,
 * URLs with credentials, ids, bodies). Properties: it never throws; the result is one line of at
 * most {@value PublicReason#MAX_LENGTH} characters (and the cut mark), holds no configured secret,
 * no known-format token, no URL with a user, path or query, no id but the run's, no <code>&#123;
 * </code>.
 */
class PublicReasonFuzzTest {
  private static final UUID RUN = UUID.fromString("0b6c2a1e-4f3d-4c55-9a7e-2f1d0c9b8a77");
  private static final String SECRET = "configured-Secret-0042";
  private static final Redactor REDACTOR = new Redactor(List.of(SECRET));
  private static final List<String> PIECES =
      List.of(
          SECRET,
          "ghp_" + "A".repeat(36),
          "xoxb-1234567890-abcdef",
          "https://user:pw@host.example/path?token=x",
          "gluedhttps://user:pw@host.example/p",
          "postgresql://u:p@db:5432/w",
          "5d3c1e9a-0f7b-4e2a-9c4d-8b6a2f1e0d3c",
          RUN.toString(),
          "{\"message\": \"body\"}",
          "\n\tat a.b.C.d(C.java:1)",
          " ERROR: relation \"x\"",
          "Bearer abcdefghij");
  private static final Pattern UUID_PATTERN =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  private static final Pattern URL_WITH_MORE =
      Pattern.compile(
          "[A-Za-z]://[^\\s/…\"'<>`]*[@:?#](?![\\s\"'<>`.,;!?)\\]}]|$)|[A-Za-z]://[^\\s/\"'<>`]+/(?!…)");

  @FuzzTest(maxDuration = "10s")
  void thePublicReasonIsShortAndLeaksNothingKnown(FuzzedDataProvider data) {
    StringBuilder error = new StringBuilder();
    int pieces = data.consumeInt(0, 5);
    for (int i = 0; i < pieces; i++) {
      error.append(data.consumeString(60)).append(data.pickValue(PIECES));
    }
    error.append(data.consumeRemainingAsString());
    String out = PublicReason.of(error.toString(), RUN, REDACTOR);
    if (out == null) {
      assertTrue(error.toString().isBlank());
      return;
    }
    assertTrue(out.length() <= PublicReason.MAX_LENGTH + 2, "too long: " + out);
    assertFalse(
        out.contains("\n") || out.contains("{"), "more than the first line, or a body: " + out);
    assertFalse(out.contains(SECRET), "the secret: " + out);
    assertFalse(Redactor.holdsToken(out), "a token: " + out);
    assertFalse(URL_WITH_MORE.matcher(out).find(), "a URL with more than its host: " + out);
    UUID_PATTERN
        .matcher(out)
        .results()
        .forEach(m -> assertTrue(m.group().equalsIgnoreCase(RUN.toString()), out));
  }
}
