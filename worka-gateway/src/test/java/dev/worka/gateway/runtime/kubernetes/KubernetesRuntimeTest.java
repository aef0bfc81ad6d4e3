package dev.worka.gateway.runtime.kubernetes;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeSpec;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerHandle;
import dev.worka.gateway.runtime.WorkerLaunch;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code runtime: kubernetes} against fabric8's mock API server (CRUD mode): the Job and Secret of
 * an attempt with every hardening field, and each way a Job ends — complete, failed with an exit
 * code, past its deadline, OOM-killed, stuck Pending, stopped — as the attempt's outcome, the Job
 * deleted after; and the Jobs a stopped Gateway left behind deleted at start. The mock has no
 * controllers: the tests write pods and Job status as the Job controller and the kubelet would.
 */
class KubernetesRuntimeTest {
  private static final String NS = "worka-test";
  private static final String GATEWAY_URL = "http://worka-agents.worka-test.svc:8080";
  private static final String TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJlcm5lc3QifQ.c2lnbmF0dXJl";

  /**
   * How long a pod may stay Pending here. Every test but the Pending one writes its pod right after
   * the start; one runtime serves the class (the mock server can stall for a long time when a
   * client closes a watch while it is sending an event).
   */
  private static final Duration PENDING_TIMEOUT = Duration.ofSeconds(2);

  private static KubernetesMock mock;

  /** Step attempts "running by the database" (the orphan check's answer). */
  private static final Set<String> running = ConcurrentHashMap.newKeySet();

  private static KubernetesRuntime runtime;

  @BeforeAll
  static void start() {
    mock = new KubernetesMock();
    runtime =
        new KubernetesRuntime(
            mock.newClient(),
            NS,
            GATEWAY_URL,
            PENDING_TIMEOUT,
            Duration.ofMinutes(1),
            InstantSource.system(),
            (step, attempt) -> running.contains(step + "/" + attempt));
  }

  @AfterAll
  static void stop() {
    runtime.close();
    mock.close();
  }

  @AfterEach
  void clean() {
    mock.client().batch().v1().jobs().inNamespace(NS).delete();
    mock.client().secrets().inNamespace(NS).delete();
    mock.client().pods().inNamespace(NS).delete();
  }

  @Test
  void anAttemptIsAHardenedJobAndATokenSecretOwnedByIt() {
    WorkerLaunch launch = launch("gvisor", Duration.ofSeconds(90));
    WorkerHandle handle = runtime.start(launch);
    String name = "worka-step-" + launch.stepId() + "-2";
    Job job = job(name);
    assertNotNull(job, "the Job " + name);
    mock.pod(job, "Running", null);

    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("app.kubernetes.io/name", "worka");
    labels.put("app.kubernetes.io/component", "worker");
    labels.put("app.kubernetes.io/managed-by", "worka-gateway");
    labels.put("worka.dev/run", launch.runId().toString());
    labels.put("worka.dev/step", launch.stepId().toString());
    labels.put("worka.dev/attempt", "2");
    labels.put("worka.dev/agent", "ernest");
    assertEquals(labels, job.getMetadata().getLabels());
    assertEquals(labels, job.getSpec().getTemplate().getMetadata().getLabels());

    assertEquals(0, job.getSpec().getBackoffLimit(), "the Gateway owns retries");
    long deadline = job.getSpec().getActiveDeadlineSeconds();
    assertTrue(deadline > 85 && deadline <= 90, "activeDeadlineSeconds " + deadline);
    assertEquals(300, job.getSpec().getTtlSecondsAfterFinished());

    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertEquals(false, pod.getAutomountServiceAccountToken());
    assertEquals(false, pod.getEnableServiceLinks());
    assertEquals("Never", pod.getRestartPolicy());
    assertEquals("gvisor", pod.getRuntimeClassName());
    assertEquals(true, pod.getSecurityContext().getRunAsNonRoot());
    assertEquals(10001L, pod.getSecurityContext().getRunAsUser());
    assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType());
    assertEquals(1, pod.getContainers().size(), "one container");
    assertTrue(pod.getInitContainers().isEmpty(), "no init containers");

    Container worker = pod.getContainers().getFirst();
    assertEquals("worker", worker.getName());
    assertEquals("registry.test/worka/agents:1", worker.getImage());
    assertTrue(worker.getCommand().isEmpty(), "the image's own entrypoint: " + worker.getCommand());
    assertTrue(worker.getArgs().isEmpty(), "no args override: " + worker.getArgs());
    SecurityContext security = worker.getSecurityContext();
    assertEquals(true, security.getRunAsNonRoot());
    assertEquals(10001L, security.getRunAsUser());
    assertEquals(true, security.getReadOnlyRootFilesystem());
    assertEquals(false, security.getAllowPrivilegeEscalation());
    assertEquals(false, security.getPrivileged());
    assertEquals(List.of("ALL"), security.getCapabilities().getDrop());
    assertTrue(security.getCapabilities().getAdd().isEmpty(), "nothing added");
    assertEquals("RuntimeDefault", security.getSeccompProfile().getType());

    Map<String, String> env =
        worker.getEnv().stream()
            .collect(
                Collectors.toMap(
                    EnvVar::getName, EnvVar::getValue, (a, b) -> a, LinkedHashMap::new));
    assertEquals(
        Map.of(
            "WORKA_GATEWAY_URL",
            GATEWAY_URL,
            "WORKA_TOKEN_FILE",
            "/var/run/worka/token",
            "WORKA_RUN_ID",
            launch.runId().toString(),
            "WORKA_STEP_ID",
            launch.stepId().toString(),
            "WORKA_AGENT",
            "ernest",
            "TRACEPARENT",
            launch.traceparent()),
        env,
        "exactly the agent protocol's variables, the token only as a file");
    assertTrue(worker.getEnvFrom().isEmpty(), "nothing else: " + worker.getEnvFrom());
    assertFalse(job.toString().contains(TOKEN), "the token is not in the Job");

    Map<String, Quantity> resources =
        Map.of(
            "memory", new Quantity(Long.toString(256L << 20)),
            "cpu", new Quantity("500m"),
            "ephemeral-storage", new Quantity(Long.toString(64L << 20)));
    assertEquals(resources, worker.getResources().getLimits());
    assertEquals(resources, worker.getResources().getRequests(), "requests = limits");

    Map<String, Volume> volumes =
        pod.getVolumes().stream().collect(Collectors.toMap(Volume::getName, v -> v));
    assertEquals(Set.of("token", "tmp"), volumes.keySet());
    assertEquals(name, volumes.get("token").getSecret().getSecretName());
    assertEquals(0400, volumes.get("token").getSecret().getDefaultMode());
    assertEquals(0400, volumes.get("token").getSecret().getItems().getFirst().getMode());
    assertEquals(
        new Quantity(Long.toString(64L << 20)),
        volumes.get("tmp").getEmptyDir().getSizeLimit(),
        "/tmp is bounded by disk");
    Map<String, Boolean> mounts = new LinkedHashMap<>();
    worker
        .getVolumeMounts()
        .forEach(m -> mounts.put(m.getName() + " " + m.getMountPath(), m.getReadOnly()));
    assertEquals(Map.of("token /var/run/worka", true, "tmp /tmp", false), nullsFalse(mounts));

    Secret secret = mock.client().secrets().inNamespace(NS).withName(name).get();
    assertNotNull(secret, "the token Secret " + name);
    assertEquals("Opaque", secret.getType());
    assertEquals(labels, secret.getMetadata().getLabels());
    assertEquals(
        TOKEN,
        new String(
            Base64.getDecoder().decode(secret.getData().get("token")), StandardCharsets.US_ASCII));
    var owner = secret.getMetadata().getOwnerReferences().getFirst();
    assertEquals("batch/v1", owner.getApiVersion());
    assertEquals("Job", owner.getKind());
    assertEquals(name, owner.getName());
    assertEquals(job.getMetadata().getUid(), owner.getUid(), "owned by this very Job");
    assertNotNull(owner.getUid());

    assertEquals(-1, handle.pid());
    handle.stop("test over");
    assertInstanceOf(AttemptOutcome.Stopped.class, handle.await());
  }

  @Test
  void aCompleteJobIsExitStatusZeroWithItsLastLogLinesAndIsDeleted() {
    WorkerLaunch launch = launch(null, Duration.ofSeconds(60));
    WorkerHandle handle = runtime.start(launch);
    Job job = job(JobManifest.name(launch.stepId(), 2));
    assertNull(job.getSpec().getTemplate().getSpec().getRuntimeClassName(), "no runtime_class");
    var pod = mock.pod(job, "Succeeded", terminated(0, "Completed"));
    mock.podLog(
        NS, pod.getMetadata().getName(), "starting\nposted result\u0007 with " + TOKEN + "\n");
    mock.finish(job, "Complete", null);

    AttemptOutcome outcome = handle.await();
    AttemptOutcome.Exited exited = assertInstanceOf(AttemptOutcome.Exited.class, outcome);
    assertEquals(0, exited.exitCode());
    assertEquals(List.of("starting", "posted result? with <token>"), exited.lastLines());
    assertJobGone(job);
  }

  @Test
  void aFailedJobIsItsContainersExitCode() {
    WorkerLaunch launch = launch(null, Duration.ofSeconds(60));
    WorkerHandle handle = runtime.start(launch);
    Job job = job(JobManifest.name(launch.stepId(), 2));
    mock.pod(job, "Failed", terminated(3, "Error"));
    mock.finish(job, "Failed", "BackoffLimitExceeded");

    AttemptOutcome.Exited exited = assertInstanceOf(AttemptOutcome.Exited.class, handle.await());
    assertEquals(3, exited.exitCode());
    assertJobGone(job);
  }

  @Test
  void aJobPastItsDeadlineTimesOut() {
    WorkerLaunch launch = launch(null, Duration.ofSeconds(60));
    WorkerHandle handle = runtime.start(launch);
    Job job = job(JobManifest.name(launch.stepId(), 2));
    mock.pod(job, "Failed", terminated(137, "Error"));
    mock.finish(job, "Failed", "DeadlineExceeded");

    assertInstanceOf(AttemptOutcome.TimedOut.class, handle.await());
    assertJobGone(job);
  }

  @Test
  void anOomKilledContainerReachedItsMemoryLimit() {
    WorkerLaunch launch = launch(null, Duration.ofSeconds(60));
    WorkerHandle handle = runtime.start(launch);
    Job job = job(JobManifest.name(launch.stepId(), 2));
    mock.pod(job, "Failed", terminated(137, "OOMKilled"));
    mock.finish(job, "Failed", "BackoffLimitExceeded");

    AttemptOutcome.LimitReached limit =
        assertInstanceOf(AttemptOutcome.LimitReached.class, handle.await());
    assertEquals("memory", limit.limit());
    assertTrue(limit.detail().contains("256Mi"), limit.detail());
    assertJobGone(job);
  }

  @Test
  void aPodStillPendingAfterThePendingTimeoutFailsToStartWithItsReason() {
    {
      WorkerLaunch launch = launch(null, Duration.ofSeconds(60));
      WorkerHandle handle = runtime.start(launch);
      Job job = job(JobManifest.name(launch.stepId(), 2));
      mock.pod(
          job,
          "Pending",
          new ContainerStateBuilder()
              .withNewWaiting()
              .withReason("ImagePullBackOff")
              .withMessage("Back-off pulling image \"registry.test/worka/agents:1\"")
              .endWaiting()
              .build());

      AttemptOutcome.FailedToStart failed =
          assertInstanceOf(AttemptOutcome.FailedToStart.class, handle.await());
      assertTrue(failed.reason().contains("ImagePullBackOff"), failed.reason());
      assertTrue(failed.reason().contains("registry.test/worka/agents:1"), failed.reason());
      assertJobGone(job);
    }
  }

  @Test
  void anUnschedulablePodFailsToStartWithTheSchedulersMessage() {
    WorkerLaunch launch = launch(null, Duration.ofSeconds(60));
    WorkerHandle handle = runtime.start(launch);
    Job job = job(JobManifest.name(launch.stepId(), 2));
    var pod = mock.pod(job, "Pending", null);
    pod.getStatus().getContainerStatuses().clear();
    pod.getStatus()
        .getConditions()
        .add(
            new PodConditionBuilder()
                .withType("PodScheduled")
                .withStatus("False")
                .withReason("Unschedulable")
                .withMessage("0/3 nodes are available: 3 Insufficient memory.")
                .build());
    mock.client().pods().inNamespace(NS).resource(pod).update();

    AttemptOutcome.FailedToStart failed =
        assertInstanceOf(AttemptOutcome.FailedToStart.class, handle.await());
    assertTrue(
        failed.reason().contains("Unschedulable: 0/3 nodes are available: 3 Insufficient memory."),
        failed.reason());
    assertJobGone(job);
  }

  @Test
  void aPodEvictedForItsEphemeralStorageReachedItsDiskLimit() {
    WorkerLaunch launch = launch(null, Duration.ofSeconds(60));
    WorkerHandle handle = runtime.start(launch);
    Job job = job(JobManifest.name(launch.stepId(), 2));
    var pod = mock.pod(job, "Failed", null);
    pod.getStatus().setReason("Evicted");
    pod.getStatus()
        .setMessage(
            "Pod ephemeral local storage usage exceeds the total limit of containers 64Mi.");
    mock.client().pods().inNamespace(NS).resource(pod).update();
    mock.finish(job, "Failed", "BackoffLimitExceeded");

    AttemptOutcome.LimitReached limit =
        assertInstanceOf(AttemptOutcome.LimitReached.class, handle.await());
    assertEquals("disk", limit.limit());
    assertTrue(limit.detail().contains("ephemeral local storage"), limit.detail());
    assertJobGone(job);
  }

  @Test
  void stopDeletesTheJob() {
    WorkerLaunch launch = launch(null, Duration.ofSeconds(60));
    WorkerHandle handle = runtime.start(launch);
    Job job = job(JobManifest.name(launch.stepId(), 2));
    mock.pod(job, "Running", null);

    CompletableFuture<AttemptOutcome> outcome = CompletableFuture.supplyAsync(handle::await);
    handle.stop("step cancelled");
    assertJobGone(job);
    AttemptOutcome.Stopped stopped = assertInstanceOf(AttemptOutcome.Stopped.class, outcome.join());
    assertEquals("step cancelled", stopped.reason());
  }

  @Test
  void theJobsAStoppedGatewayLeftAreDeletedUnlessTheirAttemptStillRuns() {
    UUID left = UUID.randomUUID();
    UUID stillRunning = UUID.randomUUID();
    running.add(stillRunning + "/1");
    leftJob(left, 1);
    leftJob(stillRunning, 1);
    WorkerLaunch ours = launch(null, Duration.ofSeconds(60));
    WorkerHandle handle = runtime.start(ours);
    mock.pod(job(JobManifest.name(ours.stepId(), 2)), "Running", null);

    // The sweep at start, or the informer on first sight of it (whichever comes first).
    int deleted = runtime.deleteJobsLeftBehind();

    assertTrue(deleted <= 1, "only the one left behind: " + deleted);
    await("the Job left behind deleted").until(() -> job(JobManifest.name(left, 1)) == null);
    assertNotNull(job(JobManifest.name(stillRunning, 1)), "another replica's attempt is kept");
    assertNotNull(job(JobManifest.name(ours.stepId(), 2)), "this Gateway's own is kept");
    handle.stop("test over");
    handle.await();
  }

  @Test
  void theInformerDeletesAJobLeftBehindThatAppearsLater() {
    UUID left = UUID.randomUUID();
    leftJob(left, 3);
    await("the Job left behind deleted").until(() -> job(JobManifest.name(left, 3)) == null);
  }

  private void leftJob(UUID stepId, int attempt) {
    WorkerLaunch launch =
        new WorkerLaunch(
            UUID.randomUUID(),
            stepId,
            attempt,
            "daneel",
            RuntimeSpec.kubernetes("registry.test/worka/agents:1"),
            Resources.DEFAULTS,
            "http://unused",
            TOKEN,
            null,
            Instant.now().plusSeconds(60));
    Job job = JobManifest.job(NS, launch, GATEWAY_URL, Instant.now());
    mock.client().batch().v1().jobs().inNamespace(NS).resource(job).create();
  }

  private static void assertJobGone(Job job) {
    assertNull(job(job.getMetadata().getName()), "the Job is deleted after its outcome");
  }

  private static Job job(String name) {
    return mock.client().batch().v1().jobs().inNamespace(NS).withName(name).get();
  }

  private static io.fabric8.kubernetes.api.model.ContainerState terminated(
      int exitCode, String reason) {
    return new ContainerStateBuilder()
        .withNewTerminated()
        .withExitCode(exitCode)
        .withReason(reason)
        .endTerminated()
        .build();
  }

  private static Map<String, Boolean> nullsFalse(Map<String, Boolean> map) {
    Map<String, Boolean> out = new LinkedHashMap<>();
    map.forEach((k, v) -> out.put(k, Boolean.TRUE.equals(v)));
    return out;
  }

  /** An attempt of agent ernest, running by the database (as ExecuteStep starts it). */
  private static WorkerLaunch launch(String runtimeClass, Duration left) {
    WorkerLaunch launch =
        new WorkerLaunch(
            UUID.randomUUID(),
            UUID.randomUUID(),
            2,
            "ernest",
            RuntimeSpec.kubernetes("registry.test/worka/agents:1", runtimeClass),
            new Resources(256L << 20, 500, 64, 64L << 20, 128),
            "http://127.0.0.1:9/not-for-pods",
            TOKEN,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            Instant.now().plus(left));
    running.add(launch.stepId() + "/" + launch.attempt());
    return launch;
  }
}
