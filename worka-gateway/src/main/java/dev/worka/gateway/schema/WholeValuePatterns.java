package dev.worka.gateway.schema;

import com.networknt.schema.regex.RegularExpression;
import com.networknt.schema.regex.RegularExpressionFactory;
import java.util.regex.Pattern;

/**
 * Compiles schema {@code pattern}s with {@link java.util.regex} as the validator's default does,
 * but with ECMA-262's end anchor: outside character classes and quotes, {@code $} (and Java's
 * {@code \Z}) become {@code \z}, the end of the input. In Java {@code $} also matches before a
 * final line terminator, so {@code ^[a-z]+$} would let {@code "abc\n"} (or {@code "abc\u2028"})
 * through; JSON Schema means the whole value. A pattern still matches anywhere in the value (ECMA's
 * {@code search}): {@code ^} and {@code $} are what anchor it.
 */
final class WholeValuePatterns implements RegularExpressionFactory {
  static final WholeValuePatterns INSTANCE = new WholeValuePatterns();

  private WholeValuePatterns() {}

  @Override
  public RegularExpression getRegularExpression(String regex) {
    Pattern pattern = Pattern.compile(strictEnd(regex));
    return value -> pattern.matcher(value).find();
  }

  /**
   * {@code regex} with every end anchor ({@code $}, {@code \Z}) outside classes and quotes made
   * {@code \z}.
   */
  static String strictEnd(String regex) {
    StringBuilder out = new StringBuilder(regex.length() + 8);
    int classDepth = 0;
    int n = regex.length();
    for (int i = 0; i < n; i++) {
      char c = regex.charAt(i);
      if (c == '\\' && i + 1 < n) {
        char next = regex.charAt(i + 1);
        if (next == 'Q') { // \Q…\E: literal text, copied as it is
          int end = regex.indexOf("\\E", i + 2);
          int stop = end < 0 ? n : end + 2;
          out.append(regex, i, stop);
          i = stop - 1;
        } else if (next == 'Z' && classDepth == 0) {
          out.append("\\z");
          i++;
        } else {
          out.append(c).append(next);
          i++;
        }
      } else if (c == '[') {
        out.append(c);
        classDepth++;
        // A ']' right after '[' or '[^' is a literal member, not the end of the class.
        if (i + 1 < n && regex.charAt(i + 1) == '^') {
          out.append('^');
          i++;
        }
        if (i + 1 < n && regex.charAt(i + 1) == ']') {
          out.append(']');
          i++;
        }
      } else if (c == ']' && classDepth > 0) {
        out.append(c);
        classDepth--;
      } else if (c == '$' && classDepth == 0) {
        out.append("\\z");
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
