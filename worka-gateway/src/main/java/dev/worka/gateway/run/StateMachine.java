package dev.worka.gateway.run;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * An explicit state machine: the allowed moves of an enum of states, declared in one place.
 * Terminal states have no moves out.
 */
final class StateMachine<S extends Enum<S>> {
  private final Map<S, Set<S>> moves;
  private final Set<S> terminal;

  private StateMachine(Map<S, Set<S>> moves, Set<S> terminal) {
    this.moves = moves;
    this.terminal = terminal;
  }

  public boolean allows(S from, S to) {
    return moves.getOrDefault(from, Set.of()).contains(to);
  }

  boolean isTerminal(S state) {
    return terminal.contains(state);
  }

  /** Every declared move, as from → to pairs. */
  public Set<Map.Entry<S, S>> transitions() {
    Set<Map.Entry<S, S>> all = new LinkedHashSet<>();
    moves.forEach((from, tos) -> tos.forEach(to -> all.add(Map.entry(from, to))));
    return Collections.unmodifiableSet(all);
  }

  static <S extends Enum<S>> Builder<S> builder(Class<S> type) {
    return new Builder<>(type);
  }

  static final class Builder<S extends Enum<S>> {
    private final Class<S> type;
    private final Map<S, Set<S>> moves;
    private final Set<S> terminal;

    private Builder(Class<S> type) {
      this.type = type;
      this.moves = new EnumMap<>(type);
      this.terminal = EnumSet.noneOf(type);
    }

    Builder<S> move(S from, S to) {
      moves.computeIfAbsent(from, k -> EnumSet.noneOf(type)).add(to);
      return this;
    }

    @SafeVarargs
    final Builder<S> terminal(S... states) {
      for (S state : states) {
        terminal.add(state);
      }
      return this;
    }

    /** From every non-terminal state to each of {@code targets}. */
    @SafeVarargs
    final Builder<S> fromAnyNonTerminal(S... targets) {
      for (S from : type.getEnumConstants()) {
        if (!terminal.contains(from)) {
          for (S to : targets) {
            move(from, to);
          }
        }
      }
      return this;
    }

    StateMachine<S> build() {
      for (S t : terminal) {
        if (moves.containsKey(t)) {
          throw new IllegalStateException("terminal state " + t + " has moves out");
        }
      }
      Map<S, Set<S>> frozen = new EnumMap<>(type);
      moves.forEach((k, v) -> frozen.put(k, Collections.unmodifiableSet(EnumSet.copyOf(v))));
      return new StateMachine<>(Collections.unmodifiableMap(frozen), EnumSet.copyOf(terminal));
    }
  }
}
