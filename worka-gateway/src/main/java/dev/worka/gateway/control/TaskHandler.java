package dev.worka.gateway.control;

import dev.worka.gateway.queue.Task;

/** Acts on one claimed task. Returning normally completes it; throwing retries it later. */
interface TaskHandler {
  void handle(Task task) throws Exception;
}
