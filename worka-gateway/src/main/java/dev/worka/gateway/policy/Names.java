package dev.worka.gateway.policy;

import java.util.regex.Pattern;

/** The shapes of names in a manifest, and how an untrusted name is shown inside a message. */
final class Names {
  /** Agent and list names (the plan schema's step_ref/agent pattern). */
  static final Pattern AGENT = Pattern.compile("[a-z][a-z0-9_-]{0,63}");

  /** Skill names: {@code provider.action}. */
  static final Pattern SKILL = Pattern.compile("[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*");

  static final String AGENT_PATTERN_TEXT = "^[a-z][a-z0-9_-]{0,63}$";
  static final String SKILL_PATTERN_TEXT = "^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$";
  static final int MAX_SKILL_NAME = 128;

  private static final int SHOWN_MAX = 80;
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._/:@-]{1,80}");

  static boolean isAgentName(String name) {
    return name != null && AGENT.matcher(name).matches();
  }

  static boolean isSkillName(String name) {
    return name != null && name.length() <= MAX_SKILL_NAME && SKILL.matcher(name).matches();
  }

  /**
   * A name as it may appear in a message that is stored and shown to people: plain names as they
   * are, anything else quoted, with control characters escaped and cut to a bounded length (the
   * name may come from an attacker-controlled body or path).
   */
  static String shown(String name) {
    if (name == null) {
      return "(none)";
    }
    if (PLAIN.matcher(name).matches()) {
      return name;
    }
    return quoted(name);
  }

  /** {@code 'text'} with control characters escaped and long text cut. */
  static String quoted(String text) {
    StringBuilder out = new StringBuilder(Math.min(text.length(), SHOWN_MAX) + 8).append('\'');
    int shown = 0;
    for (int i = 0; i < text.length(); i++) {
      if (shown >= SHOWN_MAX) {
        out.append("…");
        break;
      }
      char c = text.charAt(i);
      if (Character.isISOControl(c) || Character.isSurrogate(c) || c == '\'' || c == '\\') {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
      shown++;
    }
    return out.append('\'').toString();
  }

  private Names() {}
}
