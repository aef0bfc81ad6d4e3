package dev.worka.agents.scripted;

/** The skill and agent names the scripted model plans with and calls (DESIGN §7). */
final class Skills {
  static final String CREATE_ISSUE = "github.create_issue";
  static final String ADD_ISSUE_COMMENT = "github.add_issue_comment";
  static final String DELETE_REPOSITORY = "github.delete_repository";
  static final String READ_THREAD = "slack.read_thread";

  static final String ERNEST = "ernest";
  static final String DANEEL = "daneel";

  private Skills() {}
}
