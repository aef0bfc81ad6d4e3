package dev.worka.gateway.policy;

import static dev.worka.gateway.policy.PolicyCompilerTest.PLANNER;
import static dev.worka.gateway.policy.PolicyCompilerTest.compiled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.Json;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Skill conditions ({@code when}, DESIGN §7): compiling them with the manifest and evaluating them
 * per call.
 */
class ConditionTest {

  private static final CompiledPolicy BUILTIN = BuiltinPolicy.compiled();

  /** The input fields of the catalog's skills, as the composition root passes them in. */
  static final SkillFields CATALOG =
      skill ->
          Optional.ofNullable(
              Map.<String, Set<String>>of(
                      "github.create_issue",
                      ordered("owner", "repo", "title", "body", "labels", "assignees"),
                      "github.get_issue",
                      ordered("owner", "repo", "issue_number"),
                      "github.add_issue_comment",
                      ordered("owner", "repo", "issue_number", "body"),
                      "github.search_issues",
                      ordered("query", "owner", "repo", "sort", "order", "page", "perPage"),
                      "slack.read_thread",
                      ordered("channel", "ts", "limit"),
                      "slack.post_message",
                      ordered("channel", "text", "thread_ts"),
                      "github.delete_repository",
                      ordered())
                  .get(skill));

  private static Set<String> ordered(String... names) {
    return new LinkedHashSet<>(List.of(names));
  }

  private static JsonNode json(String text) {
    try {
      return Json.STRICT.readTree(text);
    } catch (Exception e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  static ConditionContext context(JsonNode input, String slackChannel) {
    return new ConditionContext(
        input,
        new ConditionContext.Run("run-1", "api", "open an issue", "alice", slackChannel, null),
        new ConditionContext.Step(
            "step-1", "file", "ernest", List.of("github.create_issue", "github.get_issue")));
  }

  static ConditionContext context(String input) {
    return context(json(input), "");
  }

  /** A create_issue (or comment) call for {@code owner/repo}, from an API run. */
  static ConditionContext issueIn(String owner, String repo) {
    ObjectNode input = Json.STRICT.createObjectNode();
    input.put("owner", owner).put("repo", repo).put("title", "Login test is flaky");
    input.put("issue_number", 12).put("body", "It fails one run in ten.");
    return context(input, "");
  }

  private static CompiledPolicy withCondition(String skill, String when) {
    return compiled(
        PLANNER
            + "lists:\n  github_repos: [acme/widgets, acme/docs]\n  labels: [bug, flaky]\n"
            + "skills:\n  "
            + skill
            + ":\n    when: "
            + yamlQuoted(when)
            + "\n");
  }

  private static String yamlQuoted(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  /**
   * The errors of a manifest whose create_issue has condition {@code when}, checked against {@link
   * #CATALOG}.
   */
  private static List<String> errors(String when) {
    String yaml =
        PLANNER
            + "lists:\n  github_repos: [acme/widgets]\n"
            + "skills:\n  github.create_issue:\n    when: "
            + yamlQuoted(when)
            + "\n";
    return switch (PolicyCompiler.compile(yaml, CATALOG)) {
      case Compilation.Compiled c -> fail("expected " + when + " not to compile");
      case Compilation.Invalid i -> i.errors();
    };
  }

  private static void assertOnlyError(String when, String expected) {
    assertEquals(List.of(expected), errors(when));
  }

  private static void allow(Decision d, String reason) {
    assertInstanceOf(Decision.Allow.class, d, d::reason);
    assertEquals(reason, d.reason());
  }

  private static void deny(Decision d, String reason) {
    assertInstanceOf(Decision.Deny.class, d, d::reason);
    assertEquals(reason, d.reason());
  }

  // --- the built-in manifest -------------------------------------------------------------------

  @Test
  void theBuiltInConditionsAllowTheListedRepositoriesAndNoOthers() {
    String held =
        "condition of github.create_issue holds: input.owner + \"/\" + input.repo in"
            + " lists.github_repos && size(input.title) <= 200";
    allow(
        PolicyDecider.condition(BUILTIN, "github.create_issue", issueIn("acme", "widgets")), held);
    allow(PolicyDecider.condition(BUILTIN, "github.create_issue", issueIn("acme", "docs")), held);
    deny(
        PolicyDecider.condition(BUILTIN, "github.create_issue", issueIn("acme", "secret")),
        held.replace(" holds: ", " does not hold: "));
    // acme/widgets is one string; "acme/wid" + "gets" is not a way around it, nor is a prefix
    assertFalse(
        PolicyDecider.condition(BUILTIN, "github.create_issue", issueIn("acme/widgets", "x"))
            .allowed());
    assertFalse(
        PolicyDecider.condition(BUILTIN, "github.create_issue", issueIn("acme", "widgets2"))
            .allowed());
    for (String skill : List.of("github.get_issue", "github.add_issue_comment")) {
      assertTrue(PolicyDecider.condition(BUILTIN, skill, issueIn("acme", "docs")).allowed(), skill);
      assertFalse(
          PolicyDecider.condition(BUILTIN, skill, issueIn("acme", "secret")).allowed(), skill);
    }
    allow(
        PolicyDecider.condition(
            BUILTIN, "github.search_issues", context("{\"query\": \"repo:acme/secret leak\"}")),
        "skill github.search_issues has no condition");
  }

  @Test
  void theBuiltInTitleBoundIsTwoHundredCharacters() {
    ObjectNode input = (ObjectNode) issueIn("acme", "widgets").input();
    input.put("title", "t".repeat(200));
    assertTrue(
        PolicyDecider.condition(BUILTIN, "github.create_issue", context(input, "")).allowed());
    input.put("title", "t".repeat(201));
    assertFalse(
        PolicyDecider.condition(BUILTIN, "github.create_issue", context(input, "")).allowed());
    // size() counts code points, not UTF-16 units
    input.put("title", "😀".repeat(200));
    assertTrue(
        PolicyDecider.condition(BUILTIN, "github.create_issue", context(input, "")).allowed());
  }

  static ConditionContext slackContext(JsonNode input, String slackChannel, String threadTs) {
    return new ConditionContext(
        input,
        new ConditionContext.Run(
            "run-1", "slack", "summarize this thread", "U1", slackChannel, threadTs),
        new ConditionContext.Step(
            "step-1", "read", "daneel", List.of("slack.read_thread", "slack.post_message")));
  }

  @Test
  void theBuiltInSlackConditionsAllowOnlyTheThreadTheRequestCameFrom() {
    String thread = "1700000000.000100";
    JsonNode read = json("{\"channel\": \"C123\", \"ts\": \"" + thread + "\"}");
    allow(
        PolicyDecider.condition(BUILTIN, "slack.read_thread", slackContext(read, "C123", thread)),
        "condition of slack.read_thread holds: input.channel == run.slack_channel && input.ts == run.slack_thread_ts");
    deny(
        PolicyDecider.condition(BUILTIN, "slack.read_thread", slackContext(read, "C999", thread)),
        "condition of slack.read_thread does not hold: input.channel == run.slack_channel && input.ts == run.slack_thread_ts");
    assertFalse(
        PolicyDecider.condition(
                BUILTIN, "slack.read_thread", slackContext(read, "C123", "1700000000.000999"))
            .allowed(),
        "another thread of the same channel");
    assertFalse(
        PolicyDecider.condition(BUILTIN, "slack.read_thread", slackContext(read, "C123", null))
            .allowed(),
        "a run without a thread (a slash command) reads none");
    // a run from the API has no Slack channel: it reads and posts in none
    assertFalse(
        PolicyDecider.condition(BUILTIN, "slack.read_thread", context(read, null)).allowed());

    JsonNode reply =
        json("{\"channel\": \"C123\", \"thread_ts\": \"" + thread + "\", \"text\": \"done\"}");
    assertTrue(
        PolicyDecider.condition(BUILTIN, "slack.post_message", slackContext(reply, "C123", thread))
            .allowed());
    JsonNode topLevel = json("{\"channel\": \"C123\", \"text\": \"done\"}");
    assertFalse(
        PolicyDecider.condition(
                BUILTIN, "slack.post_message", slackContext(topLevel, "C123", thread))
            .allowed(),
        "a post without thread_ts would be top-level in the channel");
    JsonNode otherThread =
        json("{\"channel\": \"C123\", \"thread_ts\": \"1700000000.000999\", \"text\": \"x\"}");
    assertFalse(
        PolicyDecider.condition(
                BUILTIN, "slack.post_message", slackContext(otherThread, "C123", thread))
            .allowed());
    assertFalse(
        PolicyDecider.condition(BUILTIN, "slack.post_message", slackContext(topLevel, "C123", null))
            .allowed(),
        "a slash command's run (no thread) posts nothing, not even top-level in its conversation");
    assertFalse(
        PolicyDecider.condition(BUILTIN, "slack.post_message", slackContext(reply, "C999", thread))
            .allowed());
    assertFalse(
        PolicyDecider.condition(BUILTIN, "slack.post_message", context(topLevel, "")).allowed());
  }

  @Test
  void theBuiltInConditionsMatchTheCatalogsInputFields() {
    assertInstanceOf(
        Compilation.Compiled.class, PolicyCompiler.compile(BuiltinPolicy.source(), CATALOG));
  }

  // --- compile errors --------------------------------------------------------------------------

  @Test
  void anExpressionThatDoesNotParseIsAnError() {
    List<String> errors = errors("input.owner ==");
    assertEquals(1, errors.size(), errors::toString);
    assertTrue(
        errors
            .get(0)
            .startsWith(
                "skills.github.create_issue.when: 'input.owner ==': syntax error at column 15:"
                    + " mismatched input '<EOF>'"),
        errors::toString);
    assertTrue(
        errors("input.owner == \"x").get(0).contains("syntax error at column"),
        () -> errors("input.owner == \"x").toString());
  }

  @Test
  void unknownVariablesAndFunctionsAreErrors() {
    assertOnlyError(
        "user.name == \"x\"",
        "skills.github.create_issue.when: 'user.name == \"x\"': unknown variable 'user' (the"
            + " variables are input, run, step, agent and lists)");
    assertOnlyError(
        "lower(input.title) == \"x\"",
        "skills.github.create_issue.when: 'lower(input.title) == \"x\"': unknown function 'lower'");
  }

  @Test
  void unknownFieldsOfRunStepAndAgentAreErrors() {
    assertOnlyError(
        "input.owner == run.channel",
        "skills.github.create_issue.when: 'input.owner == run.channel': run has no field"
            + " 'channel' (run has id, source, text, requester, slack_channel, slack_thread_ts)");
    assertOnlyError(
        "step.name == \"file\"",
        "skills.github.create_issue.when: 'step.name == \"file\"': step has no field 'name' (step"
            + " has id, step_ref, agent, skills)");
    assertOnlyError(
        "agent.role == \"worker\"",
        "skills.github.create_issue.when: 'agent.role == \"worker\"': agent has no field 'role'"
            + " (agent has name)");
    // the index form and has() are checked the same way
    assertTrue(
        errors("run[\"channel\"] == \"C1\"")
            .get(0)
            .endsWith(
                "run has no field 'channel' (run has id, source, text, requester, slack_channel,"
                    + " slack_thread_ts)"));
    assertTrue(errors("has(run.channel)").get(0).contains("run has no field 'channel'"));
    assertEquals(2, errors("run.a == run.b").size());
  }

  @Test
  void aListTheManifestDoesNotDeclareIsAnError() {
    assertOnlyError(
        "input.owner in lists.owners",
        "skills.github.create_issue.when: 'input.owner in lists.owners': lists has no list"
            + " 'owners' (the manifest declares github_repos)");
    assertEquals(
        List.of(
            "skills.slack.read_thread.when: 'input.channel in lists.channels': lists has no list"
                + " 'channels' (the manifest declares no lists)"),
        PolicyCompilerTest.errors(
            PLANNER + "skills:\n  slack.read_thread: {when: 'input.channel in lists.channels'}\n"));
    // with errors in the lists section, the list is not reported twice
    List<String> both =
        PolicyCompilerTest.errors(
            PLANNER
                + "lists:\n  Channels: [C1]\n"
                + "skills:\n  slack.read_thread: {when: 'input.channel in lists.channels'}\n");
    assertEquals(1, both.size(), both::toString);
  }

  @Test
  void anInputFieldTheSkillDoesNotHaveIsAnErrorWhenTheSkillsAreKnown() {
    assertOnlyError(
        "input.ownr == \"x\"",
        "skills.github.create_issue.when: 'input.ownr == \"x\"': input has no field 'ownr'"
            + " (github.create_issue takes owner, repo, title, body, labels, assignees)");
    assertTrue(
        errors("has(input.ownr)")
            .get(0)
            .endsWith(
                "input has no field 'ownr' (github.create_issue takes owner, repo, title, body,"
                    + " labels, assignees)"));
    assertTrue(errors("input[\"ownr\"] == \"x\"").get(0).contains("input has no field 'ownr'"));
    assertEquals(
        List.of(
            "skills.github.delete_repository.when: 'input.force': input has no field 'force'"
                + " (github.delete_repository takes no input fields)"),
        invalidWithCatalog(
            PLANNER + "skills:\n  github.delete_repository: {when: 'input.force'}\n"));
  }

  private static List<String> invalidWithCatalog(String yaml) {
    return switch (PolicyCompiler.compile(yaml, CATALOG)) {
      case Compilation.Compiled c -> fail("expected an invalid manifest");
      case Compilation.Invalid i -> i.errors();
    };
  }

  @Test
  void withoutSkillFieldsAnyInputFieldCompiles() {
    CompiledPolicy p =
        compiled(PLANNER + "skills:\n  github.create_issue: {when: 'input.ownr == \"x\"'}\n");
    assertTrue(p.skills().get("github.create_issue").when().isPresent());
    // and a skill the catalog does not know is not checked either
    assertInstanceOf(
        Compilation.Compiled.class,
        PolicyCompiler.compile(
            PLANNER + "skills:\n  acme.deploy: {when: 'input.anything == 1'}\n", CATALOG));
    // a SkillFields that fails is an error, not a crash
    Compilation broken =
        PolicyCompiler.compile(
            PLANNER + "skills:\n  acme.deploy: {when: 'input.anything == 1'}\n",
            skill -> {
              throw new IllegalStateException("catalog down");
            });
    assertEquals(
        List.of(
            "skills.acme.deploy.when: the input fields of acme.deploy could not be looked up"
                + " (catalog down)"),
        assertInstanceOf(Compilation.Invalid.class, broken).errors());
  }

  @Test
  void anExpressionThatIsNotABooleanIsAnError() {
    assertOnlyError(
        "size(input.title)",
        "skills.github.create_issue.when: 'size(input.title)': is of type int, not bool (a"
            + " condition must be true or false)");
    assertOnlyError(
        "input.title",
        "skills.github.create_issue.when: 'input.title': is of type dyn, not bool: its value is"
            + " only known when the skill is called, and a condition must be true or false;"
            + " compare it (e.g. input.draft == true)");
    assertOnlyError(
        "lists.github_repos",
        "skills.github.create_issue.when: 'lists.github_repos': is of type list(string), not bool"
            + " (a condition must be true or false)");
    assertTrue(
        errors("run.slack_channel + 1 == 2")
            .get(0)
            .endsWith("found no matching overload for '_+_' applied to '(string, int)'"),
        () -> errors("run.slack_channel + 1 == 2").toString());
  }

  @Test
  void emptyMissingAndNonStringConditionsAreErrors() {
    assertOnlyError(
        "",
        "skills.github.create_issue.when: is empty; write a CEL expression that is true or false"
            + " (e.g. input.owner == \"acme\"), or remove when");
    assertEquals(
        List.of(
            "skills.slack.read_thread.when: expected a CEL expression that is true or false, found"
                + " nothing (remove when for no condition)"),
        PolicyCompilerTest.errors(PLANNER + "skills:\n  slack.read_thread: {when: }\n"));
    assertEquals(
        List.of(
            "skills.slack.read_thread.when: expected a CEL expression as a string, found the"
                + " boolean true (quote it)"),
        PolicyCompilerTest.errors(PLANNER + "skills:\n  slack.read_thread: {when: true}\n"));
    assertEquals(
        List.of(
            "skills.slack.read_thread.when: expected a CEL expression as a string, found a list"),
        PolicyCompilerTest.errors(PLANNER + "skills:\n  slack.read_thread: {when: [a]}\n"));
  }

  @Test
  void expressionsAreBounded() {
    String longest = "input.title == \"" + "x".repeat(ConditionCompiler.MAX_LENGTH - 17) + "\"";
    assertEquals(ConditionCompiler.MAX_LENGTH, longest.length());
    assertTrue(
        withCondition("github.create_issue", longest)
            .skills()
            .get("github.create_issue")
            .when()
            .isPresent());
    assertOnlyError(
        longest + " ",
        "skills.github.create_issue.when: is 2001 characters long; at most 2000 are allowed");
    // nesting beyond the parser's bound is an error, not a stack overflow
    String deep = "(".repeat(500) + "true" + ")".repeat(500);
    assertTrue(
        errors(deep).get(0).contains("recursion limit exceeded"), () -> errors(deep).toString());
    String chain = "input.title == \"\"" + " + \"a\"".repeat(300);
    assertFalse(errors(chain).isEmpty());
    // many problems in one expression are reported, but boundedly
    String many =
        "input.a == 1 && input.b == 1 && input.c == 1 && input.d == 1 && input.e == 1 && input.f =="
            + " 1 && input.g == 1";
    assertEquals(ConditionCompiler.MAX_PROBLEMS, errors(many).size());
  }

  @Test
  void aMacroVariableMayNotHideAVariable() {
    assertOnlyError(
        "input.labels.all(run, run != \"\")",
        "skills.github.create_issue.when: 'input.labels.all(run, run != \"\")': the macro variable"
            + " run hides the variable of that name; choose another name");
  }

  @Test
  void everyConditionErrorIsReportedWithItsSkill() {
    List<String> errors =
        PolicyCompilerTest.errors(
            PLANNER
                + """
                skills:
                  github.create_issue: {when: 'input.owner =='}
                  github.get_issue: {when: 'run.channel == ""'}
                  slack.read_thread: {when: 'input.channel == run.slack_channel'}
                """);
    assertEquals(2, errors.size(), errors::toString);
    assertTrue(errors.get(0).startsWith("skills.github.create_issue.when: "));
    assertTrue(errors.get(1).startsWith("skills.github.get_issue.when: "));
  }

  @Test
  void garbageExpressionsNeverThrow() {
    Random random = new Random(11);
    String alphabet =
        "input.run step agent lists()[]{}\"'\\ ==!=&&||+-*/%?:.,<>0123456789 has all map \u0000\n";
    for (int round = 0; round < 500; round++) {
      StringBuilder s = new StringBuilder();
      int length = random.nextInt(60);
      for (int i = 0; i < length; i++) {
        s.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      ConditionCompiler.Result r =
          ConditionCompiler.compile(
              "github.create_issue", s.toString(), Set.of("github_repos"), Optional.empty());
      if (r instanceof ConditionCompiler.Failed f) {
        assertFalse(f.problems().isEmpty());
        f.problems().forEach(p -> assertFalse(p.contains("\n"), p));
      }
    }
  }

  // --- evaluation ------------------------------------------------------------------------------

  @Test
  void anEvaluationErrorIsADenyWithTheErrorAsItsReason() {
    deny(
        PolicyDecider.condition(
            BUILTIN, "github.create_issue", context("{\"repo\": \"widgets\", \"title\": \"t\"}")),
        "condition of github.create_issue could not be evaluated: key 'owner' is not present in"
            + " map");
    CompiledPolicy p = withCondition("github.get_issue", "input.issue_number + \"x\" == \"12x\"");
    Decision d = PolicyDecider.condition(p, "github.get_issue", issueIn("acme", "widgets"));
    assertFalse(d.allowed());
    assertTrue(
        d.reason().startsWith("condition of github.get_issue could not be evaluated: "),
        d.reason());
    assertTrue(d.reason().contains("No matching overload for function '_+_'"), d.reason());
  }

  @Test
  void optionalInputFieldsAreGuardedWithHas() {
    CompiledPolicy p =
        withCondition(
            "github.create_issue", "!has(input.labels) || input.labels.all(l, l in lists.labels)");
    assertTrue(
        PolicyDecider.condition(p, "github.create_issue", context("{\"title\": \"t\"}")).allowed());
    assertTrue(
        PolicyDecider.condition(
                p, "github.create_issue", context("{\"labels\": [\"bug\", \"flaky\"]}"))
            .allowed());
    assertFalse(
        PolicyDecider.condition(
                p, "github.create_issue", context("{\"labels\": [\"bug\", \"p0\"]}"))
            .allowed());
    // without the guard, the missing field is an error, and so a deny
    CompiledPolicy unguarded =
        withCondition("github.create_issue", "input.labels.all(l, l in lists.labels)");
    deny(
        PolicyDecider.condition(unguarded, "github.create_issue", context("{\"title\": \"t\"}")),
        "condition of github.create_issue could not be evaluated: key 'labels' is not present in"
            + " map");
  }

  @Test
  void jsonValuesBecomeTheirCelValues() {
    CompiledPolicy p =
        withCondition(
            "acme.check",
            "input.n == 12 && input.n < 12.5 && input.d == 1.5 && input.b && input.z == null"
                + " && input.o.k == \"v\" && input.a == [1, \"two\", false] && size(input.a) == 3"
                + " && type(input.n) == int && type(input.d) == double && input.big > 1e19");
    String input =
        "{\"n\": 12, \"d\": 1.5, \"b\": true, \"z\": null, \"o\": {\"k\": \"v\"},"
            + " \"a\": [1, \"two\", false], \"big\": 18446744073709551617}";
    Decision d = PolicyDecider.condition(p, "acme.check", context(input));
    assertTrue(d.allowed(), d.reason());
    // a long expression is shown cut in a reason
    assertTrue(
        d.reason().startsWith("condition of acme.check holds: input.n == 12 && "), d.reason());
    assertTrue(d.reason().endsWith("…"), d.reason());
  }

  @Test
  void runStepAndAgentFactsAreVisible() {
    CompiledPolicy p =
        withCondition(
            "github.create_issue",
            "run.id == \"run-1\" && run.source == \"api\" && run.text == \"open an issue\""
                + " && run.requester == \"alice\" && run.slack_channel == \"\""
                + " && run.slack_thread_ts == \"\" && step.id == \"step-1\""
                + " && step.step_ref == \"file\" && step.agent == \"ernest\""
                + " && \"github.create_issue\" in step.skills && agent.name == \"ernest\"");
    assertTrue(
        PolicyDecider.condition(p, "github.create_issue", issueIn("acme", "widgets")).allowed(),
        () ->
            PolicyDecider.condition(p, "github.create_issue", issueIn("acme", "widgets")).reason());
    ConditionContext empty =
        new ConditionContext(
            json("{}"),
            new ConditionContext.Run(null, null, null, null, null, null),
            new ConditionContext.Step(null, null, null, null));
    CompiledPolicy blank =
        withCondition(
            "github.create_issue",
            "run.id == \"\" && run.requester == \"\" && step.skills == [] && agent.name == \"\"");
    assertTrue(PolicyDecider.condition(blank, "github.create_issue", empty).allowed());
  }

  @Test
  void inputThatIsNotAnObjectOrNestsTooDeepIsADeny() {
    for (String input : List.of("[]", "null", "\"x\"")) {
      deny(
          PolicyDecider.condition(BUILTIN, "github.create_issue", context(input)),
          "condition of github.create_issue could not be evaluated: the input is not a JSON"
              + " object");
    }
    deny(
        PolicyDecider.condition(BUILTIN, "github.create_issue", context((JsonNode) null, "")),
        "condition of github.create_issue could not be evaluated: the input is not a JSON object");
    deny(
        PolicyDecider.condition(
            BUILTIN,
            "github.create_issue",
            context(Json.STRICT.createObjectNode().set("owner", nested(100)), "")),
        "condition of github.create_issue could not be evaluated: the input nests deeper than 64"
            + " levels");
  }

  private static JsonNode nested(int depth) {
    JsonNode node = Json.STRICT.createArrayNode();
    for (int i = 0; i < depth; i++) {
      node = Json.STRICT.createArrayNode().add(node);
    }
    return node;
  }

  @Test
  void evaluationIsBounded() {
    // nested comprehensions over the manifest's lists: 100 x 100 x 100 iterations exceed the budget
    List<String> hundred = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      hundred.add("\"r" + i + "\"");
    }
    CompiledPolicy p =
        compiled(
            PLANNER
                + "lists:\n  many: ["
                + String.join(", ", hundred)
                + "]\nskills:\n  acme.spin:\n    when: 'lists.many.all(a, lists.many.all(b,"
                + " lists.many.all(c, a + b + c != \"\")))'\n");
    deny(
        PolicyDecider.condition(p, "acme.spin", context("{}")),
        "condition of acme.spin could not be evaluated: Iteration budget exceeded: 10000");
    // a regular expression from the input is RE2 and bounded in size
    CompiledPolicy regex = withCondition("acme.match", "input.text.matches(input.pattern)");
    assertTrue(
        PolicyDecider.condition(
                regex, "acme.match", context("{\"text\": \"aaa\", \"pattern\": \"^(a+)+$\"}"))
            .allowed());
    Decision big =
        PolicyDecider.condition(
            regex,
            "acme.match",
            context("{\"text\": \"a\", \"pattern\": \"" + "(a|b)".repeat(500) + "\"}"));
    assertFalse(big.allowed());
    assertTrue(big.reason().contains("Regex pattern exceeds allowed program size"), big.reason());
  }

  @Test
  void aSkillWithoutAConditionIsAllowedByTheConditionCheck() {
    allow(
        PolicyDecider.condition(BUILTIN, "github.search_issues", context("{}")),
        "skill github.search_issues has no condition");
    allow(
        PolicyDecider.condition(BUILTIN, "acme.unknown", context("{}")),
        "skill acme.unknown has no condition");
    deny(PolicyDecider.condition(BUILTIN, null, context("{}")), "no skill was named");
    deny(PolicyDecider.condition(BUILTIN, "", context("{}")), "no skill was named");
    deny(
        PolicyDecider.condition(BUILTIN, "github.create_issue", null),
        "condition of github.create_issue could not be evaluated: no call context was given");
    Decision weird = PolicyDecider.condition(BUILTIN, "x\n".repeat(500), context("{}"));
    assertFalse(weird.reason().contains("\n"), weird.reason());
    assertTrue(weird.reason().length() < 700, weird.reason());
  }

  @Test
  void theWholeSkillDecisionAsksTheGrantsThenTheCondition() {
    List<String> step = List.of("github.create_issue");
    allow(
        PolicyDecider.skill(
            BUILTIN, "ernest", step, "github.create_issue", issueIn("acme", "widgets")),
        "agent ernest is granted skill github.create_issue and it is among the step's accepted"
            + " skills; condition of github.create_issue holds: input.owner + \"/\" + input.repo in"
            + " lists.github_repos && size(input.title) <= 200");
    deny(
        PolicyDecider.skill(
            BUILTIN, "ernest", step, "github.create_issue", issueIn("acme", "secret")),
        "condition of github.create_issue does not hold: input.owner + \"/\" + input.repo in"
            + " lists.github_repos && size(input.title) <= 200");
    deny(
        PolicyDecider.skill(
            BUILTIN, "daneel", step, "github.create_issue", issueIn("acme", "widgets")),
        "agent daneel is not granted skill github.create_issue");
  }

  // --- stored form and sharing -----------------------------------------------------------------

  @Test
  void conditionsSurviveTheJsonRoundTrip() throws Exception {
    String json = BUILTIN.toJson();
    JsonNode tree = Json.STRICT.readTree(json);
    assertEquals(
        "input.channel == run.slack_channel && input.ts == run.slack_thread_ts",
        tree.get("skills").get("slack.read_thread").get("when").textValue());
    assertFalse(
        tree.get("skills").get("github.search_issues") != null,
        "no entry for a skill without settings");
    CompiledPolicy back = CompiledPolicy.fromJson(json);
    assertEquals(BUILTIN, back);
    assertEquals(json, back.toJson());
    assertTrue(
        PolicyDecider.condition(back, "github.create_issue", issueIn("acme", "widgets")).allowed());
    assertFalse(
        PolicyDecider.condition(back, "github.create_issue", issueIn("acme", "secret")).allowed());
  }

  @Test
  void aStoredConditionIsCompiledFromItsStoredText() throws Exception {
    ObjectNode edited = (ObjectNode) Json.STRICT.readTree(BUILTIN.toJson());
    ((ObjectNode) edited.get("skills").get("github.create_issue"))
        .put("when", "input.owner == \"acme\"");
    CompiledPolicy read = CompiledPolicy.fromJson(edited.toString());
    assertTrue(
        PolicyDecider.condition(read, "github.create_issue", issueIn("acme", "secret")).allowed());
    assertFalse(
        PolicyDecider.condition(read, "github.create_issue", issueIn("evil", "widgets")).allowed());
  }

  @Test
  void aStoredConditionThatDoesNotCompileIsRefused() throws Exception {
    ObjectNode broken = (ObjectNode) Json.STRICT.readTree(BUILTIN.toJson());
    ((ObjectNode) broken.get("skills").get("github.create_issue")).put("when", "input.owner ==");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> CompiledPolicy.fromJson(broken.toString()));
    assertTrue(
        e.getMessage().contains("skills.github.create_issue.when does not compile: syntax error"),
        e.getMessage());

    ObjectNode noList = (ObjectNode) Json.STRICT.readTree(BUILTIN.toJson());
    ((ObjectNode) noList.get("lists")).remove("github_repos");
    e =
        assertThrows(
            IllegalArgumentException.class, () -> CompiledPolicy.fromJson(noList.toString()));
    assertTrue(e.getMessage().contains("lists has no list 'github_repos'"), e.getMessage());

    ObjectNode notText = (ObjectNode) Json.STRICT.readTree(BUILTIN.toJson());
    ((ObjectNode) notText.get("skills").get("github.create_issue")).put("when", 1);
    assertThrows(IllegalArgumentException.class, () -> CompiledPolicy.fromJson(notText.toString()));
  }

  @Test
  void aPolicyRefusesAConditionOnAListItDoesNotDeclare() {
    SkillPolicy skill = BUILTIN.skills().get("github.create_issue");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new CompiledPolicy(BUILTIN.agents(), Map.of(), BUILTIN.skills(), BUILTIN.limits()));
    assertTrue(
        e.getMessage().contains("reads lists.github_repos, which the policy does not declare"),
        e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> new SkillPolicy("github.get_issue", true, skill.when()));
  }

  @Test
  void oneProgramIsEvaluatedByManyThreadsAtOnce() throws Exception {
    int threads = 8;
    int calls = 5_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Callable<Integer>> work = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        work.add(
            () -> {
              Random random = new Random(seed);
              int checked = 0;
              for (int i = 0; i < calls; i++) {
                boolean listed = random.nextBoolean();
                String repo = listed ? (random.nextBoolean() ? "widgets" : "docs") : "secret" + i;
                ObjectNode input = (ObjectNode) issueIn("acme", repo).input();
                boolean shortTitle = random.nextInt(10) > 0;
                input.put("title", "t".repeat(shortTitle ? 1 + random.nextInt(200) : 201 + i % 50));
                Decision d =
                    PolicyDecider.condition(BUILTIN, "github.create_issue", context(input, ""));
                if (d.allowed() != (listed && shortTitle)) {
                  throw new AssertionError(
                      repo + " " + input.get("title").textValue().length() + ": " + d.reason());
                }
                checked++;
              }
              return checked;
            });
      }
      int total = 0;
      for (Future<Integer> f : pool.invokeAll(work)) {
        total += f.get();
      }
      assertEquals(threads * calls, total);
    } finally {
      pool.shutdownNow();
    }
  }
}
