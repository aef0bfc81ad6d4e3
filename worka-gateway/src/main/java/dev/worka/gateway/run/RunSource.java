package dev.worka.gateway.run;

import dev.worka.gateway.store.SqlName;

/**
 * Where a request for a run came from, with its name in {@code runs.source} (and in the operator
 * API, the CLI, gate subjects and the ingress policy's decisions).
 */
public enum RunSource implements SqlName {
  /** A Slack mention, direct message or slash command ({@code SlackIngress}). */
  SLACK("slack"),
  /** A GitHub issue or pull-request comment ({@code GithubWebhook}). */
  GITHUB("github"),
  /** {@code POST /v1/runs}. */
  API("api"),
  /** {@code worka run}, through the operator API. */
  CLI("cli");

  private final String sql;

  RunSource(String sql) {
    this.sql = sql;
  }

  /** The source's name in {@code runs.source}. */
  @Override
  public String sql() {
    return sql;
  }

  /** The {@link #sql} name, so that a message spelling the value reads as before. */
  @Override
  public String toString() {
    return sql;
  }

  /**
   * Whether Worka answers the runs of this source where they came from (an acknowledgement and the
   * result, through {@link RunNotifications}).
   */
  public boolean answered() {
    return switch (this) {
      case SLACK, GITHUB -> true;
      case API, CLI -> false;
    };
  }

  /** The source named {@code sql} in {@code runs.source}; an unknown name is an error naming it. */
  public static RunSource fromSql(String sql) {
    return SqlName.fromSql(RunSource.class, "run source", "runs.source", sql);
  }
}
