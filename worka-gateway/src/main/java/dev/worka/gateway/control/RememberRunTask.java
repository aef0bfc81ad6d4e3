package dev.worka.gateway.control;

import dev.worka.gateway.memory.RememberRun;
import dev.worka.gateway.queue.Task;

/**
 * After a run succeeded: remembers what its steps did ({@link RememberRun}, the poisoning guard and
 * the cleaning are there). A store that fails is logged there and the task ends; only a failure to
 * read the run from the database makes the task run again. The run is not touched either way.
 */
final class RememberRunTask implements TaskHandler {
  private final RememberRun remember;

  RememberRunTask(RememberRun remember) {
    this.remember = remember;
  }

  @Override
  public void handle(Task task) {
    remember.remember(task.runId());
  }
}
