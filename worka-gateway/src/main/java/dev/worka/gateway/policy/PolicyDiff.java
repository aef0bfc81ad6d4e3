package dev.worka.gateway.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * What changes between two policies, for people: which agents appear or go, what each agent gains
 * and loses (skills, permissions, runtime, role), how skill conditions and facts change, what the
 * named lists gain and lose, which limits and agents' resources move, and who may start a run (the
 * ingress lists and quotas). One line per change, in a stable order.
 */
public final class PolicyDiff {
  private PolicyDiff() {}

  /** The changes from {@code before} to {@code after}, one line each (none: the same policy). */
  public static List<String> between(CompiledPolicy before, CompiledPolicy after) {
    List<String> lines = new ArrayList<>();
    for (String name : union(before.agents().keySet(), after.agents().keySet())) {
      AgentPolicy a = before.agents().get(name);
      AgentPolicy b = after.agents().get(name);
      if (a == null) {
        lines.add(
            "agent "
                + name
                + ": added ("
                + b.role().wireName()
                + ", "
                + b.runtime().kind().wireName()
                + ", permissions "
                + new TreeSet<>(b.permissions())
                + ", skills "
                + b.skills()
                + (b.resources().equals(Resources.DEFAULTS) ? "" : ", resources " + b.resources())
                + ")");
      } else if (b == null) {
        lines.add(
            "agent "
                + name
                + ": removed (it had permissions "
                + new TreeSet<>(a.permissions())
                + ", skills "
                + a.skills()
                + ")");
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
        resources(changes, a.resources(), b.resources());
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
        lines.add(
            "skill "
                + name
                + ": "
                + (ca == null
                    ? "condition added: " + cb
                    : cb == null
                        ? "condition removed (was: " + ca + ")"
                        : "condition changed: " + ca + " → " + cb));
      }
      boolean sa = a.map(SkillPolicy::sideEffect).orElse(false);
      boolean sb = b.map(SkillPolicy::sideEffect).orElse(false);
      if (sa != sb) {
        lines.add("skill " + name + ": side_effect " + sa + " → " + sb);
      }
      String pa = a.flatMap(SkillPolicy::approval).map(PolicyDiff::approval).orElse(null);
      String pb = b.flatMap(SkillPolicy::approval).map(PolicyDiff::approval).orElse(null);
      if (!Objects.equals(pa, pb)) {
        lines.add(
            "skill "
                + name
                + ": "
                + (pa == null
                    ? "approval added: " + pb
                    : pb == null
                        ? "approval removed (was: " + pa + ")"
                        : "approval changed: " + pa + " → " + pb));
      }
    }
    for (String name : union(before.lists().keySet(), after.lists().keySet())) {
      List<String> changes = new ArrayList<>();
      gainsAndLosses(
          changes,
          "items",
          before.lists().getOrDefault(name, List.of()),
          after.lists().getOrDefault(name, List.of()));
      if (!changes.isEmpty()) {
        String state =
            !before.lists().containsKey(name)
                ? " (new list)"
                : !after.lists().containsKey(name) ? " (removed)" : "";
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
    limits.forEach(
        (name, get) -> {
          Object a = get.apply(before.limits());
          Object b = get.apply(after.limits());
          if (!a.equals(b)) {
            lines.add("limit " + name + ": " + a + " → " + b);
          }
        });
    ingress(lines, before.ingress(), after.ingress());
    return lines;
  }

  /** Each of an agent's resources that moves, e.g. {@code resources memory 512Mi → 1Gi}. */
  private static void resources(List<String> changes, Resources a, Resources b) {
    List<String> moved = new ArrayList<>();
    if (a.memoryBytes() != b.memoryBytes()) {
      moved.add(
          "memory "
              + Resources.bytesText(a.memoryBytes())
              + " → "
              + Resources.bytesText(b.memoryBytes()));
    }
    if (a.cpuMillis() != b.cpuMillis()) {
      moved.add(
          "cpu " + Resources.cpuText(a.cpuMillis()) + " → " + Resources.cpuText(b.cpuMillis()));
    }
    if (a.pids() != b.pids()) {
      moved.add("pids " + a.pids() + " → " + b.pids());
    }
    if (a.diskBytes() != b.diskBytes()) {
      moved.add(
          "disk "
              + Resources.bytesText(a.diskBytes())
              + " → "
              + Resources.bytesText(b.diskBytes()));
    }
    if (a.openFiles() != b.openFiles()) {
      moved.add("open_files " + a.openFiles() + " → " + b.openFiles());
    }
    if (!moved.isEmpty()) {
      changes.add("resources " + String.join(", ", moved));
    }
  }

  /** {@code ingress.*}: each list that gains, loses, appears or goes, and each quota that moves. */
  private static void ingress(List<String> lines, IngressPolicy before, IngressPolicy after) {
    ingressList(
        lines,
        "github.author_associations",
        Optional.of(before.github().authorAssociations()),
        Optional.of(after.github().authorAssociations()),
        "");
    ingressList(
        lines,
        "github.repositories",
        before.github().repositories(),
        after.github().repositories(),
        "any repository");
    ingressList(
        lines,
        "slack.teams",
        before.slack().teams(),
        after.slack().teams(),
        "this bot's own workspace");
    ingressList(
        lines,
        "slack.channels",
        before.slack().channels(),
        after.slack().channels(),
        "any conversation");
    ingressList(lines, "slack.users", before.slack().users(), after.slack().users(), "any user");
    IngressPolicy.Quotas a = before.quotas();
    IngressPolicy.Quotas b = after.quotas();
    if (a.runsPerRequesterPerHour() != b.runsPerRequesterPerHour()) {
      lines.add(
          "ingress quotas.runs_per_requester_per_hour: "
              + a.runsPerRequesterPerHour()
              + " → "
              + b.runsPerRequesterPerHour());
    }
    if (a.concurrentRunsPerRequester() != b.concurrentRunsPerRequester()) {
      lines.add(
          "ingress quotas.concurrent_runs_per_requester: "
              + a.concurrentRunsPerRequester()
              + " → "
              + b.concurrentRunsPerRequester());
    }
  }

  /** One ingress list; {@code absent} says what having no such list means. */
  private static void ingressList(
      List<String> lines,
      String name,
      Optional<List<String>> a,
      Optional<List<String>> b,
      String absent) {
    if (a.equals(b)) {
      return;
    }
    if (a.isEmpty() || b.isEmpty()) {
      lines.add(
          "ingress "
              + name
              + ": "
              + a.map(Object::toString).orElse(absent)
              + " → "
              + b.map(Object::toString).orElse(absent));
      return;
    }
    TreeSet<String> gained = new TreeSet<>(b.get());
    gained.removeAll(a.get());
    TreeSet<String> lost = new TreeSet<>(a.get());
    lost.removeAll(b.get());
    List<String> changes = new ArrayList<>();
    if (!gained.isEmpty()) {
      changes.add("gains " + gained);
    }
    if (!lost.isEmpty()) {
      changes.add("loses " + lost);
    }
    if (!changes.isEmpty()) {
      lines.add("ingress " + name + ": " + String.join("; ", changes));
    }
  }

  private static void gainsAndLosses(
      List<String> out,
      String what,
      java.util.Collection<String> a,
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
    return a.runtime().kind().wireName()
        + switch (a.runtime().kind()) {
          case PROCESS -> " " + a.runtime().command();
          case KUBERNETES ->
              " "
                  + a.runtime().image()
                  + (a.runtime().runtimeClass() != null
                      ? " (runtime_class " + a.runtime().runtimeClass() + ")"
                      : "");
          case WASM ->
              " "
                  + a.runtime().module()
                  + (a.runtime().moduleSha256() == null
                      ? " (no module_sha256: never runs)"
                      : " sha256 " + a.runtime().moduleSha256());
        };
  }

  private static SortedSet<String> union(java.util.Set<String> a, java.util.Set<String> b) {
    TreeSet<String> all = new TreeSet<>(a);
    all.addAll(b);
    return all;
  }

  /** An approval as the diff shows it: {@code when '...', approvers [..], expires 1h}. */
  private static String approval(dev.worka.gateway.policy.ApprovalPolicy a) {
    return (a.when().isPresent() ? "when " + a.when().get().expression() + ", " : "always, ")
        + "approvers "
        + a.approvers()
        + ", expires "
        + a.expiresText();
  }
}
