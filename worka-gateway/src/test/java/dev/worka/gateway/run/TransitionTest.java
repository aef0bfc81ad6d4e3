package dev.worka.gateway.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The three ways a caller handles a transition, and that an undeclared move is always a bug. */
class TransitionTest {
  private final Transition applied = new Transition.Applied(7);
  private final Transition lost = new Transition.LostRace("cancelled");
  private final Transition illegal = new Transition.Illegal("succeeded", "running");

  @Test
  void appliedSaysWhetherTheRowMoved() {
    assertTrue(applied.applied());
    assertFalse(lost.applied());
    assertThrows(IllegalStateException.class, illegal::applied);
  }

  @Test
  void aMoveThatCannotLoseThrowsWhenItLostNamingTheRow() {
    applied.requireApplied("run r1");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> lost.requireApplied("run r1"));
    assertEquals("run r1 moved while locked: LostRace[actualStatus=cancelled]", e.getMessage());
    assertThrows(IllegalStateException.class, () -> illegal.requireApplied("run r1"));
  }

  @Test
  void aLostRaceThatNeedsNothingIsAcceptedButAnUndeclaredMoveIsNot() {
    applied.acceptLostRace();
    lost.acceptLostRace();
    IllegalStateException e = assertThrows(IllegalStateException.class, illegal::acceptLostRace);
    assertEquals(
        "the state machine does not declare succeeded -> running: a caller bug", e.getMessage());
  }
}
