package dev.worka.gateway.policy;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelSourceLocation;
import dev.cel.common.CelValidationResult;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.navigation.CelNavigableAst;
import dev.cel.common.navigation.CelNavigableExpr;
import dev.cel.common.types.CelKind;
import dev.cel.common.types.CelType;
import dev.cel.common.types.CelTypes;
import dev.cel.common.types.ListType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compiles a skill's {@code when} expression (CEL, DESIGN §7) into a {@link SkillCondition}, or
 * says precisely why it cannot: a syntax error, an unknown variable, function, field or list, an
 * expression whose type is not {@code bool}, or one beyond the size bounds.
 *
 * <p>The variables are maps: {@code input} (the call's input; its fields are checked against the
 * skill's input schema when {@link SkillFields} knows the skill), {@code run}, {@code step} and
 * {@code agent} (fixed fields, checked here since CEL does not check map keys), and {@code lists}
 * (the manifest's named lists, checked against those declared). The CEL compiler and runtime are
 * built once and shared; both are immutable.
 */
final class ConditionCompiler {
  /** Longest expression accepted, in characters. */
  static final int MAX_LENGTH = 2000;

  /** CEL's parser recursion limit: how deep an expression may nest (its default is 250). */
  static final int MAX_NESTING = 64;

  /**
   * Iterations of all comprehensions ({@code all}, {@code exists}, {@code map}, ...) in one
   * evaluation together.
   */
  static final int MAX_ITERATIONS = 10_000;

  /** Largest RE2 program a {@code matches()} pattern may compile to. */
  static final int MAX_REGEX_PROGRAM_SIZE = 1000;

  /** At most this many problems are reported for one expression. */
  static final int MAX_PROBLEMS = 5;

  static final List<String> VARIABLES = List.of("input", "run", "step", "agent", "lists");
  static final List<String> RUN_FIELDS =
      List.of("id", "source", "text", "requester", "slack_channel", "slack_thread_ts");
  static final List<String> STEP_FIELDS = List.of("id", "step_ref", "agent", "skills");
  static final List<String> AGENT_FIELDS = List.of("name");

  private static final String SOURCE_NAME = "when";
  private static final Pattern UNDECLARED =
      Pattern.compile("undeclared reference to '([^']*)' \\(in container '[^']*'\\)");

  /**
   * The outcome: a condition, or the problems with the expression (each without the manifest path).
   */
  sealed interface Result permits Compiled, Failed {}

  record Compiled(SkillCondition condition) implements Result {}

  record Failed(List<String> problems) implements Result {
    Failed {
      problems = List.copyOf(problems);
    }
  }

  /**
   * Compiles {@code expression}, the condition of {@code skill}; never throws.
   *
   * @param lists the names of the lists the manifest declares
   * @param inputFields the skill's input property names, or empty to leave {@code input.X}
   *     unchecked
   */
  static Result compile(
      String skill, String expression, Set<String> lists, Optional<Set<String>> inputFields) {
    Key key = new Key(skill, expression, Set.copyOf(lists), inputFields.map(Set::copyOf));
    SkillCondition known = COMPILED.get(key);
    if (known != null) {
      return new Compiled(known);
    }
    Result result = compileNew(skill, expression, lists, inputFields);
    if (result instanceof Compiled c) {
      if (COMPILED.size() >= CACHE_SIZE) {
        COMPILED.clear();
      }
      COMPILED.put(key, c.condition());
    }
    return result;
  }

  /**
   * Everything a compilation depends on. Conditions are immutable, so one compiled for the same key
   * is reused: a manifest is compiled again when it is checked, activated and read back, and a CEL
   * compilation costs far more than a manifest's other checks.
   */
  private record Key(
      String skill, String expression, Set<String> lists, Optional<Set<String>> inputFields) {}

  private static final int CACHE_SIZE = 1024;
  private static final Map<Key, SkillCondition> COMPILED = new ConcurrentHashMap<>();

  private static Result compileNew(
      String skill, String expression, Set<String> lists, Optional<Set<String>> inputFields) {
    if (expression.isBlank()) {
      return failed(
          "is empty; write a CEL expression that is true or false (e.g. input.owner == \"acme\"),"
              + " or remove when");
    }
    if (expression.length() > MAX_LENGTH) {
      return failed(
          "is " + expression.length() + " characters long; at most " + MAX_LENGTH + " are allowed");
    }
    try {
      CelValidationResult parsed = Cel.COMPILER.parse(expression, SOURCE_NAME);
      if (parsed.hasError()) {
        return new Failed(
            issues(parsed.getErrors(), expression, "syntax error", Set.of(), Set.of()));
      }
      CelAbstractSyntaxTree parsedAst = parsed.getAst();
      UsedNames names = new UsedNames();
      List<String> problems = names.check(skill, parsedAst, lists, inputFields);
      if (!problems.isEmpty()) {
        return new Failed(problems);
      }
      CelValidationResult checked = Cel.COMPILER.check(parsedAst);
      if (checked.hasError()) {
        return new Failed(
            issues(checked.getErrors(), expression, null, names.idents, names.functions));
      }
      CelAbstractSyntaxTree ast = checked.getAst();
      CelType type = ast.getResultType();
      if (!type.equals(SimpleType.BOOL)) {
        return failed(
            type.kind() == CelKind.DYN
                ? "is of type dyn, not bool: its value is only known when the skill is called, and"
                    + " a condition must be true or false; compare it (e.g. input.draft == true)"
                : "is of type "
                    + CelTypes.format(type)
                    + ", not bool (a condition must be true or false)");
      }
      CelRuntime.Program program = Cel.RUNTIME.createProgram(ast);
      return new Compiled(new SkillCondition(skill, expression, names.lists, program));
    } catch (Exception | StackOverflowError e) {
      // A hostile or pathological expression must make the manifest invalid, not crash the
      // compiler; the bounds above keep this path theoretical.
      return failed(
          "could not be compiled ("
              + e.getClass().getSimpleName()
              + ": "
              + oneLine(String.valueOf(e.getMessage()), 200)
              + ")");
    }
  }

  private static Failed failed(String problem) {
    return new Failed(List.of(problem));
  }

  /** The names an expression uses, checked against what exists. */
  private static final class UsedNames {
    final Set<String> lists = new LinkedHashSet<>();
    final Set<String> idents = new HashSet<>();
    final Set<String> functions = new HashSet<>();

    List<String> check(
        String skill,
        CelAbstractSyntaxTree ast,
        Set<String> declaredLists,
        Optional<Set<String>> inputFields) {
      Set<String> problems = new LinkedHashSet<>();
      Iterator<CelNavigableExpr> nodes =
          CelNavigableAst.fromAst(ast).getRoot().allNodes().iterator();
      while (nodes.hasNext()) {
        CelExpr expr = nodes.next().expr();
        switch (expr.getKind()) {
          case IDENT -> idents.add(expr.ident().name());
          case SELECT -> {
            CelExpr operand = expr.select().operand();
            if (operand.getKind() == CelExpr.ExprKind.Kind.IDENT) {
              field(
                      skill,
                      operand.ident().name(),
                      expr.select().field(),
                      declaredLists,
                      inputFields)
                  .ifPresent(problems::add);
            }
          }
          case CALL -> {
            CelExpr.CelCall call = expr.call();
            functions.add(call.function());
            // x["field"] is the same as x.field
            if (call.function().equals("_[_]")
                && call.args().size() == 2
                && call.args().get(0).getKind() == CelExpr.ExprKind.Kind.IDENT
                && call.args().get(1).getKind() == CelExpr.ExprKind.Kind.CONSTANT
                && call.args().get(1).constant().getKind() == CelConstant.Kind.STRING_VALUE) {
              field(
                      skill,
                      call.args().get(0).ident().name(),
                      call.args().get(1).constant().stringValue(),
                      declaredLists,
                      inputFields)
                  .ifPresent(problems::add);
            }
          }
          case COMPREHENSION -> {
            CelExpr.CelComprehension c = expr.comprehension();
            for (String variable : new String[] {c.iterVar(), c.iterVar2()}) {
              if (variable != null && VARIABLES.contains(variable)) {
                problems.add(
                    "the macro variable "
                        + variable
                        + " hides the variable of that name; choose another name");
              }
            }
          }
          default -> {}
        }
      }
      return problems.stream().limit(MAX_PROBLEMS).toList();
    }

    private Optional<String> field(
        String skill,
        String variable,
        String field,
        Set<String> declaredLists,
        Optional<Set<String>> inputFields) {
      return switch (variable) {
        case "run" -> fixed("run", field, RUN_FIELDS);
        case "step" -> fixed("step", field, STEP_FIELDS);
        case "agent" -> fixed("agent", field, AGENT_FIELDS);
        case "lists" -> {
          lists.add(field);
          if (declaredLists.contains(field)) {
            yield Optional.empty();
          }
          yield Optional.of(
              "lists has no list "
                  + Names.quoted(field)
                  + (declaredLists.isEmpty()
                      ? " (the manifest declares no lists)"
                      : " (the manifest declares " + String.join(", ", declaredLists) + ")"));
        }
        case "input" -> {
          if (inputFields.isEmpty() || inputFields.get().contains(field)) {
            yield Optional.empty();
          }
          yield Optional.of(
              "input has no field "
                  + Names.quoted(field)
                  + " ("
                  + skill
                  + (inputFields.get().isEmpty()
                      ? " takes no input fields)"
                      : " takes " + String.join(", ", inputFields.get()) + ")"));
        }
        default -> Optional.empty();
      };
    }

    private static Optional<String> fixed(String variable, String field, List<String> fields) {
      if (fields.contains(field)) {
        return Optional.empty();
      }
      return Optional.of(
          variable
              + " has no field "
              + Names.quoted(field)
              + " ("
              + variable
              + " has "
              + String.join(", ", fields)
              + ")");
    }
  }

  /** CEL's issues as problems: where (for a multi-line or long expression) and what, reworded. */
  private static List<String> issues(
      List<CelIssue> issues,
      String expression,
      String kind,
      Set<String> idents,
      Set<String> functions) {
    List<String> out = new ArrayList<>();
    boolean showWhere = kind != null || expression.length() > 60 || expression.contains("\n");
    for (CelIssue issue : issues) {
      if (out.size() == MAX_PROBLEMS) {
        out.add("... and " + (issues.size() - MAX_PROBLEMS) + " more");
        break;
      }
      String message = reworded(issue.getMessage(), idents, functions);
      CelSourceLocation at = issue.getSourceLocation();
      String where = "";
      if (showWhere && at != null && at.getLine() > 0) {
        where =
            (expression.contains("\n") ? "line " + at.getLine() + ", " : "")
                + "column "
                + (at.getColumn() + 1);
      }
      String prefix = kind == null ? "" : kind;
      if (!where.isEmpty()) {
        prefix = prefix.isEmpty() ? "at " + where : prefix + " at " + where;
      }
      out.add(oneLine(prefix.isEmpty() ? message : prefix + ": " + message, 400));
    }
    if (out.isEmpty()) {
      out.add("could not be compiled");
    }
    return out;
  }

  private static String reworded(String message, Set<String> idents, Set<String> functions) {
    String m = message == null ? "invalid" : message;
    Matcher undeclared = UNDECLARED.matcher(m);
    if (undeclared.matches()) {
      String name = undeclared.group(1);
      if (idents.contains(name)) {
        return "unknown variable "
            + Names.quoted(name)
            + " (the variables are input, run, step, agent and lists)";
      }
      if (functions.contains(name)) {
        return "unknown function " + Names.quoted(name);
      }
      return "unknown name " + Names.quoted(name);
    }
    // The candidate list of an overload error names every overload of the operator; the rest
    // of the message says what was wrong.
    return m.replaceFirst(" \\(candidates: .*\\)$", "");
  }

  /**
   * {@code text} on one line: runs of whitespace become one space, other control characters are
   * escaped, and it is cut to {@code max} characters.
   */
  static String oneLine(String text, int max) {
    StringBuilder out = new StringBuilder(Math.min(text.length(), max) + 4);
    boolean space = false;
    for (int i = 0; i < text.length(); i++) {
      if (out.length() >= max) {
        out.append('…');
        break;
      }
      char c = text.charAt(i);
      if (Character.isWhitespace(c)) {
        space = true;
        continue;
      }
      if (space && !out.isEmpty()) {
        out.append(' ');
      }
      space = false;
      if (Character.isISOControl(c)) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** The shared CEL environment, built on first use (building it loads CEL's standard library). */
  private static final class Cel {
    static final CelOptions OPTIONS =
        CelOptions.current()
            .maxExpressionCodePointSize(MAX_LENGTH)
            .maxParseRecursionDepth(MAX_NESTING)
            .comprehensionMaxIterations(MAX_ITERATIONS)
            .maxRegexProgramSize(MAX_REGEX_PROGRAM_SIZE)
            .enableHeterogeneousNumericComparisons(true)
            .enableShortCircuiting(true)
            .errorOnIntWrap(true)
            .build();

    static final CelCompiler COMPILER =
        CelCompilerFactory.standardCelCompilerBuilder()
            .setOptions(OPTIONS)
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addVar("input", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .addVar("run", MapType.create(SimpleType.STRING, SimpleType.STRING))
            .addVar("step", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .addVar("agent", MapType.create(SimpleType.STRING, SimpleType.STRING))
            .addVar("lists", MapType.create(SimpleType.STRING, ListType.create(SimpleType.STRING)))
            .build();

    static final CelRuntime RUNTIME =
        CelRuntimeFactory.standardCelRuntimeBuilder().setOptions(OPTIONS).build();
  }

  private ConditionCompiler() {}
}
