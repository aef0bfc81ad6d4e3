package dev.worka.gateway.plan;

import java.util.ArrayList;
import java.util.List;

/**
 * The reasons a plan is rejected, collected in the order found. They are stored and returned to the
 * planner, so each is bounded in length with control characters escaped, and their number is
 * bounded too (the rest are counted in a last reason).
 */
final class Violations {
  static final int MAX_REASONS = 100;
  static final int MAX_REASON_LENGTH = 1000;
  private static final int MAX_QUOTED = 80;

  private final List<String> reasons = new ArrayList<>();
  private int dropped;

  void add(String reason) {
    if (reasons.size() >= MAX_REASONS) {
      dropped++;
      return;
    }
    String clean = escapeControls(reason);
    reasons.add(
        clean.length() > MAX_REASON_LENGTH ? clean.substring(0, MAX_REASON_LENGTH) + "…" : clean);
  }

  boolean isEmpty() {
    return reasons.isEmpty();
  }

  PlanValidation.Rejected rejected() {
    List<String> all = new ArrayList<>(reasons);
    if (dropped > 0) {
      all.add("… and " + dropped + " more violations");
    }
    return new PlanValidation.Rejected(all);
  }

  /** {@code 'text'} for a value taken from the plan: control characters escaped, long text cut. */
  static String quoted(String text) {
    StringBuilder out = new StringBuilder().append('\'');
    int end = Math.min(text.length(), MAX_QUOTED);
    out.append(escapeControls(text.substring(0, end)));
    if (end < text.length()) {
      out.append('…');
    }
    return out.append('\'').toString();
  }

  private static String escapeControls(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean escape =
          Character.isISOControl(c)
              || PlanText.isBidiControl(c)
              || (Character.isSurrogate(c) && !pairedAt(text, i));
      if (escape && out == null) {
        out = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (out != null) {
        if (escape) {
          out.append(String.format("\\u%04x", (int) c));
        } else {
          out.append(c);
        }
      }
    }
    return out == null ? text : out.toString();
  }

  private static boolean pairedAt(String text, int i) {
    char c = text.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
    }
    return i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
  }
}
