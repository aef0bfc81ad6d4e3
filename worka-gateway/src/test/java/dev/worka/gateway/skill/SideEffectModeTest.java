package dev.worka.gateway.skill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class SideEffectModeTest {
  @Test
  void parsesTheTwoConfiguredValues() {
    assertEquals(SideEffectMode.DRY_RUN, SideEffectMode.parse("dry-run"));
    assertEquals(SideEffectMode.LIVE, SideEffectMode.parse("live"));
    assertEquals(SideEffectMode.LIVE, SideEffectMode.parse(" LIVE "));
    assertEquals("dry-run", SideEffectMode.DRY_RUN.value());
    assertEquals("live", SideEffectMode.LIVE.value());
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"dryrun", "dry_run", "DRY_RUN", "true", "off", "lives"})
  void anythingElseIsAClearError(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SideEffectMode.parse(text));
    assertTrue(
        e.getMessage().contains("WORKA_SIDE_EFFECTS must be dry-run or live"), e.getMessage());
  }
}
