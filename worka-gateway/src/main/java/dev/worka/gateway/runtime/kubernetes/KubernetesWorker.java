package dev.worka.gateway.runtime.kubernetes;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handle of one step attempt's Job. The informer tells it when the Job ends ({@link #jobSeen});
 * {@link #await()} turns that into the attempt's outcome:
 *
 * <ul>
 *   <li>{@code Complete} → {@link AttemptOutcome.Exited} with status 0;
 *   <li>{@code Failed} with reason {@code DeadlineExceeded} → {@link AttemptOutcome.TimedOut};
 *   <li>{@code Failed} otherwise → the worker container's end: {@code OOMKilled} → {@link
 *       AttemptOutcome.LimitReached} {@code memory}; the pod evicted for its ephemeral storage →
 *       {@code disk}; else {@link AttemptOutcome.Exited} with its exit code (1 when there is none);
 *   <li>its pod still {@code Pending} after the pending timeout (an image that cannot be pulled, no
 *       node that fits, a Job that could not create its pod) → {@link AttemptOutcome.FailedToStart}
 *       with the reason Kubernetes gives;
 *   <li>still running a little after its deadline (the Job controller did not end it) → deleted,
 *       {@link AttemptOutcome.TimedOut}; deleted by someone else → {@link AttemptOutcome.Stopped}.
 * </ul>
 *
 * The last lines of the container's log come with every outcome where Kubernetes still has them;
 * then the Job is deleted (its pod and token Secret with it).
 */
final class KubernetesWorker implements WorkerHandle {
  private static final Logger log = LoggerFactory.getLogger(KubernetesWorker.class);

  /** How long past the step deadline the Job controller has to end the Job itself. */
  static final Duration DEADLINE_GRACE = Duration.ofSeconds(10);

  static final int LOG_LINES = 20;
  static final int LOG_BYTES = 64 * 1024;
  static final int MAX_LINE_CHARS = 500;

  /** How the Job ended, as the informer (or a direct read) saw it. */
  private sealed interface End {
    record Complete() implements End {}

    record Failed(String reason, String message) implements End {}

    record Deleted() implements End {}

    record Stopped(String reason) implements End {}
  }

  private final KubernetesRuntime runtime;
  private final WorkerLaunch launch;
  private final String name;
  private final Instant started;
  private final CompletableFuture<End> end = new CompletableFuture<>();
  private final ReentrantLock awaiting = new ReentrantLock();
  private volatile AttemptOutcome outcome;

  KubernetesWorker(KubernetesRuntime runtime, WorkerLaunch launch, String name, Instant started) {
    this.runtime = runtime;
    this.launch = launch;
    this.name = name;
    this.started = started;
  }

  @Override
  public long pid() {
    return -1;
  }

  /** The Job's latest state (from the informer). */
  void jobSeen(Job job) {
    ended(job).ifPresent(end::complete);
  }

  void jobDeleted() {
    end.complete(new End.Deleted());
  }

  @Override
  public void stop(String reason) {
    Objects.requireNonNull(reason, "reason");
    if (outcome != null || !end.complete(new End.Stopped(reason))) {
      return;
    }
    log.info(
        "stopping Job {} (run {} step {} attempt {}): {}",
        name,
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        reason);
    runtime.deleteJob(name);
  }

  @Override
  public AttemptOutcome await() {
    awaiting.lock();
    try {
      if (outcome == null) {
        outcome = runToEnd();
      }
      return outcome;
    } finally {
      awaiting.unlock();
    }
  }

  private AttemptOutcome runToEnd() {
    boolean interrupted = false;
    Instant pendingCheck = started.plus(runtime.pendingTimeout());
    boolean pendingChecked = false;
    Instant giveUp = launch.deadline().plus(DEADLINE_GRACE);
    AttemptOutcome result = null;
    while (result == null) {
      Instant now = runtime.clock().instant();
      Instant next = pendingChecked || pendingCheck.isAfter(giveUp) ? giveUp : pendingCheck;
      try {
        long waitNanos = Math.max(0, Duration.between(now, next).toNanos());
        result = outcome(end.get(waitNanos, TimeUnit.NANOSECONDS));
      } catch (TimeoutException e) {
        if (!pendingChecked && !pendingCheck.isAfter(runtime.clock().instant())) {
          pendingChecked = true;
          Optional<String> pending = pending();
          if (pending.isPresent() && end.complete(new End.Stopped("pending"))) {
            runtime.deleteJob(name);
            result = new AttemptOutcome.FailedToStart(pending.get());
          }
        } else if (!giveUp.isAfter(runtime.clock().instant())) {
          // The Job controller should have ended it (activeDeadlineSeconds); ask once more.
          Optional<End> seen = runtime.job(name).flatMap(KubernetesWorker::ended);
          if (seen.isPresent() && end.complete(seen.get())) {
            result = outcome(seen.get());
          } else if (end.complete(new End.Failed("DeadlineExceeded", "deleted by the Gateway"))) {
            runtime.deleteJob(name);
            result = new AttemptOutcome.TimedOut(lastLines(runtime.pods(launch)), ran());
          }
        }
      } catch (InterruptedException e) {
        interrupted = true;
        stop("interrupted while waiting for the worker");
      } catch (ExecutionException e) {
        throw new IllegalStateException("the end of Job " + name + " is never exceptional", e);
      }
    }
    if (!(end.getNow(null) instanceof End.Stopped) && !(end.getNow(null) instanceof End.Deleted)) {
      runtime.deleteJob(name);
    }
    runtime.ended(name);
    log.info(
        "Job {} (run {} step {} attempt {}, agent {}) ended: {}",
        name,
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        launch.agent(),
        switch (result) {
          case AttemptOutcome.Exited e -> "exited with " + e.exitCode() + " after " + e.ran();
          case AttemptOutcome.TimedOut t -> "deadline " + launch.deadline() + " passed";
          case AttemptOutcome.Stopped s -> "stopped (" + s.reason() + ")";
          case AttemptOutcome.FailedToStart f -> "failed to start (" + f.reason() + ")";
          case AttemptOutcome.LimitReached l -> "reached its " + l.limit() + " limit";
        });
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return result;
  }

  /** The outcome of an end; reads the pod (its container's end, its log) where it needs it. */
  private AttemptOutcome outcome(End end) {
    return switch (end) {
      case End.Stopped s -> new AttemptOutcome.Stopped(s.reason(), List.of(), ran());
      case End.Deleted d ->
          new AttemptOutcome.Stopped("its Job " + name + " was deleted", List.of(), ran());
      case End.Complete c -> new AttemptOutcome.Exited(0, lastLines(runtime.pods(launch)), ran());
      case End.Failed f when "DeadlineExceeded".equals(f.reason()) ->
          new AttemptOutcome.TimedOut(lastLines(runtime.pods(launch)), ran());
      case End.Failed f -> failed(f, runtime.pods(launch));
    };
  }

  private AttemptOutcome failed(End.Failed f, List<Pod> pods) {
    List<String> lines = lastLines(pods);
    Optional<Pod> pod = newest(pods);
    if (pod.isPresent() && "Evicted".equals(pod.get().getStatus().getReason())) {
      String message = Objects.requireNonNullElse(pod.get().getStatus().getMessage(), "evicted");
      if (message.toLowerCase(Locale.ROOT).contains("ephemeral")) {
        return new AttemptOutcome.LimitReached(
            "disk",
            "the pod was evicted: " + message + " (disk " + Resources.bytesText(disk()) + ")",
            lines,
            ran());
      }
    }
    Optional<ContainerStateTerminated> terminated = pod.flatMap(KubernetesWorker::terminated);
    if (terminated.isPresent() && "OOMKilled".equals(terminated.get().getReason())) {
      return new AttemptOutcome.LimitReached(
          "memory",
          "the container was killed for using more than its memory limit of "
              + Resources.bytesText(launch.resources().memoryBytes())
              + " (OOMKilled)",
          lines,
          ran());
    }
    int exitCode =
        terminated.map(ContainerStateTerminated::getExitCode).filter(c -> c != 0).orElse(1);
    if (terminated.isEmpty()) {
      log.info(
          "Job {} failed ({}: {}) without a terminated worker container; taken as exit status 1",
          name,
          f.reason(),
          f.message());
    }
    return new AttemptOutcome.Exited(exitCode, lines, ran());
  }

  private long disk() {
    return launch.resources().diskBytes();
  }

  /**
   * Why the attempt has not started by the pending timeout, or empty when its pod has (running or
   * ended).
   */
  private Optional<String> pending() {
    Optional<List<Pod>> listed = runtime.listPods(launch);
    if (listed.isEmpty()) {
      // Not knowing is no reason to fail the attempt: its deadline still bounds it.
      return Optional.empty();
    }
    Optional<Pod> pod = newest(listed.get());
    String timeout = "after " + runtime.pendingTimeout().toSeconds() + "s";
    if (pod.isEmpty()) {
      return Optional.of(
          "Job "
              + name
              + " had no pod "
              + timeout
              + " (a quota or admission policy may refuse it: kubectl describe job "
              + name
              + " -n "
              + runtime.namespace()
              + ")");
    }
    String phase = pod.get().getStatus() != null ? pod.get().getStatus().getPhase() : null;
    if (phase != null && !"Pending".equals(phase)) {
      return Optional.empty();
    }
    String where = " (image " + launch.runtime().image() + ")";
    for (ContainerStatus status : containerStatuses(pod.get())) {
      ContainerStateWaiting waiting =
          status.getState() != null ? status.getState().getWaiting() : null;
      if (waiting != null && waiting.getReason() != null) {
        return Optional.of(
            "its pod was still Pending "
                + timeout
                + ": "
                + waiting.getReason()
                + (waiting.getMessage() != null ? ": " + clean(waiting.getMessage()) : "")
                + where);
      }
    }
    for (PodCondition condition : conditions(pod.get())) {
      if ("PodScheduled".equals(condition.getType()) && "False".equals(condition.getStatus())) {
        return Optional.of(
            "its pod was still Pending "
                + timeout
                + ": "
                + Objects.requireNonNullElse(condition.getReason(), "Unschedulable")
                + (condition.getMessage() != null ? ": " + clean(condition.getMessage()) : ""));
      }
    }
    return Optional.of("its pod was still Pending " + timeout + where);
  }

  /** The last lines of the newest pod's log, cleaned and without the token; empty if none. */
  private List<String> lastLines(List<Pod> pods) {
    Optional<Pod> pod = newest(pods);
    if (pod.isEmpty()) {
      return List.of();
    }
    String text = runtime.logTail(pod.get().getMetadata().getName(), LOG_LINES, LOG_BYTES);
    if (text == null || text.isEmpty()) {
      return List.of();
    }
    List<String> lines = new ArrayList<>();
    for (String line : text.split("\n")) {
      lines.add(clean(line));
    }
    return List.copyOf(lines.subList(Math.max(0, lines.size() - LOG_LINES), lines.size()));
  }

  /** Control characters as {@code ?}, the worker's token as {@code <token>}, cut to a length. */
  private String clean(String line) {
    String text = line.replace(launch.token(), "<token>");
    StringBuilder out = new StringBuilder(Math.min(text.length(), MAX_LINE_CHARS));
    for (int i = 0; i < text.length() && out.length() < MAX_LINE_CHARS; i++) {
      char c = text.charAt(i);
      out.append(c == '\t' || (c >= ' ' && c != 0x7f && !Character.isISOControl(c)) ? c : '?');
    }
    return out.toString();
  }

  private Duration ran() {
    Duration ran = Duration.between(started, runtime.clock().instant());
    return ran.isNegative() ? Duration.ZERO : ran;
  }

  /** How the Job ended, if it has. */
  private static Optional<End> ended(Job job) {
    if (job.getStatus() == null || job.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    for (JobCondition condition : job.getStatus().getConditions()) {
      if (!"True".equals(condition.getStatus())) {
        continue;
      }
      if ("Complete".equals(condition.getType())) {
        return Optional.of(new End.Complete());
      }
      if ("Failed".equals(condition.getType())) {
        return Optional.of(new End.Failed(condition.getReason(), condition.getMessage()));
      }
    }
    return Optional.empty();
  }

  private static Optional<Pod> newest(List<Pod> pods) {
    return pods.stream()
        .max(
            Comparator.comparing(
                (Pod p) -> Objects.requireNonNullElse(p.getMetadata().getCreationTimestamp(), "")));
  }

  private static Optional<ContainerStateTerminated> terminated(Pod pod) {
    for (ContainerStatus status : containerStatuses(pod)) {
      if (JobManifest.CONTAINER.equals(status.getName())
          && status.getState() != null
          && status.getState().getTerminated() != null) {
        return Optional.of(status.getState().getTerminated());
      }
    }
    return Optional.empty();
  }

  private static List<ContainerStatus> containerStatuses(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null
        ? pod.getStatus().getContainerStatuses()
        : List.of();
  }

  private static List<PodCondition> conditions(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getConditions() != null
        ? pod.getStatus().getConditions()
        : List.of();
  }
}
