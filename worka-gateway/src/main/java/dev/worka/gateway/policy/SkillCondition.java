package dev.worka.gateway.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelVariableResolver;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A skill's condition ({@code when}, DESIGN §7): the CEL expression as the operator wrote it and
 * the program it was compiled into when the manifest was compiled. Immutable; one program is
 * evaluated by any number of threads at once (cel-java programs hold no per-evaluation state).
 *
 * <p>Two conditions are equal when they belong to the same skill and have the same expression text:
 * the program is derived from the text, and only the text is stored ({@link
 * CompiledPolicy#toJson()}); reading a stored policy compiles it again.
 *
 * <p>Evaluation is bounded: expressions are at most {@value ConditionCompiler#MAX_LENGTH}
 * characters and nest at most {@value ConditionCompiler#MAX_NESTING} deep, all comprehensions of
 * one evaluation together iterate at most {@value ConditionCompiler#MAX_ITERATIONS} times, and
 * regular expressions are RE2 (linear time) of a bounded program size. Use {@link
 * PolicyDecider#condition} to evaluate one.
 */
public final class SkillCondition {
  private static final int SHOWN_ERROR_MAX = 300;

  private final String skill;
  private final String expression;
  private final Set<String> lists;
  private final CelRuntime.Program program;

  SkillCondition(String skill, String expression, Set<String> lists, CelRuntime.Program program) {
    this.skill = Objects.requireNonNull(skill, "skill");
    this.expression = Objects.requireNonNull(expression, "expression");
    this.lists = Set.copyOf(lists);
    this.program = Objects.requireNonNull(program, "program");
  }

  /** The CEL expression as the manifest states it. */
  public String expression() {
    return expression;
  }

  /** The skill whose condition this is. */
  public String skill() {
    return skill;
  }

  /** The names of the manifest's lists the expression reads ({@code lists.X}). */
  Set<String> referencedLists() {
    return lists;
  }

  /** Evaluates the condition; never throws: anything that goes wrong is a deny saying what. */
  Decision evaluate(ConditionContext context, Map<String, List<String>> manifestLists) {
    if (!(context.input() instanceof ObjectNode inputNode)) {
      return new Decision.Deny(
          "condition of " + skill + " could not be evaluated: the input is not a JSON object");
    }
    try {
      Map<String, Object> input = CelValues.object(inputNode);
      ConditionContext.Run r = context.run();
      ConditionContext.Step s = context.step();
      Map<String, Object> run =
          Map.of(
              "id", r.id(),
              "source", r.source(),
              "text", r.text(),
              "requester", r.requester(),
              "slack_channel", r.slackChannel(),
              "slack_thread_ts", r.slackThreadTs());
      Map<String, Object> step =
          Map.of("id", s.id(), "step_ref", s.stepRef(), "agent", s.agent(), "skills", s.skills());
      Map<String, Object> agent = Map.of("name", s.agent());
      CelVariableResolver variables =
          name ->
              switch (name) {
                case "input" -> Optional.of(input);
                case "run" -> Optional.of(run);
                case "step" -> Optional.of(step);
                case "agent" -> Optional.of(agent);
                case "lists" -> Optional.of(manifestLists);
                default -> Optional.empty();
              };
      Object result = program.eval(variables);
      if (result instanceof Boolean holds) {
        return holds
            ? new Decision.Allow("condition of " + skill + " holds: " + shown())
            : new Decision.Deny("condition of " + skill + " does not hold: " + shown());
      }
      // The compiler only accepts expressions whose type is bool; this is a gap in that check.
      return new Decision.Deny(
          "condition of "
              + skill
              + " could not be evaluated: it yielded "
              + (result == null ? "nothing" : result.getClass().getSimpleName())
              + ", not a boolean");
    } catch (CelValues.NotConvertible e) {
      return couldNotEvaluate(e.getMessage());
    } catch (CelEvaluationException e) {
      return couldNotEvaluate(evaluationMessage(e.getMessage()));
    } catch (RuntimeException | StackOverflowError e) {
      // cel-java reports evaluation errors as CelEvaluationException; anything else is a bug
      // there or here, and still a deny, never a crash of the call.
      return couldNotEvaluate(
          "internal error "
              + e.getClass().getSimpleName()
              + ": "
              + evaluationMessage(e.getMessage()));
    }
  }

  private Decision couldNotEvaluate(String why) {
    return new Decision.Deny("condition of " + skill + " could not be evaluated: " + why);
  }

  /** The expression as a reason shows it: on one line, bounded. */
  String shown() {
    return ConditionCompiler.oneLine(expression, 200);
  }

  /**
   * cel-java's message without its position prefix ({@code evaluation error at <input>:5: key
   * 'owner' is not present in map.} becomes {@code key 'owner' is not present in map}), on one
   * line, bounded, control characters escaped (a map key in it may come from the input).
   */
  static String evaluationMessage(String message) {
    String m = message == null ? "unknown error" : message;
    m = m.replaceFirst("^evaluation error(?: at [^:]*:\\d+)?: ", "");
    if (m.endsWith(".")) {
      m = m.substring(0, m.length() - 1);
    }
    return ConditionCompiler.oneLine(m, SHOWN_ERROR_MAX);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SkillCondition c
        && skill.equals(c.skill)
        && expression.equals(c.expression);
  }

  @Override
  public int hashCode() {
    return 31 * skill.hashCode() + expression.hashCode();
  }

  @Override
  public String toString() {
    return "SkillCondition[" + skill + ": " + shown() + "]";
  }
}
