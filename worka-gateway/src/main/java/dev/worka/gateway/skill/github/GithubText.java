package dev.worka.gateway.skill.github;

import dev.worka.gateway.skill.InvocationContext;
import java.util.regex.Pattern;

/**
 * Makes Markdown safe to post on GitHub (the bodies and titles of {@code github.create_issue} and
 * {@code github.add_issue_comment}, which Worka's own answers use too): after {@link #inert} it
 * mentions nobody and disguises no link, and it reads as it did. Each rule inserts a zero-width
 * space (U+200B) where GitHub's syntax needs two characters side by side, or escapes one {@code <}:
 *
 * <ul>
 *   <li><b>mentions</b>: {@code @} followed by a letter or digit ({@code @user}, {@code
 *       @org/team}) becomes {@code @\u200buser} — wherever it stands, inside code and addresses
 *       too: deciding what GitHub would read as code is its Markdown parser's business, and a
 *       wrong guess would notify someone. (Copying code with an {@code @} from such a post carries
 *       the invisible character along.)
 *   <li><b>links whose text hides the target</b>: {@code ](} becomes {@code ]\u200b(} and {@code ]:}
 *       becomes {@code ]\u200b:}, so no inline link or image ({@code [label](url)}, {@code
 *       ![alt](url)}) and no reference definition ({@code [ref]: url}) forms: the text shows as
 *       written, its URL visible (GitHub still links a bare URL, which shows itself).
 *   <li><b>HTML that links or hides</b>: the {@code <} of {@code <a}, {@code <img}, {@code
 *       <area}, {@code <picture}, {@code <source}, {@code <video} and {@code <!--} (a comment hides
 *       text from readers) is escaped as <code>&amp;lt;</code>.
 *   <li><b>Worka's crash marker</b> ({@value InvocationContext#MARKER_PREFIX}): an agent's copy of
 *       it is broken ({@code worka-invocation\u200b:}), so agent text cannot pass for the effect of
 *       another call, or for Worka's own answer, when the marker is looked up; the provider appends
 *       the real marker after this.
 * </ul>
 *
 * <p>References are kept: {@code #123}, {@code owner/repo#123} and issue URLs link without notifying
 * anyone by mention, show where they point, and are what issue text is for (a "duplicate of #12").
 * They do add a "mentioned this" entry to the referenced issue's timeline (see
 * docs/security-model.md). It is idempotent.
 */
final class GithubText {
  private static final Pattern MENTION = Pattern.compile("@(?=[A-Za-z0-9])");
  private static final Pattern LINK_SYNTAX = Pattern.compile("\\](?=[(:])");
  private static final Pattern HTML =
      Pattern.compile(
          "<(?=(?:a|img|area|picture|source|video)(?![A-Za-z0-9-])|!--)", Pattern.CASE_INSENSITIVE);
  private static final Pattern MARKER =
      Pattern.compile(
          Pattern.quote(
                  InvocationContext.MARKER_PREFIX.substring(
                      0, InvocationContext.MARKER_PREFIX.length() - 1))
              + "(?=:)");

  private GithubText() {}

  /** Markdown ({@code body}) that mentions nobody and hides no link target. */
  static String inert(String markdown) {
    if (markdown == null) {
      return null;
    }
    String t = inertTitle(markdown);
    t = LINK_SYNTAX.matcher(t).replaceAll("]\u200b");
    return HTML.matcher(t).replaceAll("&lt;");
  }

  /** A title (plain text on GitHub): mentions and the marker only. */
  static String inertTitle(String title) {
    if (title == null) {
      return null;
    }
    String t = MENTION.matcher(title).replaceAll("@\u200b");
    return MARKER
        .matcher(t)
        .replaceAll(InvocationContext.MARKER_PREFIX.replace(":", "") + "\u200b");
  }
}
