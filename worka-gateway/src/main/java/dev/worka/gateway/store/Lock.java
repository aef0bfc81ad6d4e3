package dev.worka.gateway.store;

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
  UPDATE
}
