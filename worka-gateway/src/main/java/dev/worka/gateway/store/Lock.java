package dev.worka.gateway.store;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * How a repository's {@code find(c, id, Lock)} reads a row: plainly, or locked for the rest of the
 * caller's transaction. The repository that owns the table writes the SQL of each mode.
 */
public enum Lock {
  /** A plain read: nothing is locked. */
  NONE,
  /**
   * {@code FOR SHARE}: the row cannot change (an update waits) while other transactions that share
   * it proceed. Never update a row locked this way in the same transaction: two sharers upgrading
   * would deadlock.
   */
  SHARE,
  /** {@code FOR UPDATE}: one transaction at a time decides on the row. */
  UPDATE;

  /**
   * The statement of each mode for {@code select}, a read of one table's rows: as it is, {@code for
   * share}, {@code for update}. A repository builds it once and picks by mode per call.
   */
  public static Map<Lock, String> statements(String select) {
    Map<Lock, String> byMode = new EnumMap<>(Lock.class);
    byMode.put(NONE, select);
    byMode.put(SHARE, select + " for share");
    byMode.put(UPDATE, select + " for update");
    return Collections.unmodifiableMap(byMode);
  }
}
