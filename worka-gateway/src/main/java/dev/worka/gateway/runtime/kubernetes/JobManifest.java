package dev.worka.gateway.runtime.kubernetes;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.runtime.WorkerLaunch;
import dev.worka.protocol.AgentEnvironment;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPathBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The Kubernetes objects of one step attempt (DESIGN §8): a {@code batch/v1} Job named {@code
 * worka-step-<stepId>-<attempt>} whose single pod runs the agent's image as it is (its own
 * entrypoint, no command override) with nothing but the agent protocol's environment (DESIGN §5),
 * and a Secret of the same name holding the step token, mounted read-only as {@code
 * WORKA_TOKEN_FILE} and owned by the Job so that it is collected with it.
 *
 * <p>Every hardening field is set here and nowhere else: no retries ({@code backoffLimit: 0}, the
 * Gateway owns retries), the step's deadline ({@code activeDeadlineSeconds}), collected after
 * {@link #TTL_AFTER_FINISHED} if the Gateway does not delete it first, non-root uid {@value
 * #WORKER_UID}, read-only root filesystem, no privilege escalation, every capability dropped, the
 * runtime's default seccomp profile, no service-account token, no service links, {@code /tmp} an
 * {@code emptyDir} bounded by the agent's {@code disk}, and requests equal to limits from its
 * {@code resources} (memory, cpu, ephemeral storage). {@code pids} and {@code open_files} have no
 * per-pod field in Kubernetes: the kubelet's {@code podPidsLimit} and the container runtime's
 * {@code nofile} bound them (docs/architecture.md, "runtime: kubernetes").
 */
final class JobManifest {
  /** The container of the worker pod (its logs are read from it). */
  static final String CONTAINER = "worker";

  /** The uid and gid the worker runs as (the images' {@code worka} user). */
  static final long WORKER_UID = 10001L;

  /** Where the token Secret is mounted; {@code WORKA_TOKEN_FILE} names its {@code token} file. */
  static final String TOKEN_DIRECTORY = "/var/run/worka";

  static final String TOKEN_KEY = "token";
  static final String TOKEN_FILE = TOKEN_DIRECTORY + "/" + TOKEN_KEY;

  /** How long a finished Job the Gateway did not delete (it died) stays before Kubernetes does. */
  static final Duration TTL_AFTER_FINISHED = Duration.ofMinutes(5);

  static final String NAME_LABEL = "app.kubernetes.io/name";
  static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  static final String MANAGED_BY = "worka-gateway";
  static final String RUN_LABEL = "worka.dev/run";
  static final String STEP_LABEL = "worka.dev/step";
  static final String ATTEMPT_LABEL = "worka.dev/attempt";
  static final String AGENT_LABEL = "worka.dev/agent";

  /** A label value as Kubernetes accepts it (at most 63 characters, alphanumeric at both ends). */
  private static final Pattern LABEL_VALUE =
      Pattern.compile("(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?");

  private static final String PREFIX = "worka-step-";

  private JobManifest() {}

  /** {@code worka-step-<stepId>-<attempt>}: the name of the attempt's Job and of its Secret. */
  static String name(UUID stepId, int attempt) {
    return PREFIX + stepId + "-" + attempt;
  }

  /** The labels of the attempt's Job, its pod and its Secret. */
  static Map<String, String> labels(WorkerLaunch launch) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put(NAME_LABEL, "worka");
    labels.put(COMPONENT_LABEL, "worker");
    labels.put(MANAGED_BY_LABEL, MANAGED_BY);
    labels.put(RUN_LABEL, launch.runId().toString());
    labels.put(STEP_LABEL, launch.stepId().toString());
    labels.put(ATTEMPT_LABEL, Integer.toString(launch.attempt()));
    // Agent names may end in - or _ or run to 64 characters, which a label value may not; the
    // label is informational (the token is the authority), so such a name goes without it.
    if (LABEL_VALUE.matcher(launch.agent()).matches()) {
      labels.put(AGENT_LABEL, launch.agent());
    }
    return labels;
  }

  /** The labels every Job of this Gateway's workers carries: what its informer selects. */
  static Map<String, String> managedLabels() {
    return Map.of(MANAGED_BY_LABEL, MANAGED_BY, COMPONENT_LABEL, "worker");
  }

  /** The step attempt a Job's labels name; empty when they name none (not one of ours). */
  static Optional<Attempt> attemptOf(Map<String, String> labels) {
    if (labels == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new Attempt(
              UUID.fromString(labels.getOrDefault(STEP_LABEL, "")),
              Integer.parseInt(labels.getOrDefault(ATTEMPT_LABEL, ""))));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** A step attempt, as a Job's labels name it. */
  record Attempt(UUID stepId, int attempt) {}

  /**
   * The attempt's Job.
   *
   * @param gatewayUrl where the worker reaches the Gateway's agent API ({@code
   *     WORKA_KUBERNETES_GATEWAY_URL})
   * @param now when the Job is created: its {@code activeDeadlineSeconds} runs to the step's
   *     deadline from here (at least one second)
   */
  static Job job(String namespace, WorkerLaunch launch, String gatewayUrl, Instant now) {
    String name = name(launch.stepId(), launch.attempt());
    Map<String, String> labels = labels(launch);
    Resources resources = launch.resources();
    Map<String, Quantity> limits = new LinkedHashMap<>();
    limits.put("memory", new Quantity(Long.toString(resources.memoryBytes())));
    limits.put("cpu", new Quantity(resources.cpuMillis() + "m"));
    limits.put("ephemeral-storage", new Quantity(Long.toString(resources.diskBytes())));
    long deadlineSeconds =
        Math.max(1, (Duration.between(now, launch.deadline()).toMillis() + 999) / 1000);
    return new JobBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(namespace)
        .withLabels(labels)
        .endMetadata()
        .withNewSpec()
        .withBackoffLimit(0)
        .withActiveDeadlineSeconds(deadlineSeconds)
        .withTtlSecondsAfterFinished((int) TTL_AFTER_FINISHED.toSeconds())
        .withNewTemplate()
        .withNewMetadata()
        .withLabels(labels)
        .endMetadata()
        .withNewSpec()
        .withRestartPolicy("Never")
        .withAutomountServiceAccountToken(false)
        .withEnableServiceLinks(false)
        .withRuntimeClassName(launch.runtime().runtimeClass())
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withRunAsUser(WORKER_UID)
        .withRunAsGroup(WORKER_UID)
        // The token file's group: a 0400 secret file is made group-readable for fsGroup.
        .withFsGroup(WORKER_UID)
        .withNewSeccompProfile()
        .withType("RuntimeDefault")
        .endSeccompProfile()
        .endSecurityContext()
        .addNewContainer()
        .withName(CONTAINER)
        .withImage(launch.runtime().image())
        .withEnv(environment(launch, gatewayUrl))
        .withNewSecurityContext()
        .withRunAsNonRoot(true)
        .withRunAsUser(WORKER_UID)
        .withRunAsGroup(WORKER_UID)
        .withPrivileged(false)
        .withReadOnlyRootFilesystem(true)
        .withAllowPrivilegeEscalation(false)
        .withNewCapabilities()
        .withDrop("ALL")
        .endCapabilities()
        .withNewSeccompProfile()
        .withType("RuntimeDefault")
        .endSeccompProfile()
        .endSecurityContext()
        .withNewResources()
        .withRequests(limits)
        .withLimits(limits)
        .endResources()
        .addNewVolumeMount()
        .withName("token")
        .withMountPath(TOKEN_DIRECTORY)
        .withReadOnly(true)
        .endVolumeMount()
        .addNewVolumeMount()
        .withName("tmp")
        .withMountPath("/tmp")
        .endVolumeMount()
        .endContainer()
        .addNewVolume()
        .withName("token")
        .withNewSecret()
        .withSecretName(name)
        .withDefaultMode(0400)
        .withItems(
            new KeyToPathBuilder().withKey(TOKEN_KEY).withPath(TOKEN_KEY).withMode(0400).build())
        .endSecret()
        .endVolume()
        .addNewVolume()
        .withName("tmp")
        .withNewEmptyDir()
        .withSizeLimit(new Quantity(Long.toString(resources.diskBytes())))
        .endEmptyDir()
        .endVolume()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  /** Exactly the agent protocol's variables (DESIGN §5); the token only as a file. */
  private static List<EnvVar> environment(WorkerLaunch launch, String gatewayUrl) {
    List<EnvVar> env = new ArrayList<>();
    env.add(new EnvVar(AgentEnvironment.GATEWAY_URL, gatewayUrl, null));
    env.add(new EnvVar(AgentEnvironment.TOKEN_FILE, TOKEN_FILE, null));
    env.add(new EnvVar(AgentEnvironment.RUN_ID, launch.runId().toString(), null));
    env.add(new EnvVar(AgentEnvironment.STEP_ID, launch.stepId().toString(), null));
    env.add(new EnvVar(AgentEnvironment.AGENT, launch.agent(), null));
    if (launch.traceparent() != null) {
      env.add(new EnvVar(AgentEnvironment.TRACEPARENT, launch.traceparent(), null));
    }
    return env;
  }

  /**
   * The attempt's token Secret, owned by its Job ({@code job}, as created: with its uid), so that
   * deleting the Job — or Kubernetes collecting it after {@link #TTL_AFTER_FINISHED} — deletes the
   * token with it.
   */
  static Secret secret(Job job, WorkerLaunch launch) {
    OwnerReference owner =
        new OwnerReferenceBuilder()
            .withApiVersion("batch/v1")
            .withKind("Job")
            .withName(job.getMetadata().getName())
            .withUid(job.getMetadata().getUid())
            .withController(false)
            .withBlockOwnerDeletion(false)
            .build();
    return new SecretBuilder()
        .withNewMetadata()
        .withName(job.getMetadata().getName())
        .withNamespace(job.getMetadata().getNamespace())
        .withLabels(labels(launch))
        .withOwnerReferences(owner)
        .endMetadata()
        .withType("Opaque")
        .withImmutable(true)
        .withData(
            Map.of(
                TOKEN_KEY,
                Base64.getEncoder()
                    .encodeToString(launch.token().getBytes(StandardCharsets.US_ASCII))))
        .build();
  }
}
