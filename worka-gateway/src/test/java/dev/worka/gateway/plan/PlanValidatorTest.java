package dev.worka.gateway.plan;

import static dev.worka.gateway.plan.PlanFixtures.DESIGN_EXAMPLE;
import static dev.worka.gateway.plan.PlanFixtures.POLICY;
import static dev.worka.gateway.plan.PlanFixtures.SKILLS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PlanValidatorTest {
  private static final PlanValidator VALIDATOR = new PlanValidator(SKILLS);
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  // --- building plans -------------------------------------------------------------------------

  static ObjectNode step(
      String ref, String agent, String objective, List<String> skills, String... dependsOn) {
    ObjectNode step = NODES.objectNode();
    step.put("step_ref", ref);
    step.put("agent", agent);
    step.put("objective", objective);
    skills.forEach(step.putArray("skills")::add);
    Arrays.asList(dependsOn).forEach(step.putArray("depends_on")::add);
    return step;
  }

  static ObjectNode ernest(String ref, String... dependsOn) {
    return step(ref, "ernest", "look up issue " + ref, List.of("github.get_issue"), dependsOn);
  }

  static String plan(String summary, ObjectNode... steps) {
    ObjectNode plan = NODES.objectNode();
    plan.put("summary", summary);
    ArrayNode array = plan.putArray("steps");
    for (ObjectNode step : steps) {
      array.add(step);
    }
    return plan.toString();
  }

  static PlanValidation.Accepted accepted(String json) {
    return switch (VALIDATOR.validate(json, POLICY)) {
      case PlanValidation.Accepted a -> a;
      case PlanValidation.Rejected r ->
          fail("expected the plan to be accepted, got " + r.reasons());
    };
  }

  static List<String> rejected(String json) {
    return switch (VALIDATOR.validate(json, POLICY)) {
      case PlanValidation.Accepted a -> fail("expected the plan to be rejected, got " + a.plan());
      case PlanValidation.Rejected r -> r.reasons();
    };
  }

  static void assertReason(String json, String expected) {
    List<String> reasons = rejected(json);
    assertTrue(
        reasons.contains(expected), () -> "expected reason\n  " + expected + "\nin\n  " + reasons);
  }

  static void assertReasonContaining(String json, String expected) {
    List<String> reasons = rejected(json);
    assertTrue(
        reasons.stream().anyMatch(r -> r.contains(expected)),
        () -> "expected a reason containing\n  " + expected + "\nin\n  " + reasons);
  }

  // --- acceptance -----------------------------------------------------------------------------

  @Test
  void acceptsTheDesignExample() {
    PlanValidation.Accepted a = accepted(DESIGN_EXAMPLE);
    assertEquals("Summarize the thread and file an issue", a.plan().summary());
    assertEquals(
        List.of(
            new NormalizedStep(
                "read",
                "daneel",
                "Summarize this thread",
                List.of("slack.read_thread"),
                List.of(),
                1),
            new NormalizedStep(
                "file",
                "ernest",
                "Open an issue with the summary",
                List.of("github.create_issue"),
                List.of("read"),
                2)),
        a.plan().steps());
    String canonical =
        "{\"steps\":[{\"agent\":\"daneel\",\"depends_on\":[],\"objective\":\"Summarize this"
            + " thread\","
            + "\"skills\":[\"slack.read_thread\"],\"step_ref\":\"read\"},{\"agent\":\"ernest\",\"depends_on\":[\"read\"],\"objective\":\"Open"
            + " an issue with the summary\","
            + "\"skills\":[\"github.create_issue\"],\"step_ref\":\"file\"}],\"summary\":\"Summarize"
            + " the thread and file an issue\"}";
    assertEquals(canonical, a.canonicalJson());
    assertEquals(PlanValidator.sha256(canonical.getBytes(StandardCharsets.UTF_8)), a.planHash());
    assertEquals(Optional.of(a.plan().steps().get(1)), a.plan().step("file"));
  }

  @Test
  void hashIgnoresKeyOrderAndWhitespaceButNotContent() {
    String reordered =
        """
        {"steps":[
            {"depends_on":[],"skills":["slack.read_thread"],"objective":"Summarize this thread","agent":"daneel","step_ref":"read"},
            {"objective":"Open an issue with the summary","step_ref":"file","depends_on":["read"],
             "agent":"ernest","skills":["github.create_issue"]}],
         "summary":   "Summarize the thread and file an issue"}
        """;
    String original = accepted(DESIGN_EXAMPLE).planHash();
    assertEquals(original, accepted(reordered).planHash());
    assertEquals(original, accepted(DESIGN_EXAMPLE.replace("\n", "\r\n  ")).planHash());
    assertEquals(
        original,
        accepted(DESIGN_EXAMPLE.replace("Summarize this thread", "  Summarize this thread\\u0007 "))
            .planHash(),
        "the hash is over normalized text");
    assertNotEquals(
        original, accepted(DESIGN_EXAMPLE.replace("this thread", "that thread")).planHash());
    assertNotEquals(
        original,
        accepted(DESIGN_EXAMPLE.replace("\"depends_on\": [\"read\"]", "\"depends_on\": []"))
            .planHash());
  }

  @Test
  void textIsNormalized() {
    String raw =
        plan(
            " \u202Eevil\u202C Summary\r\n\tline two \u0000",
            step(
                "a",
                "ernest",
                "\u0001 Cafe\u0301\u0007 report\n\tdone \u0085\u200Bzero-width kept\uD800 ",
                List.of("github.get_issue")));
    PlanValidation.Accepted a = accepted(raw);
    assertEquals("evil Summary\n\tline two", a.plan().summary());
    assertEquals(
        "Caf\u00e9 report\n\tdone \u200Bzero-width kept\uFFFD",
        a.plan().steps().get(0).objective());
    assertEquals(
        a.planHash(),
        accepted(
                plan(
                    a.plan().summary(),
                    step(
                        "a",
                        "ernest",
                        a.plan().steps().get(0).objective(),
                        List.of("github.get_issue"))))
            .planHash(),
        "normalizing is idempotent and the hash follows the normalized text");
  }

  @Test
  void stepsComeInDependencyOrderKeepingTheProposedOrderAmongReadySteps() {
    PlanValidation.Accepted a =
        accepted(plan("s", ernest("c", "a", "b"), ernest("a"), ernest("b", "a"), ernest("d")));
    List<String> order = new ArrayList<>();
    for (NormalizedStep s : a.plan().steps()) {
      order.add(s.stepRef() + s.sequence());
    }
    assertEquals(List.of("a1", "b2", "c3", "d4"), order);
    assertEquals(List.of("a", "b"), a.plan().step("c").orElseThrow().dependsOn());
    // the canonical JSON (and so the hash) keeps the steps as proposed
    assertTrue(
        a.canonicalJson().indexOf("\"step_ref\":\"c\"")
            < a.canonicalJson().indexOf("\"step_ref\":\"a\""));

    PlanValidation.Accepted independent =
        accepted(plan("s", ernest("z"), ernest("y"), ernest("x")));
    assertEquals(
        List.of("z", "y", "x"),
        independent.plan().steps().stream().map(NormalizedStep::stepRef).toList());
  }

  @Test
  void aStepWithoutSkillsAndAnEmptySummaryAreAccepted() {
    PlanValidation.Accepted a = accepted(plan("", step("think", "ernest", "think", List.of())));
    assertEquals("", a.plan().summary());
    assertEquals(List.of(), a.plan().steps().get(0).skills());
  }

  // --- the body -------------------------------------------------------------------------------

  @Test
  void rejectsMissingOversizedAndMalformedBodies() {
    assertEquals(List.of("the plan body is missing"), rejected(null));
    assertEquals(List.of("the plan body is empty"), rejected(""));
    assertEquals(List.of("the plan body is empty"), rejected(" \n\t "));
    String tooLong = plan("x".repeat(PlanValidator.MAX_BODY_BYTES), ernest("a"));
    assertEquals(List.of("the plan body is larger than 262144 bytes (256 KiB)"), rejected(tooLong));
    String tooManyBytes = plan("\u00e9".repeat(140_000), ernest("a")); // fewer chars, more bytes
    assertTrue(tooManyBytes.length() < PlanValidator.MAX_BODY_BYTES);
    assertEquals(
        List.of("the plan body is larger than 262144 bytes (256 KiB)"), rejected(tooManyBytes));

    for (String malformed :
        List.of(
            "{",
            "nul",
            "{\"summary\": \"a\",}",
            "{\"summary\": 'single'}",
            "{} {}",
            "{}x",
            "{\"summary\": \"a\", \"summary\": \"b\", \"steps\": []}",
            "[1, 2",
            "\u0000",
            "{\"summary\": \"\u0001\"}",
            "{\"summary\":"
                + " 1e999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999}")) {
      List<String> reasons = rejected(malformed);
      assertEquals(1, reasons.size(), reasons::toString);
      assertTrue(reasons.get(0).startsWith("the plan body is not valid JSON"), reasons::toString);
    }
    assertReasonContaining(
        "{\"summary\": \"a\", \"summary\": \"b\", \"steps\": []}", "Duplicate field 'summary'");
    String deep = "{\"summary\":" + "[".repeat(70) + "]".repeat(70) + "}";
    assertReasonContaining(deep, "nesting depth");
  }

  @Test
  void rejectsWhatTheSchemaForbids() {
    assertEquals(List.of("$: array found, object expected"), rejected("[]"));
    assertEquals(List.of("$: null found, object expected"), rejected("null"));
    assertReason(
        "{\"steps\": [], \"summary\": \"s\"}", "$.steps: must have at least 1 items but found 0");
    assertReason("{\"summary\": \"s\"}", "$: required property 'steps' not found");
    ObjectNode extraStepField = ernest("a");
    extraStepField.put("run_id", "x");
    assertReason(
        plan("s", extraStepField),
        "$.steps[0]: property 'run_id' is not defined in the schema and the schema does not allow"
            + " additional properties");
    assertReason(
        "{\"summary\": \"s\", \"steps\": [" + ernest("a") + "], \"priority\": 1}",
        "$: property 'priority' is not defined in the schema and the schema does not allow"
            + " additional properties");
    ObjectNode missing = ernest("a");
    missing.remove("depends_on");
    assertReason(plan("s", missing), "$.steps[0]: required property 'depends_on' not found");
    ObjectNode wrongType = ernest("a");
    wrongType.put("skills", "github.get_issue");
    assertReason(plan("s", wrongType), "$.steps[0].skills: string found, array expected");
    assertReason(
        plan("s", step("A", "ernest", "o", List.of())),
        "$.steps[0].step_ref: does not match the regex pattern ^[a-z][a-z0-9_-]{0,63}$");
    assertReason(
        plan("s", step("a", "ernest", "o", List.of("GitHub.get_issue"))),
        "$.steps[0].skills[0]: does not match the regex pattern"
            + " ^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$");
    assertReason(
        plan("s", step("a", "ernest", "o", List.of("github.get_issue", "github.get_issue"))),
        "$.steps[0].skills: must have only unique items in the array");
    assertReason(
        plan("x".repeat(2001), ernest("a")), "$.summary: must be at most 2,000 characters long");
    assertReason(
        plan("s", step("a", "ernest", "o".repeat(4001), List.of())),
        "$.steps[0].objective: must be at most 4,000 characters long");
    assertReason(
        plan("s", step("a", "ernest", "", List.of())),
        "$.steps[0].objective: must be at least 1 characters long");
    ObjectNode[] many = new ObjectNode[65];
    for (int i = 0; i < many.length; i++) {
      many[i] = ernest("s" + i);
    }
    List<String> reasons = rejected(plan("s", many));
    assertTrue(
        reasons.contains("$.steps: must have at most 64 items but found 65"), reasons::toString);
    assertTrue(
        reasons.contains("the plan has 65 steps; the policy allows at most 8 (limits.max_steps)"),
        reasons::toString);
  }

  @Test
  void identifiersMustMatchExactlyNotJustUpToATrailingNewline() {
    // java.util.regex's $ matches before a final line break; the Gateway's shared schema setup
    // (schema/JsonSchemas) makes it the end of the value, so the plan schema itself refuses these.
    assertEquals(
        List.of("$.steps[0].step_ref: does not match the regex pattern ^[a-z][a-z0-9_-]{0,63}$"),
        rejected(plan("s", step("read\n", "ernest", "o", List.of()))));
    assertEquals(
        List.of("$.steps[0].agent: does not match the regex pattern ^[a-z][a-z0-9_-]{0,63}$"),
        rejected(plan("s", step("read", "ernest\n", "o", List.of()))));
    assertReason(
        plan("s", step("read", "ernest", "o", List.of("github.get_issue\n"))),
        "$.steps[0].skills[0]: does not match the regex pattern ^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$");
    assertReason(
        plan("s", ernest("a"), ernest("b", "a\n")),
        "$.steps[1].depends_on[0]: does not match the regex pattern ^[a-z][a-z0-9_-]{0,63}$");
  }

  @Test
  void rejectsAnObjectiveThatNormalizesToNothing() {
    assertEquals(
        List.of(
            "$.steps[0].objective: is empty after normalization (control characters removed,"
                + " whitespace trimmed)"),
        rejected(plan("s", step("a", "ernest", " \u0001\u202E \t\n", List.of()))));
  }

  // --- the plan against the policy ------------------------------------------------------------

  @Test
  void rejectsMoreStepsThanThePolicyAllows() {
    ObjectNode[] nine = new ObjectNode[9];
    for (int i = 0; i < nine.length; i++) {
      nine[i] = ernest("s" + i);
    }
    assertEquals(
        List.of("the plan has 9 steps; the policy allows at most 8 (limits.max_steps)"),
        rejected(plan("s", nine)));
    accepted(plan("s", Arrays.copyOf(nine, 8)));
  }

  @Test
  void rejectsDuplicateDanglingAndSelfReferences() {
    assertEquals(
        List.of(
            "$.steps[1].step_ref: 'read' is already the step_ref of steps[0]; step_refs must be"
                + " unique"),
        rejected(plan("s", ernest("read"), ernest("read"))));
    assertEquals(
        List.of(
            "step 'file' (steps[1]): depends_on names 'reed', which is not a step_ref of this"
                + " plan"),
        rejected(plan("s", ernest("read"), ernest("file", "reed"))));
    assertEquals(
        List.of("step 'file' (steps[0]): depends on itself"),
        rejected(plan("s", ernest("file", "file"))));
  }

  @Test
  void rejectsCyclesNamingTheStepsInThem() {
    assertEquals(
        List.of("dependency cycle: step 'a' depends on 'b', step 'b' depends on 'a'"),
        rejected(plan("s", ernest("a", "b"), ernest("b", "a"), ernest("c", "a"))));
    assertEquals(
        List.of(
            "dependency cycle: step 'x' depends on 'y', step 'y' depends on 'z', step 'z' depends"
                + " on 'x'",
            "dependency cycle: step 'p' depends on 'q', step 'q' depends on 'p'"),
        rejected(
            plan(
                "s",
                ernest("ok"),
                ernest("x", "y"),
                ernest("p", "q"),
                ernest("y", "z"),
                ernest("z", "x"),
                ernest("q", "p"))));
    assertEquals(
        List.of(
            "dependency cycle: step 'a' depends on 'b', step 'b' depends on 'a' (also caught in it:"
                + " 'c')"),
        rejected(plan("s", ernest("a", "b"), ernest("b", "a", "c"), ernest("c", "a"))));
  }

  @Test
  void rejectsAgentsThePolicyDoesNotLetWork() {
    assertEquals(
        List.of("step 'x' (steps[0]): agent 'zed' is not declared in the policy"),
        rejected(plan("s", step("x", "zed", "o", List.of()))));
    assertEquals(
        List.of("step 'x' (steps[0]): agent 'sleepy' is disabled in the policy"),
        rejected(plan("s", step("x", "sleepy", "o", List.of("github.get_issue")))));
    assertEquals(
        List.of(
            "step 'x' (steps[0]): agent 'hari' is a planner; plan steps are assigned to workers"),
        rejected(plan("s", step("x", "hari", "o", List.of()))));
  }

  @Test
  void rejectsSkillsThatAreUnknownNotAllowedOrUnavailable() {
    assertEquals(
        List.of("step 'x' (steps[0]): skill 'github.nope' does not exist"),
        rejected(plan("s", step("x", "ernest", "o", List.of("github.nope")))));
    assertEquals(
        List.of(
            "step 'wreck' (steps[0]): agent ernest is not allowed skill github.delete_repository"),
        rejected(plan("s", step("wreck", "ernest", "o", List.of("github.delete_repository")))));
    assertEquals(
        List.of(
            "step 'x' (steps[0]): skill slack.post_message is unavailable: provider slack is not"
                + " configured (live mode)"),
        rejected(plan("s", step("x", "daneel", "o", List.of("slack.post_message")))));
    assertEquals(
        List.of(
            "step 'x' (steps[0]): agent daneel is not allowed skill github.get_issue",
            "step 'x' (steps[0]): agent daneel is not allowed skill github.create_issue"),
        rejected(
            plan(
                "s",
                step("x", "daneel", "o", List.of("github.get_issue", "github.create_issue")))));
  }

  @Test
  void listsEveryViolationNotOnlyTheFirst() {
    ObjectNode unknownField = ernest("a");
    unknownField.put("priority", 1);
    List<String> reasons =
        rejected(
            plan(
                "s",
                unknownField,
                step("wreck", "ernest", "o", List.of("github.delete_repository")),
                step("b", "zed", "o", List.of(), "nowhere"),
                ernest("wreck"),
                ernest("c", "c")));
    assertEquals(
        List.of(
            "$.steps[0]: property 'priority' is not defined in the schema and the schema does not"
                + " allow additional properties",
            "$.steps[3].step_ref: 'wreck' is already the step_ref of steps[1]; step_refs must be"
                + " unique",
            "step 'b' (steps[2]): depends_on names 'nowhere', which is not a step_ref of this plan",
            "step 'c' (steps[4]): depends on itself",
            "step 'wreck' (steps[1]): agent ernest is not allowed skill github.delete_repository",
            "step 'b' (steps[2]): agent 'zed' is not declared in the policy"),
        reasons);
  }

  @Test
  void reasonsAreBoundedAndEscaped() {
    ObjectNode evil = ernest("a");
    evil.put("x\u0000\n" + "y".repeat(10_000), 1);
    List<String> reasons = rejected(plan("s", evil));
    assertEquals(1, reasons.size());
    assertTrue(
        reasons.get(0).length() <= Violations.MAX_REASON_LENGTH + 1,
        () -> "" + reasons.get(0).length());
    assertTrue(reasons.get(0).chars().noneMatch(Character::isISOControl), reasons.get(0));

    ObjectNode[] many = new ObjectNode[60];
    for (int i = 0; i < many.length; i++) {
      many[i] = step("s" + i, "zed", "o", List.of("github.nope", "github.nah"));
    }
    List<String> lots = rejected(plan("s", many));
    assertEquals(Violations.MAX_REASONS + 1, lots.size());
    assertTrue(
        lots.get(lots.size() - 1).matches("… and \\d+ more violations"), lots.get(lots.size() - 1));
  }

  @Test
  void failsClosedWhenSomethingInsideBreaks() {
    PlanValidator broken =
        new PlanValidator(
            new SkillDirectory() {
              @Override
              public boolean exists(String skill) {
                throw new IllegalStateException("catalog down");
              }

              @Override
              public Optional<String> unavailableReason(String skill) {
                return Optional.empty();
              }
            });
    assertEquals(
        new PlanValidation.Rejected(List.of(PlanValidator.INTERNAL_ERROR)),
        broken.validate(DESIGN_EXAMPLE, POLICY));
  }
}
