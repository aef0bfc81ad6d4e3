package dev.worka.gateway.control;

import dev.worka.gateway.runtime.WorkerHandle;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/** The worker processes this Gateway is running now, by step, so they can be stopped. */
public final class RunningWorkers {
  private final Map<UUID, WorkerHandle> byStep = new ConcurrentHashMap<>();

  void started(UUID stepId, WorkerHandle handle) {
    byStep.put(stepId, handle);
  }

  void ended(UUID stepId) {
    byStep.remove(stepId);
  }

  /** Stops the step's worker if this Gateway runs it; true if there was one. */
  public boolean stop(UUID stepId, String reason) {
    WorkerHandle handle = byStep.get(stepId);
    if (handle == null) {
      return false;
    }
    handle.stop(reason);
    return true;
  }

  public int count() {
    return byStep.size();
  }

  void stopAll(String reason) {
    byStep.values().forEach(h -> h.stop(reason));
  }
}
