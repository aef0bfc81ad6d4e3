package dev.worka.gateway.runtime.kubernetes;

import dev.worka.gateway.runtime.NotStarted;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.gateway.runtime.WorkerRuntime;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code runtime: kubernetes}: the worker of each step attempt is a {@code batch/v1} Job in one
 * namespace ({@link JobManifest} says what it holds), watched by an informer on this Gateway's Jobs
 * (label {@code app.kubernetes.io/managed-by=worka-gateway}, resynced every {@code resync}). A
 * Job's end becomes the attempt's outcome ({@link KubernetesWorker}); the Job is deleted once the
 * outcome is known, and the token Secret it owns goes with it.
 *
 * <p>A Job this Gateway does not run — one a Gateway that died left behind — is deleted as soon as
 * the informer sees it (at start, and at every resync) unless its step attempt is still running by
 * the database ({@link AttemptsRunning}): then another replica runs it, or the reaper will end the
 * attempt when its lease expires, and the next resync deletes it.
 *
 * <p>The client needs, in its namespace only: {@code jobs} (get, list, watch, create, delete),
 * {@code secrets} (create; they go with their Job), {@code pods} (list) and {@code pods/log} (get).
 */
public final class KubernetesRuntime implements WorkerRuntime, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubernetesRuntime.class);

  /** Whether a step attempt is still running (by the database): its Job is not an orphan. */
  @FunctionalInterface
  public interface AttemptsRunning {
    boolean running(UUID stepId, int attempt);
  }

  private final KubernetesClient client;
  private final String namespace;
  private final String gatewayUrl;
  private final Duration pendingTimeout;
  private final InstantSource clock;
  private final AttemptsRunning attemptsRunning;
  private final Map<String, KubernetesWorker> workers = new ConcurrentHashMap<>();
  private final SharedIndexInformer<Job> informer;

  /**
   * Starts watching the namespace's worker Jobs (without waiting for the API server: the informer
   * retries on its own, and each worker also asks for its Job when its checks are due).
   *
   * @param client closed with this runtime
   */
  public KubernetesRuntime(
      KubernetesClient client,
      String namespace,
      String gatewayUrl,
      Duration pendingTimeout,
      Duration resync,
      InstantSource clock,
      AttemptsRunning attemptsRunning) {
    this.client = Objects.requireNonNull(client, "client");
    this.namespace = Objects.requireNonNull(namespace, "namespace");
    this.gatewayUrl = Objects.requireNonNull(gatewayUrl, "gatewayUrl");
    this.pendingTimeout = Objects.requireNonNull(pendingTimeout, "pendingTimeout");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.attemptsRunning = Objects.requireNonNull(attemptsRunning, "attemptsRunning");
    this.informer =
        client
            .batch()
            .v1()
            .jobs()
            .inNamespace(namespace)
            .withLabels(JobManifest.managedLabels())
            .runnableInformer(resync.toMillis());
    informer.addEventHandler(new JobEvents());
    informer
        .start()
        .whenComplete(
            (ignored, failure) -> {
              if (failure != null) {
                log.error(
                    "cannot watch worker Jobs in namespace {}: {}; runtime: kubernetes steps fail"
                        + " until the API server answers (check the Gateway's Role: jobs"
                        + " get/list/watch)",
                    namespace,
                    failure.toString());
              }
            });
  }

  /** The namespace the workers' Jobs are created in. */
  public String namespace() {
    return namespace;
  }

  @Override
  public WorkerHandle start(WorkerLaunch launch) {
    String name = JobManifest.name(launch.stepId(), launch.attempt());
    KubernetesWorker worker = new KubernetesWorker(this, launch, name, clock.instant());
    if (workers.putIfAbsent(name, worker) != null) {
      return new NotStarted("a worker for Job " + name + " is running already");
    }
    Job created;
    try {
      created =
          client
              .batch()
              .v1()
              .jobs()
              .inNamespace(namespace)
              .resource(JobManifest.job(namespace, launch, gatewayUrl, clock.instant()))
              .create();
    } catch (KubernetesClientException e) {
      workers.remove(name);
      return new NotStarted(
          "could not create Job "
              + name
              + " in namespace "
              + namespace
              + ": "
              + describe(e)
              + " (check the Gateway's Role: jobs create)");
    }
    try {
      client
          .secrets()
          .inNamespace(namespace)
          .resource(JobManifest.secret(created, launch))
          .create();
    } catch (KubernetesClientException e) {
      deleteJob(name);
      workers.remove(name);
      return new NotStarted(
          "could not create the token Secret "
              + name
              + " in namespace "
              + namespace
              + ": "
              + describe(e)
              + " (check the Gateway's Role: secrets create)");
    }
    log.info(
        "started Job {} in namespace {} (run {} step {} attempt {}, agent {}, image {})",
        name,
        namespace,
        launch.runId(),
        launch.stepId(),
        launch.attempt(),
        launch.agent(),
        launch.runtime().image());
    return worker;
  }

  /**
   * Deletes the worker Jobs in the namespace that no worker of this Gateway runs and whose step
   * attempt is not running by the database: what a Gateway that stopped left behind. Returns how
   * many it deleted (their Secrets go with them).
   */
  public int deleteJobsLeftBehind() {
    List<Job> jobs =
        client
            .batch()
            .v1()
            .jobs()
            .inNamespace(namespace)
            .withLabels(JobManifest.managedLabels())
            .list()
            .getItems();
    int deleted = 0;
    for (Job job : jobs) {
      if (deleteIfLeftBehind(job)) {
        deleted++;
      }
    }
    return deleted;
  }

  private boolean deleteIfLeftBehind(Job job) {
    String name = job.getMetadata().getName();
    if (workers.containsKey(name) || job.getMetadata().getDeletionTimestamp() != null) {
      return false;
    }
    Optional<JobManifest.Attempt> attempt = JobManifest.attemptOf(job.getMetadata().getLabels());
    try {
      if (attempt.isPresent()
          && attemptsRunning.running(attempt.get().stepId(), attempt.get().attempt())) {
        return false;
      }
    } catch (RuntimeException e) {
      // Not knowing is not a reason to end someone's worker: the next resync asks again.
      log.warn("cannot tell whether Job {} is still needed, keeping it: {}", name, e.toString());
      return false;
    }
    log.warn(
        "deleting Job {} in namespace {}: no worker of this Gateway runs it and its step attempt is"
            + " not running (a Gateway that stopped left it)",
        name,
        namespace);
    deleteJob(name);
    return true;
  }

  /** Deletes the Job and, in the background, its pod and its token Secret. */
  void deleteJob(String name) {
    try {
      client
          .batch()
          .v1()
          .jobs()
          .inNamespace(namespace)
          .withName(name)
          .withPropagationPolicy(DeletionPropagation.BACKGROUND)
          .delete();
    } catch (KubernetesClientException e) {
      log.warn("could not delete Job {} in namespace {}: {}", name, namespace, describe(e));
    }
  }

  /** The Job as the API server has it now (the informer may lag); empty if it is gone. */
  Optional<Job> job(String name) {
    try {
      return Optional.ofNullable(
          client.batch().v1().jobs().inNamespace(namespace).withName(name).get());
    } catch (KubernetesClientException e) {
      log.warn("could not read Job {} in namespace {}: {}", name, namespace, describe(e));
      return Optional.empty();
    }
  }

  /** The pods of one step attempt (by its labels); empty when the API server did not answer. */
  Optional<List<Pod>> listPods(WorkerLaunch launch) {
    try {
      return Optional.of(
          client
              .pods()
              .inNamespace(namespace)
              .withLabel(JobManifest.STEP_LABEL, launch.stepId().toString())
              .withLabel(JobManifest.ATTEMPT_LABEL, Integer.toString(launch.attempt()))
              .list()
              .getItems());
    } catch (KubernetesClientException e) {
      log.warn(
          "could not list the pods of step {} attempt {}: {}",
          launch.stepId(),
          launch.attempt(),
          describe(e));
      return Optional.empty();
    }
  }

  /** The pods of one step attempt; none when the API server did not answer. */
  List<Pod> pods(WorkerLaunch launch) {
    return listPods(launch).orElse(List.of());
  }

  /** The last lines of the worker container's log; null when it cannot be read. */
  String logTail(String pod, int lines, int maxBytes) {
    try {
      return client
          .pods()
          .inNamespace(namespace)
          .withName(pod)
          .inContainer(JobManifest.CONTAINER)
          .limitBytes(maxBytes)
          .tailingLines(lines)
          .getLog();
    } catch (KubernetesClientException e) {
      log.debug("could not read the log of pod {}: {}", pod, describe(e));
      return null;
    }
  }

  void ended(String name) {
    workers.remove(name);
  }

  Duration pendingTimeout() {
    return pendingTimeout;
  }

  InstantSource clock() {
    return clock;
  }

  /** Stops every worker still running and the informer; closes the client. */
  @Override
  public void close() {
    for (KubernetesWorker worker : List.copyOf(workers.values())) {
      worker.stop("the Gateway is shutting down");
    }
    informer.close();
    client.close();
  }

  static String describe(KubernetesClientException e) {
    String message = e.getStatus() != null ? e.getStatus().getMessage() : null;
    return (e.getCode() > 0 ? "HTTP " + e.getCode() + ": " : "")
        + (message != null ? message : e.getMessage());
  }

  private final class JobEvents implements ResourceEventHandler<Job> {
    @Override
    public void onAdd(Job job) {
      seen(job);
    }

    @Override
    public void onUpdate(Job before, Job job) {
      seen(job);
    }

    @Override
    public void onDelete(Job job, boolean finalStateUnknown) {
      KubernetesWorker worker = workers.get(job.getMetadata().getName());
      if (worker != null) {
        worker.jobDeleted();
      }
    }

    private void seen(Job job) {
      KubernetesWorker worker = workers.get(job.getMetadata().getName());
      if (worker != null) {
        worker.jobSeen(job);
      } else {
        // Off the informer's thread: the check asks the database.
        Thread.ofVirtual().name("worka-job-left-behind").start(() -> deleteIfLeftBehind(job));
      }
    }
  }
}
