package dev.worka.gateway.skill;

import java.util.Locale;

/** {@code WORKA_SIDE_EFFECTS}: whether skills reach their upstream (DESIGN §9). */
public enum SideEffectMode {
  /** Every call is gated and recorded, none is sent upstream; outputs say so. The default. */
  DRY_RUN("dry-run"),
  /** Calls are sent upstream; a provider that cannot make them makes its skills unavailable. */
  LIVE("live");

  private final String value;

  SideEffectMode(String value) {
    this.value = value;
  }

  /** How the mode is written in configuration: {@code dry-run} or {@code live}. */
  public String value() {
    return value;
  }

  /**
   * Parses {@code dry-run} or {@code live} (surrounding blanks and case ignored).
   *
   * @throws IllegalArgumentException for anything else, saying what is accepted
   */
  public static SideEffectMode parse(String text) {
    String normalized = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
    for (SideEffectMode mode : values()) {
      if (mode.value.equals(normalized)) {
        return mode;
      }
    }
    throw new IllegalArgumentException(
        "WORKA_SIDE_EFFECTS must be dry-run or live, was "
            + (text == null ? "nothing" : "'" + text + "'"));
  }
}
