package dev.worka.gateway;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The packages of {@code worka-gateway} and, for each, the packages it may use: the allowed
 * dependencies as data, in the style of the state-machine tables ({@code RunStatus.MACHINE}). A
 * package is named relative to {@value #BASE} ({@code ""} is the composition root, {@code
 * ingress.api} is {@code dev.worka.gateway.ingress.api}); {@code worka-protocol}, the JDK and
 * third-party libraries are outside the table. {@link PackageGraphTest} holds the code to it: an
 * import (or a fully qualified name) that uses a package its row does not list fails, and so does a
 * listed package no file uses; and docs/architecture.md's package table is rendered from it.
 *
 * <p>Rows go from the top (the entry point) to the bottom (what depends on nothing). The graph has
 * no cycle, and the test keeps it so.
 */
final class PackageGraph {
  static final String BASE = "dev.worka.gateway";

  /** The composition root's row: it builds everything by hand, so it may use every package. */
  static final String ANY = "*";

  /** The allowed dependencies: package → the packages it may use, in the order declared. */
  static final PackageGraph GATEWAY =
      new PackageGraph()
          .uses("cli", "", "config", "error", "policy", "run", "skill", "store")
          .uses("", ANY)
          .uses(
              "config",
              "error",
              "memory",
              "policy",
              "runtime.kubernetes",
              "runtime.process",
              "skill.github",
              "skill.model",
              "store",
              "telemetry")
          .uses("console", "eval", "http", "policy", "store")
          .uses("ingress")
          .uses("ingress.slack", "control", "http", "mediation", "policy", "run", "telemetry")
          .uses("ingress.github", "control", "http", "mediation", "policy", "run", "telemetry")
          .uses(
              "ingress.api",
              "audit",
              "control",
              "delivery",
              "eval",
              "http",
              "invocation",
              "memory",
              "mediation",
              "plan",
              "policy",
              "run",
              "skill",
              "store",
              "telemetry")
          .uses(
              "agent",
              "audit",
              "control",
              "http",
              "invocation",
              "mediation",
              "memory",
              "policy",
              "queue",
              "redaction",
              "run",
              "runtime.wasm",
              "schema",
              "skill",
              "skill.model",
              "store",
              "telemetry",
              "token")
          .uses(
              "mediation",
              "audit",
              "control",
              "eval",
              "invocation",
              "plan",
              "policy",
              "queue",
              "redaction",
              "run",
              "skill",
              "store",
              "telemetry",
              "token")
          .uses("delivery.slack", "delivery", "redaction", "run", "skill.slack")
          .uses("delivery.github", "delivery", "redaction", "run", "skill", "skill.github")
          .uses("delivery", "audit", "error", "redaction", "run", "store", "telemetry")
          .uses(
              "control",
              "audit",
              "delivery",
              "memory",
              "policy",
              "queue",
              "run",
              "runtime",
              "store",
              "telemetry",
              "token")
          .uses("memory", "audit", "redaction", "run", "store")
          .uses("invocation", "audit", "redaction", "run", "skill", "store")
          .uses("plan", "policy", "run", "schema", "store")
          .uses("skill.slack", "skill")
          .uses("skill.github", "schema", "skill")
          .uses("skill.model")
          .uses("skill", "error", "policy", "schema")
          .uses("runtime.kubernetes", "policy", "runtime")
          .uses("runtime.process", "policy", "runtime")
          .uses("runtime.wasm", "policy", "runtime")
          .uses("runtime", "policy")
          .uses("run", "store", "telemetry")
          .uses("policy", "error", "run", "store")
          .uses("eval", "store")
          .uses("audit", "store", "telemetry")
          .uses("queue", "store")
          .uses("token", "error")
          .uses("store", "error")
          .uses("http", "error")
          .uses("schema")
          .uses("redaction")
          .uses("telemetry")
          .uses("error");

  private final Map<String, List<String>> uses = new LinkedHashMap<>();

  private PackageGraph() {}

  /** Declares {@code pkg}, which may use {@code used} (none: it uses no other Gateway package). */
  private PackageGraph uses(String pkg, String... used) {
    if (uses.putIfAbsent(pkg, List.of(used)) != null) {
      throw new IllegalArgumentException(pkg + " is declared twice");
    }
    return this;
  }

  /** Every declared package, in the order of the table. */
  List<String> packages() {
    return List.copyOf(uses.keySet());
  }

  /** Whether {@code pkg} is declared. */
  boolean declares(String pkg) {
    return uses.containsKey(pkg);
  }

  /** What {@code pkg} may use, as declared ({@link #ANY} for the composition root). */
  List<String> mayUse(String pkg) {
    return uses.getOrDefault(pkg, List.of());
  }

  /** Whether {@code from} may use {@code to}. */
  boolean allows(String from, String to) {
    List<String> allowed = mayUse(from);
    return allowed.contains(ANY) || allowed.contains(to);
  }

  /** The full name of a package of the table. */
  static String fullName(String pkg) {
    return pkg.isEmpty() ? BASE : BASE + "." + pkg;
  }

  /** The table's name of a package of the Gateway ({@code dev.worka.gateway.run} → {@code run}). */
  static String shortName(String fullName) {
    return fullName.equals(BASE) ? "" : fullName.substring(BASE.length() + 1);
  }

  /**
   * The cycles of {@code edges} (package → packages it uses), each as the packages on it; empty
   * when there is none.
   */
  static List<List<String>> cycles(Map<String, Set<String>> edges) {
    List<List<String>> cycles = new ArrayList<>();
    Set<String> done = new TreeSet<>();
    for (String start : new TreeSet<>(edges.keySet())) {
      walk(start, edges, new ArrayList<>(), done, cycles);
    }
    return cycles;
  }

  private static void walk(
      String at,
      Map<String, Set<String>> edges,
      List<String> path,
      Set<String> done,
      List<List<String>> cycles) {
    int seen = path.indexOf(at);
    if (seen >= 0) {
      List<String> cycle = new ArrayList<>(path.subList(seen, path.size()));
      cycle.add(at);
      cycles.add(cycle);
      return;
    }
    if (done.contains(at)) {
      return;
    }
    path.add(at);
    for (String next : new TreeSet<>(edges.getOrDefault(at, Set.of()))) {
      walk(next, edges, path, done, cycles);
    }
    path.remove(path.size() - 1);
    done.add(at);
  }

  /**
   * The package table of docs/architecture.md: each package, what it may use and what uses it, in
   * the order of the table.
   */
  String markdown() {
    Map<String, List<String>> usedBy = new LinkedHashMap<>();
    uses.keySet().forEach(p -> usedBy.put(p, new ArrayList<>()));
    uses.forEach(
        (from, used) ->
            used.stream().filter(usedBy::containsKey).forEach(to -> usedBy.get(to).add(from)));
    StringBuilder b = new StringBuilder();
    b.append("| package | may use | used by |\n|---|---|---|\n");
    for (String pkg : uses.keySet()) {
      b.append("| ")
          .append(pkg.isEmpty() ? "`" + BASE + "` (composition root)" : "`" + pkg + "`")
          .append(" | ")
          .append(list(uses.get(pkg)))
          .append(" | ")
          .append(list(usedBy.get(pkg)))
          .append(" |\n");
    }
    return b.toString();
  }

  private String list(List<String> packages) {
    if (packages.isEmpty()) {
      return "—";
    }
    if (packages.contains(ANY)) {
      return "every package";
    }
    List<String> ordered = new ArrayList<>(packages);
    List<String> order = packages();
    ordered.sort((a, b) -> Integer.compare(order.indexOf(a), order.indexOf(b)));
    return ordered.stream().map(p -> p.isEmpty() ? "root" : p).collect(Collectors.joining(", "));
  }

  /** The table's declared edges, {@link #ANY} left out. */
  Map<String, Set<String>> declaredEdges() {
    Map<String, Set<String>> edges = new LinkedHashMap<>();
    uses.forEach(
        (from, used) -> {
          Set<String> to = new TreeSet<>(used);
          to.remove(ANY);
          edges.put(from, to);
        });
    return edges;
  }
}
