package dev.worka.gateway.policy;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as operators write them: one or more number+unit parts, {@code 120s}, {@code 2m},
 * {@code 1h30m}, {@code 500ms}; units {@code ms}, {@code s}, {@code m}, {@code h}, {@code d}.
 */
public final class DurationText {
  private static final Pattern WHOLE = Pattern.compile("(?:[0-9]{1,9}(?:ms|s|m|h|d)){1,5}");
  private static final Pattern PART = Pattern.compile("([0-9]{1,9})(ms|s|m|h|d)");

  public static Optional<Duration> parse(String text) {
    if (text == null || !WHOLE.matcher(text).matches()) {
      return Optional.empty();
    }
    Duration total = Duration.ZERO;
    Matcher part = PART.matcher(text);
    while (part.find()) {
      long n = Long.parseLong(part.group(1));
      total =
          total.plus(
              switch (part.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> throw new IllegalStateException("unit " + part.group(2));
              });
    }
    return Optional.of(total);
  }

  /** The shortest operator form: {@code 2m}, {@code 1h30m}, {@code 90s}, {@code 1500ms}. */
  public static String format(Duration duration) {
    if (duration.isZero()) {
      return "0s";
    }
    if (duration.toMillisPart() != 0 || duration.isNegative()) {
      return duration.toMillis() + "ms";
    }
    StringBuilder out = new StringBuilder();
    long days = duration.toDaysPart();
    if (days > 0) {
      out.append(days).append('d');
    }
    if (duration.toHoursPart() > 0) {
      out.append(duration.toHoursPart()).append('h');
    }
    if (duration.toMinutesPart() > 0) {
      out.append(duration.toMinutesPart()).append('m');
    }
    if (duration.toSecondsPart() > 0) {
      out.append(duration.toSecondsPart()).append('s');
    }
    return out.toString();
  }

  private DurationText() {}
}
