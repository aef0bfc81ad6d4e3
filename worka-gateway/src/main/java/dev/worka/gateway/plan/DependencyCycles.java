package dev.worka.gateway.plan;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Finds dependency cycles among steps: each strongly connected group of steps (Tarjan) is one cycle
 * to report, shown as its shortest loop through the earliest proposed member, plus any other
 * members caught in the group. Steps without a usable step_ref, later duplicates of a step_ref,
 * self dependencies and dangling dependencies are ignored here (they are reported elsewhere).
 */
final class DependencyCycles {

  /**
   * @param loop steps in order, each depending on the next, the last on the first
   * @param alsoCaught other members of the same group, in proposed order
   */
  record Cycle<T>(List<T> loop, List<T> alsoCaught) {}

  static <T> List<Cycle<T>> find(
      List<T> steps, Function<T, String> ref, Function<T, List<String>> dependsOn) {
    Map<String, Integer> node = new HashMap<>();
    List<T> nodes = new ArrayList<>();
    for (T step : steps) {
      String r = ref.apply(step);
      if (r != null && !node.containsKey(r)) {
        node.put(r, nodes.size());
        nodes.add(step);
      }
    }
    int n = nodes.size();
    List<List<Integer>> edges = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      List<Integer> out = new ArrayList<>();
      for (String dependency : dependsOn.apply(nodes.get(i))) {
        Integer target = node.get(dependency);
        if (target != null && target != i && !out.contains(target)) {
          out.add(target);
        }
      }
      edges.add(out);
    }
    List<Cycle<T>> cycles = new ArrayList<>();
    for (List<Integer> group : new Tarjan(edges).groups()) {
      if (group.size() < 2) {
        continue;
      }
      int start = group.stream().min(Integer::compare).orElseThrow();
      List<Integer> loop = shortestLoop(start, group, edges);
      List<T> loopSteps = new ArrayList<>();
      loop.forEach(i -> loopSteps.add(nodes.get(i)));
      List<T> others = new ArrayList<>();
      group.stream().sorted().filter(i -> !loop.contains(i)).forEach(i -> others.add(nodes.get(i)));
      cycles.add(new Cycle<>(loopSteps, others));
    }
    cycles.sort(
        (a, b) -> Integer.compare(steps.indexOf(a.loop().get(0)), steps.indexOf(b.loop().get(0))));
    return cycles;
  }

  /** Breadth-first from {@code start} back to it, inside the group. */
  private static List<Integer> shortestLoop(
      int start, List<Integer> group, List<List<Integer>> edges) {
    int[] previous = new int[edges.size()];
    Arrays.fill(previous, -1);
    Deque<Integer> queue = new ArrayDeque<>();
    queue.add(start);
    while (!queue.isEmpty()) {
      int at = queue.poll();
      for (int next : edges.get(at)) {
        if (!group.contains(next)) {
          continue;
        }
        if (next == start) {
          List<Integer> loop = new ArrayList<>();
          for (int i = at; i != start; i = previous[i]) {
            loop.add(0, i);
          }
          loop.add(0, start);
          return loop;
        }
        if (previous[next] < 0) {
          previous[next] = at;
          queue.add(next);
        }
      }
    }
    throw new IllegalStateException("a strongly connected group without a loop through " + start);
  }

  /** Tarjan's strongly connected components; at most 64 nodes, so recursion is shallow. */
  private static final class Tarjan {
    private final List<List<Integer>> edges;
    private final int[] index;
    private final int[] low;
    private final boolean[] onStack;
    private final Deque<Integer> stack = new ArrayDeque<>();
    private final List<List<Integer>> groups = new ArrayList<>();
    private int counter;

    Tarjan(List<List<Integer>> edges) {
      this.edges = edges;
      int n = edges.size();
      index = new int[n];
      low = new int[n];
      onStack = new boolean[n];
      Arrays.fill(index, -1);
    }

    List<List<Integer>> groups() {
      for (int v = 0; v < edges.size(); v++) {
        if (index[v] < 0) {
          visit(v);
        }
      }
      return groups;
    }

    private void visit(int v) {
      index[v] = low[v] = counter++;
      stack.push(v);
      onStack[v] = true;
      for (int w : edges.get(v)) {
        if (index[w] < 0) {
          visit(w);
          low[v] = Math.min(low[v], low[w]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v], index[w]);
        }
      }
      if (low[v] == index[v]) {
        List<Integer> group = new ArrayList<>();
        int w;
        do {
          w = stack.pop();
          onStack[w] = false;
          group.add(w);
        } while (w != v);
        groups.add(group);
      }
    }
  }

  private DependencyCycles() {}
}
