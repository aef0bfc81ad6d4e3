package dev.worka.agents.scripted;

/**
 * What a request (to the planner) or an objective (to a worker) asks for, as the scripted model
 * reads it. {@link Phrases} turns text into one of these; nothing else in the model looks at text.
 */
sealed interface Intent {

  /**
   * Open an issue. {@code body} is the body given in the text, or null; {@code bodyFromStep} is the
   * step_ref whose summary is to be the body ("with the summary of step read"), or null.
   */
  record OpenIssue(String owner, String repo, String title, String body, String bodyFromStep)
      implements Intent {}

  record CommentOnIssue(String owner, String repo, int issueNumber, String text)
      implements Intent {}

  record DeleteRepository(String owner, String repo) implements Intent {}

  record SummarizeThread() implements Intent {}

  /**
   * Two steps' worth: read the thread, then open an issue titled {@code title} with the summary.
   */
  record SummarizeThreadIntoIssue(String owner, String repo, String title) implements Intent {}

  /** An objective "Answer: QUESTION" (the planner writes it for requests it does not recognize). */
  record Answer(String question) implements Intent {}

  /** None of the above. */
  record Unrecognized(String text) implements Intent {}
}
