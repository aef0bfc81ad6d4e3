package dev.worka.gateway.store;

import java.util.Arrays;

/**
 * A vocabulary stored as text: an enum whose constants carry the name a column holds ({@code
 * burns.kind}, {@code gates.action}, {@code runs.source}, ...). Reading a name back goes through
 * {@link #fromSql}, so a name no constant carries is an error naming the value and the column, not
 * a silent default.
 */
public interface SqlName {

  /** This constant's name in its column (and on the wire, where the column is shown). */
  String sql();

  /**
   * The constant of {@code type} named {@code sql} in {@code column}; an unknown name is an {@link
   * IllegalStateException} naming it, the column and the known names ({@code what} says what the
   * value is, e.g. "burn kind").
   */
  static <E extends Enum<E> & SqlName> E fromSql(
      Class<E> type, String what, String column, String sql) {
    E[] constants = type.getEnumConstants();
    for (E constant : constants) {
      if (constant.sql().equals(sql)) {
        return constant;
      }
    }
    throw new IllegalStateException(
        "unknown "
            + what
            + " '"
            + sql
            + "' in "
            + column
            + " (known: "
            + Arrays.stream(constants).map(SqlName::sql).toList()
            + ")");
  }
}
