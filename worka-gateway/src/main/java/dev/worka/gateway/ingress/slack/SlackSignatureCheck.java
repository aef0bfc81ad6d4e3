package dev.worka.gateway.ingress.slack;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Slack's request signature (v0): {@code X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret,
 * "v0:" + X-Slack-Request-Timestamp + ":" + raw body))}. A request is accepted only when the
 * timestamp is within {@link #WINDOW} of this Gateway's clock (either way: a replayed old request
 * and one dated in the future are both refused) and the signature matches, compared in constant
 * time over the raw bytes as received.
 *
 * <p>Bolt's own {@code RequestVerification} compares with {@code String.equals}, reads the system
 * clock and accepts any timestamp in the future; this check runs before Bolt sees the request, and
 * Bolt's is switched off.
 */
final class SlackSignatureCheck {
  static final Duration WINDOW = Duration.ofMinutes(5);
  static final String SIGNATURE = "X-Slack-Signature";
  static final String TIMESTAMP = "X-Slack-Request-Timestamp";

  private final SecretKeySpec key;
  private final InstantSource clock;

  SlackSignatureCheck(String signingSecret, InstantSource clock) {
    Objects.requireNonNull(signingSecret, "signingSecret");
    if (signingSecret.isBlank()) {
      throw new IllegalArgumentException("the signing secret must not be blank");
    }
    this.key = new SecretKeySpec(signingSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Whether a request may go on, and if not why (for the log; never shown to the caller). */
  sealed interface Verdict {
    record Genuine() implements Verdict {}

    record Refused(String why) implements Verdict {}
  }

  Verdict check(String timestamp, String signature, byte[] body) {
    if (timestamp == null || signature == null) {
      return new Verdict.Refused("no " + (timestamp == null ? TIMESTAMP : SIGNATURE) + " header");
    }
    if (!timestamp.matches("[0-9]{1,12}")) {
      return new Verdict.Refused(TIMESTAMP + " is not a number of seconds");
    }
    long age = clock.instant().getEpochSecond() - Long.parseLong(timestamp);
    if (Math.abs(age) > WINDOW.toSeconds()) {
      return new Verdict.Refused(
          "the request is dated "
              + Math.abs(age)
              + " s "
              + (age > 0 ? "ago" : "ahead")
              + ", outside the "
              + WINDOW.toMinutes()
              + "-minute window (a replay, or a clock that is off)");
    }
    byte[] expected = sign(timestamp, body).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, signature.getBytes(StandardCharsets.UTF_8))) {
      return new Verdict.Refused(
          "the signature does not match (a tampered body, or another signing secret)");
    }
    return new Verdict.Genuine();
  }

  /** {@code v0=<hex>} for this timestamp and body. */
  String sign(String timestamp, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      mac.update(("v0:" + timestamp + ":").getBytes(StandardCharsets.UTF_8));
      return "v0=" + HexFormat.of().formatHex(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }
}
