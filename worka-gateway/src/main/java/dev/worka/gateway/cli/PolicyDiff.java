package dev.worka.gateway.cli;

import dev.worka.gateway.policy.AgentPolicy;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.Limits;
import dev.worka.gateway.policy.SkillCondition;
import dev.worka.gateway.policy.SkillPolicy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * What changes between two policies, for people: which agents appear or go, what each agent
 * gains and loses (skills, permissions, runtime, role), how skill conditions and facts change, what
 * the named lists gain and lose, and which limits move. One line per change, in a stable order.
 */
final class PolicyDiff {
  private PolicyDiff() {}

  static List<String> between(CompiledPolicy before, CompiledPolicy after) {
    List<String> lines = new ArrayList<>();
    for (String name : union(before.agents().keySet(), after.agents().keySet())) {
      AgentPolicy a = before.agents().get(name);
      AgentPolicy b = after.agents().get(name);
      if (a == null) {
        lines.add("agent " + name + ": added (" + b.role().wireName() + ", " + b.runtime().kind().wireName()
            + ", permissions " + new TreeSet<>(b.permissions()) + ", skills " + b.skills() + ")");
      } else if (b == null) {
        lines.add("agent " + name + ": removed (it had permissions " + new TreeSet<>(a.permissions()) + ", skills "
            + a.skills() + ")");
      } else {
        List<String> changes = new ArrayList<>();
        gainsAndLosses(changes, "skills", a.skills(), b.skills());
        gainsAndLosses(changes, "permissions", a.permissions(), b.permissions());
        if (a.role() != b.role()) {
          changes.add("role " + a.role().wireName() + " → " + b.role().wireName());
        }
        if (a.enabled() != b.enabled()) {
          changes.add(b.enabled() ? "enabled" : "disabled");
        }
        if (!a.runtime().equals(b.runtime())) {
          changes.add("runtime " + runtime(a) + " → " + runtime(b));
        }
        if (!changes.isEmpty()) {
          lines.add("agent " + name + ": " + String.join("; ", changes));
        }
      }
    }
    for (String name : union(before.skills().keySet(), after.skills().keySet())) {
      Optional<SkillPolicy> a = Optional.ofNullable(before.skills().get(name));
      Optional<SkillPolicy> b = Optional.ofNullable(after.skills().get(name));
      String ca = a.flatMap(SkillPolicy::when).map(SkillCondition::expression).orElse(null);
      String cb = b.flatMap(SkillPolicy::when).map(SkillCondition::expression).orElse(null);
      if (!Objects.equals(ca, cb)) {
        lines.add("skill " + name + ": " + (ca == null ? "condition added: " + cb
            : cb == null ? "condition removed (was: " + ca + ")" : "condition changed: " + ca + " → " + cb));
      }
      boolean sa = a.map(SkillPolicy::sideEffect).orElse(false);
      boolean sb = b.map(SkillPolicy::sideEffect).orElse(false);
      if (sa != sb) {
        lines.add("skill " + name + ": side_effect " + sa + " → " + sb);
      }
    }
    for (String name : union(before.lists().keySet(), after.lists().keySet())) {
      List<String> changes = new ArrayList<>();
      gainsAndLosses(changes, "items", before.lists().getOrDefault(name, List.of()),
          after.lists().getOrDefault(name, List.of()));
      if (!changes.isEmpty()) {
        String state = !before.lists().containsKey(name) ? " (new list)" : !after.lists().containsKey(name) ? " (removed)" : "";
        lines.add("list " + name + state + ": " + String.join("; ", changes));
      }
    }
    Map<String, Function<Limits, Object>> limits = new LinkedHashMap<>();
    limits.put("max_steps", Limits::maxSteps);
    limits.put("max_skill_calls_per_step", Limits::maxSkillCallsPerStep);
    limits.put("max_skill_calls_per_run", Limits::maxSkillCallsPerRun);
    limits.put("step_timeout", Limits::stepTimeout);
    limits.put("max_attempts", Limits::maxAttempts);
    limits.put("run_deadline", Limits::runDeadline);
    limits.put("max_concurrent_steps", Limits::maxConcurrentSteps);
    limits.put("retry_backoff", Limits::retryBackoff);
    limits.put("retry_backoff_max", Limits::retryBackoffMax);
    limits.forEach((name, get) -> {
      Object a = get.apply(before.limits());
      Object b = get.apply(after.limits());
      if (!a.equals(b)) {
        lines.add("limit " + name + ": " + a + " → " + b);
      }
    });
    return lines;
  }

  private static void gainsAndLosses(List<String> out, String what, java.util.Collection<String> a,
      java.util.Collection<String> b) {
    TreeSet<String> gained = new TreeSet<>(b);
    gained.removeAll(a);
    TreeSet<String> lost = new TreeSet<>(a);
    lost.removeAll(b);
    if (!gained.isEmpty()) {
      out.add("gains " + what + " " + gained);
    }
    if (!lost.isEmpty()) {
      out.add("loses " + what + " " + lost);
    }
  }

  private static String runtime(AgentPolicy a) {
    return a.runtime().kind().wireName() + switch (a.runtime().kind()) {
      case PROCESS -> " " + a.runtime().command();
      case KUBERNETES -> " " + a.runtime().image();
      case WASM -> " " + a.runtime().module();
    };
  }

  private static TreeSet<String> union(java.util.Set<String> a, java.util.Set<String> b) {
    TreeSet<String> all = new TreeSet<>(a);
    all.addAll(b);
    return all;
  }
}
