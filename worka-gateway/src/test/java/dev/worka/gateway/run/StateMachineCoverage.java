package dev.worka.gateway.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Every transition the state machines declare ({@link RunStatus#MACHINE}, {@link
 * StepStatus#MACHINE}) was produced by some test of the suite, counted from what the tests made
 * happen ({@link ProducedTransitions}: the {@code run_events} of every test database), not from
 * enumerating the table. Remove the only test that drives a run or a step through a move and this
 * fails, naming the move.
 *
 * <p>Only the whole suite can cover everything, so this runs only then: its name is not a test name
 * surefire picks up by itself, and the whole-suite profile of worka-gateway/pom.xml (active unless
 * {@code -Dtest=…} is given) records the transitions during the normal test execution and runs this
 * in a second one, after every other test. Run any other way (no {@value
 * ProducedTransitions#DIRECTORY_PROPERTY}), it is skipped. Each run writes {@code coverage.txt}
 * beside the records: every transition with the tests that produced it.
 */
class StateMachineCoverage {
  /**
   * Tests whose transitions are not counted: StateMachineTest applies every declared pair straight
   * through the stores to check the compare-and-set itself, which would cover everything by
   * enumeration.
   */
  private static final Set<String> ENUMERATING_TESTS = Set.of(StateMachineTest.class.getName());

  private static final String REJECTED_ONLY_WHILE_PLANNING =
      "no code yet: a run is rejected only when its plan is refused, while it is planning";
  private static final String PENDING_ONLY_QUEUED_OR_CANCELLED =
      "no code yet: a pending step is only queued, or cancelled with its run";
  private static final String RETRY_WAIT_ONLY_QUEUED_OR_CANCELLED =
      "no code yet: a step waiting to retry is only queued again, or cancelled with its run";
  private static final String APPROVAL_ENDS_DECIDED_OR_EXPIRED =
      "no code: a wait for approval ends queued (approved), failed (denied, expired) or cancelled"
          + " (its run ended); it runs no worker that could time out";

  /**
   * Declared moves no code makes yet, each with why: DESIGN §4 lets any open run or step fail, be
   * rejected, time out or be cancelled. The list must stay exact: the check fails if one of these
   * is produced (its test then counts, and it leaves the list), and a move left out needs a test.
   */
  private static final Map<String, String> MADE_BY_NO_CODE_YET =
      Map.ofEntries(
          Map.entry("run received -> rejected", REJECTED_ONLY_WHILE_PLANNING),
          Map.entry("run running -> rejected", REJECTED_ONLY_WHILE_PLANNING),
          Map.entry("run delivering -> rejected", REJECTED_ONLY_WHILE_PLANNING),
          Map.entry("step pending -> failed", PENDING_ONLY_QUEUED_OR_CANCELLED),
          Map.entry("step pending -> timed_out", PENDING_ONLY_QUEUED_OR_CANCELLED),
          Map.entry("step retry_wait -> failed", RETRY_WAIT_ONLY_QUEUED_OR_CANCELLED),
          Map.entry("step retry_wait -> timed_out", RETRY_WAIT_ONLY_QUEUED_OR_CANCELLED),
          Map.entry("step awaiting_approval -> timed_out", APPROVAL_ENDS_DECIDED_OR_EXPIRED));

  @Test
  void everyDeclaredTransitionIsProducedBySomeTestOfTheSuite() throws IOException {
    String directory = System.getProperty(ProducedTransitions.DIRECTORY_PROPERTY);
    assumeTrue(
        directory != null,
        "counted only when the whole suite runs (bin/test, or mvn verify without -Dtest)");
    Path records = Path.of(directory);
    List<ProducedTransitions.Produced> produced = ProducedTransitions.read(records);
    assertFalse(
        produced.isEmpty(),
        "no transition was recorded in " + records + ": did TestDatabase stop recording?");

    Set<String> declared = new TreeSet<>();
    RunStatus.MACHINE
        .transitions()
        .forEach(t -> declared.add("run " + t.getKey().sql() + " -> " + t.getValue().sql()));
    StepStatus.MACHINE
        .transitions()
        .forEach(t -> declared.add("step " + t.getKey().sql() + " -> " + t.getValue().sql()));
    Map<String, Set<String>> testsOf = new TreeMap<>();
    for (ProducedTransitions.Produced p : produced) {
      if (!ENUMERATING_TESTS.contains(p.test())) {
        testsOf.computeIfAbsent(p.transition(), k -> new TreeSet<>()).add(p.test());
      }
    }
    writeReport(records.resolve("coverage.txt"), declared, testsOf);

    assertEquals(
        Set.of(),
        difference(MADE_BY_NO_CODE_YET.keySet(), declared),
        "listed as made by no code yet, but not declared");
    assertEquals(
        Set.of(),
        difference(testsOf.keySet(), declared),
        "produced but not declared (the stores refuse these: a bug)");
    Set<String> notProduced = difference(declared, testsOf.keySet());
    notProduced.removeAll(MADE_BY_NO_CODE_YET.keySet());
    assertEquals(
        Set.of(),
        notProduced,
        "declared transitions that no test produced: add a test that drives a run or step through"
            + " each (see "
            + records.resolve("coverage.txt")
            + ")");
    Map<String, Set<String>> nowMade =
        testsOf.entrySet().stream()
            .filter(e -> MADE_BY_NO_CODE_YET.containsKey(e.getKey()))
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    assertEquals(
        Map.of(),
        nowMade,
        "produced now, so take them off MADE_BY_NO_CODE_YET (their tests count from here on)");
  }

  private static Set<String> difference(Set<String> a, Set<String> b) {
    Set<String> out = new TreeSet<>(a);
    out.removeAll(b);
    return out;
  }

  private static void writeReport(Path file, Set<String> declared, Map<String, Set<String>> testsOf)
      throws IOException {
    List<String> lines = new ArrayList<>();
    for (String t : declared) {
      Set<String> tests = testsOf.getOrDefault(t, Set.of());
      lines.add(
          t
              + "\t"
              + (tests.isEmpty()
                  ? MADE_BY_NO_CODE_YET.getOrDefault(t, "NOT PRODUCED")
                  : tests.size() + " test(s): " + String.join(", ", tests)));
    }
    Files.write(file, lines, StandardCharsets.UTF_8);
  }
}
