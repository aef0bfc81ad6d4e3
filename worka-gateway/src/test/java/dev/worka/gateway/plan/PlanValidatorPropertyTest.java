package dev.worka.gateway.plan;

import static dev.worka.gateway.plan.PlanFixtures.DESIGN_EXAMPLE;
import static dev.worka.gateway.plan.PlanFixtures.POLICY;
import static dev.worka.gateway.plan.PlanFixtures.SKILLS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What must hold for any input: the validator returns a value (never throws, never hits its
 * internal-error path), every rejection has bounded, control-free reasons, and an accepted plan's
 * canonical JSON validates again to the same hash (normalization is idempotent).
 */
class PlanValidatorPropertyTest {
  private static final PlanValidator VALIDATOR = new PlanValidator(SKILLS);
  private static final String ALPHABET =
      "{}[]:,\"\\ \n"
          + "\t0123456789abcdefghijklmnopqrstuvwxyz_-.eE+truefalsn\u0000\u0001\u00e9\u0301\u202E\uD800\uDC00";
  private static final List<String> FRAGMENTS =
      List.of(
          "\"step_ref\"",
          "\"agent\"",
          "\"objective\"",
          "\"skills\"",
          "\"depends_on\"",
          "\"summary\"",
          "\"steps\"",
          "\"ernest\"",
          "\"daneel\"",
          "\"hari\"",
          "\"zed\"",
          "\"read\"",
          "\"file\"",
          "\"github.create_issue\"",
          "\"github.delete_repository\"",
          "\"slack.post_message\"",
          "[]",
          "{}",
          "[\"read\"]",
          "null",
          "true",
          "1",
          "-0.5e3",
          "\"\\u0000\"",
          "\"\\ud800\"",
          ",",
          ":",
          "[",
          "]",
          "{",
          "}");

  private static void check(String input) {
    PlanValidation outcome = VALIDATOR.validate(input, POLICY);
    assertNotNull(outcome);
    switch (outcome) {
      case PlanValidation.Rejected r -> {
        assertFalse(
            r.reasons().contains(PlanValidator.INTERNAL_ERROR),
            () -> "internal error for " + input);
        for (String reason : r.reasons()) {
          assertTrue(reason.length() <= Violations.MAX_REASON_LENGTH + 1);
          assertTrue(reason.chars().noneMatch(Character::isISOControl), reason);
        }
      }
      case PlanValidation.Accepted a -> {
        PlanValidation again = VALIDATOR.validate(a.canonicalJson(), POLICY);
        assertTrue(
            again instanceof PlanValidation.Accepted,
            () -> "re-validation of " + a.canonicalJson() + ": " + again);
        assertEquals(a.planHash(), ((PlanValidation.Accepted) again).planHash());
        assertEquals(a.canonicalJson(), ((PlanValidation.Accepted) again).canonicalJson());
      }
    }
  }

  @Test
  void randomGarbageNeverThrows() {
    Random random = new Random(20261122L);
    for (int round = 0; round < 5_000; round++) {
      StringBuilder s = new StringBuilder();
      int length = random.nextInt(200);
      for (int i = 0; i < length; i++) {
        if (random.nextInt(4) == 0) {
          s.append(FRAGMENTS.get(random.nextInt(FRAGMENTS.size())));
        } else {
          s.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        }
      }
      check(s.toString());
    }
  }

  @Test
  void mutatedPlansNeverThrow() {
    Random random = new Random(42);
    int accepted = 0;
    for (int round = 0; round < 10_000; round++) {
      StringBuilder s = new StringBuilder(DESIGN_EXAMPLE);
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits; e++) {
        int at = random.nextInt(s.length() + 1);
        switch (random.nextInt(5)) {
          case 0 -> s.insert(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
          case 1 -> {
            if (at < s.length()) {
              s.deleteCharAt(at);
            }
          }
          case 2 -> s.insert(at, FRAGMENTS.get(random.nextInt(FRAGMENTS.size())));
          case 3 -> {
            int end = Math.min(s.length(), at + random.nextInt(60));
            s.insert(random.nextInt(s.length() + 1), s.substring(at, end));
          }
          default -> {
            int end = Math.min(s.length(), at + random.nextInt(30));
            s.delete(at, end);
          }
        }
      }
      String input = s.toString();
      check(input);
      if (VALIDATOR.validate(input, POLICY) instanceof PlanValidation.Accepted) {
        accepted++;
      }
    }
    assertTrue(accepted > 0, "some mutations (e.g. inside objectives) keep the plan valid");
  }

  @Test
  void structuredButHostileInputsNeverThrow() {
    List<String> inputs =
        List.of(
            "{\"summary\":\"s\",\"steps\":[" + "[".repeat(64) + "]".repeat(64) + "]}",
            "{\"summary\":\"s\",\"steps\":[1,\"a\",null,true,{}]}",
            "{\"summary\":\"s\",\"steps\":{\"step_ref\":\"a\"}}",
            "{\"summary\":{},\"steps\":[{\"step_ref\":1,\"agent\":[],\"objective\":{},\"skills\":\"x\",\"depends_on\":7}]}",
            "{\"summary\":\"s\",\"steps\":[{\"step_ref\":\"a\",\"agent\":\"ernest\",\"objective\":\"o\",\"skills\":[null,1],\"depends_on\":[null,\"a\",\"a\"]}]}",
            "\uFEFF" + DESIGN_EXAMPLE,
            DESIGN_EXAMPLE + "\u0000",
            "\"just a string\"",
            "12345",
            "true",
            "{\"summary\":\"\\ud800\\udc00\\udc00\\ud800\",\"steps\":[]}");
    for (String input : inputs) {
      check(input);
    }
    StringBuilder wide = new StringBuilder("{\"summary\":\"s\",\"steps\":[");
    for (int i = 0; i < 20_000; i++) {
      wide.append(i == 0 ? "" : ",").append("{}");
    }
    check(wide.append("]}").toString());
  }
}
