package dev.worka.gateway.runtime.kubernetes;

import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A stand-in for the Job controller and the kubelet of one namespace on fabric8's mock API server:
 * it watches the Jobs there and runs each one's {@code worker} container as a local process — the
 * command is what {@code commands} maps the container's image to (a test's "image" is a command on
 * this machine), the environment is exactly the container's (with the Secret's token written to a
 * file of its own as {@code WORKA_TOKEN_FILE}, as the secret volume would hold it, and the Gateway
 * URL resolved as a Service would) — then writes the pod's and the Job's status as Kubernetes
 * would: {@code Complete} for exit status 0, {@code Failed} otherwise; and, as the Job controller
 * does with a Job whose {@code activeDeadlineSeconds} have passed since it saw it, kills a process
 * still running then and marks its Job {@code Failed} with reason {@code DeadlineExceeded}.
 */
public final class TestKubelet implements AutoCloseable {
  private final KubernetesClient client;
  private final String namespace;
  private final Function<String, List<String>> commands;
  private final Map<String, String> serviceUrls;
  private final BiConsumer<String, String> logs;
  private final Path scratch;
  private final SharedIndexInformer<Job> informer;
  private final Set<String> seen = ConcurrentHashMap.newKeySet();
  private final List<String> ran = new CopyOnWriteArrayList<>();
  private final List<String> problems = new CopyOnWriteArrayList<>();
  private final List<String> deadlinesExceeded = new CopyOnWriteArrayList<>();
  private final Set<Process> processes = ConcurrentHashMap.newKeySet();

  /**
   * @param commands the command of a container image (for the image's own entrypoint)
   * @param serviceUrls what the workers' {@code WORKA_GATEWAY_URL} resolves to (Service URL → the
   *     Gateway's local URL)
   * @param logs takes a pod's name and its container's output once the container has ended, to
   *     serve as the pod's log (e.g. {@link KubernetesMock#podLog})
   */
  public TestKubelet(
      KubernetesClient client,
      String namespace,
      Function<String, List<String>> commands,
      Map<String, String> serviceUrls,
      BiConsumer<String, String> logs,
      Path scratch) {
    this.client = client;
    this.namespace = namespace;
    this.commands = commands;
    this.serviceUrls = Map.copyOf(serviceUrls);
    this.logs = logs;
    this.scratch = scratch;
    this.informer =
        client
            .batch()
            .v1()
            .jobs()
            .inNamespace(namespace)
            .inform(
                new ResourceEventHandler<Job>() {
                  @Override
                  public void onAdd(Job job) {
                    if (seen.add(job.getMetadata().getName())) {
                      Thread.ofVirtual()
                          .name("kubelet-" + job.getMetadata().getName())
                          .start(() -> run(job));
                    }
                  }

                  @Override
                  public void onUpdate(Job before, Job job) {}

                  @Override
                  public void onDelete(Job job, boolean unknown) {}
                });
  }

  /** The agents ({@code WORKA_AGENT}) whose containers this kubelet ran, in order. */
  public List<String> ran() {
    return List.copyOf(ran);
  }

  /** The agents whose Jobs this kubelet ended at their {@code activeDeadlineSeconds}, in order. */
  public List<String> deadlinesExceeded() {
    return List.copyOf(deadlinesExceeded);
  }

  /** What went wrong while running a Job (a test asserts there was nothing). */
  public List<String> problems() {
    return List.copyOf(problems);
  }

  private void run(Job job) {
    String name = job.getMetadata().getName();
    long seen = System.nanoTime();
    try {
      var container = job.getSpec().getTemplate().getSpec().getContainers().getFirst();
      Map<String, String> env =
          container.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
      // The pod starts once its secret volume exists (the Gateway creates it after the Job).
      Secret secret =
          client
              .secrets()
              .inNamespace(namespace)
              .withName(name)
              .waitUntilCondition(Objects::nonNull, 30, TimeUnit.SECONDS);
      Path tokenFile = scratch.resolve(name + ".token");
      Files.write(tokenFile, Base64.getDecoder().decode(secret.getData().get("token")));
      Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("r--------"));
      env.put("WORKA_TOKEN_FILE", tokenFile.toString());
      String url = env.get("WORKA_GATEWAY_URL");
      env.put("WORKA_GATEWAY_URL", serviceUrls.getOrDefault(url, url));
      Pod pod = pod(job, "Running", null);
      ProcessBuilder builder =
          new ProcessBuilder(commands.apply(container.getImage()))
              .redirectErrorStream(true)
              .redirectOutput(scratch.resolve(name + ".log").toFile());
      builder.environment().clear();
      builder.environment().putAll(env);
      ran.add(env.get("WORKA_AGENT"));
      Process process = builder.start();
      processes.add(process);
      Long deadlineSeconds = job.getSpec().getActiveDeadlineSeconds();
      boolean pastDeadline = false;
      if (deadlineSeconds == null) {
        process.waitFor();
      } else {
        long left = TimeUnit.SECONDS.toNanos(deadlineSeconds) - (System.nanoTime() - seen);
        if (!process.waitFor(Math.max(0, left), TimeUnit.NANOSECONDS)) {
          // The Job controller's end of an active Job past its deadline: its pod is killed.
          pastDeadline = true;
          process.descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly();
          process.waitFor();
          deadlinesExceeded.add(env.get("WORKA_AGENT"));
        }
      }
      int exit = process.exitValue();
      processes.remove(process);
      logs.accept(
          pod.getMetadata().getName(),
          Files.readString(scratch.resolve(name + ".log"), StandardCharsets.UTF_8));
      pod.getStatus().setPhase(exit == 0 ? "Succeeded" : "Failed");
      pod.getStatus()
          .getContainerStatuses()
          .getFirst()
          .setState(
              new ContainerStateBuilder()
                  .withNewTerminated()
                  .withExitCode(exit)
                  .withReason(exit == 0 ? "Completed" : "Error")
                  .endTerminated()
                  .build());
      client.pods().inNamespace(namespace).resource(pod).update();
      if (pastDeadline) {
        finish(job, "Failed", "DeadlineExceeded");
      } else {
        finish(job, exit == 0 ? "Complete" : "Failed", exit == 0 ? null : "BackoffLimitExceeded");
      }
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) { // the Gateway deleted the Job meanwhile
        problems.add(name + ": " + e);
      }
    } catch (IOException | RuntimeException e) {
      problems.add(name + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private Pod pod(Job job, String phase, io.fabric8.kubernetes.api.model.ContainerState state) {
    Pod pod =
        new io.fabric8.kubernetes.api.model.PodBuilder()
            .withNewMetadata()
            .withName(job.getMetadata().getName() + "-k1")
            .withNamespace(namespace)
            .withLabels(job.getSpec().getTemplate().getMetadata().getLabels())
            .endMetadata()
            .withSpec(job.getSpec().getTemplate().getSpec())
            .withNewStatus()
            .withPhase(phase)
            .addNewContainerStatus()
            .withName("worker")
            .withState(
                state != null
                    ? state
                    : new ContainerStateBuilder().withNewRunning().endRunning().build())
            .endContainerStatus()
            .endStatus()
            .build();
    return client.pods().inNamespace(namespace).resource(pod).create();
  }

  private void finish(Job job, String type, String reason) {
    client
        .batch()
        .v1()
        .jobs()
        .inNamespace(namespace)
        .withName(job.getMetadata().getName())
        .edit(
            j -> {
              j.setStatus(
                  new io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder()
                      .addNewCondition()
                      .withType(type)
                      .withStatus("True")
                      .withReason(reason)
                      .endCondition()
                      .build());
              return j;
            });
  }

  /** Stops watching; kills what still runs. */
  @Override
  public void close() {
    informer.close();
    processes.forEach(Process::destroyForcibly);
  }
}
