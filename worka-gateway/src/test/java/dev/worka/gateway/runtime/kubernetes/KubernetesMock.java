package dev.worka.gateway.runtime.kubernetes;

import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;

/**
 * fabric8's Kubernetes mock API server in CRUD mode (objects are stored, listed, watched and
 * deleted as a real API server would), with fixed answers where CRUD has none (pod logs). It has no
 * controllers: no Job controller creates pods or writes a Job's status, no kubelet runs anything —
 * the tests do what those would, through {@link #client()}.
 */
public final class KubernetesMock implements AutoCloseable {
  private final KubernetesMockServer server;
  private final KubernetesClient client;

  public KubernetesMock() {
    Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
    server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            responses,
            new KubernetesMixedDispatcher(responses),
            false);
    server.init();
    client = server.createClient();
  }

  /** A client of the mock (for the test's own controller-like writes and reads). */
  public KubernetesClient client() {
    return client;
  }

  /** Another client of the mock (one a runtime under test owns and closes). */
  public KubernetesClient newClient() {
    return server.createClient();
  }

  /** A kubeconfig file naming the mock server, for a Gateway that finds it by configuration. */
  public Path kubeconfig(Path directory, String namespace) throws IOException {
    String url = client.getMasterUrl().toString();
    Path file = directory.resolve("kubeconfig");
    Files.writeString(
        file,
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: mock
          cluster:
            server: %s
        contexts:
        - name: mock
          context:
            cluster: mock
            namespace: %s
            user: test
        current-context: mock
        users:
        - name: test
          user:
            token: test-token
        """
            .formatted(url, namespace));
    return file;
  }

  /** Answers a pod's log request with {@code text}, for every later request. */
  public void podLog(String namespace, String pod, String text) {
    server
        .expect()
        .get()
        .withPath(
            "/api/v1/namespaces/"
                + namespace
                + "/pods/"
                + pod
                + "/log?pretty=false&container=worker&tailLines="
                + KubernetesWorker.LOG_LINES
                + "&limitBytes="
                + KubernetesWorker.LOG_BYTES)
        .andReturn(200, text)
        .always();
  }

  /** What the Job controller and the kubelet would have done: the Job's pod, in {@code phase}. */
  public Pod pod(Job job, String phase, io.fabric8.kubernetes.api.model.ContainerState state) {
    Pod pod =
        new PodBuilder()
            .withNewMetadata()
            .withName(job.getMetadata().getName() + "-x1")
            .withNamespace(job.getMetadata().getNamespace())
            .withLabels(job.getSpec().getTemplate().getMetadata().getLabels())
            .endMetadata()
            .withSpec(job.getSpec().getTemplate().getSpec())
            .withNewStatus()
            .withPhase(phase)
            .withContainerStatuses(
                new ContainerStatusBuilder()
                    .withName("worker")
                    .withImage(
                        job.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                    .withState(state != null ? state : new ContainerStateBuilder().build())
                    .build())
            .endStatus()
            .build();
    return client.pods().inNamespace(pod.getMetadata().getNamespace()).resource(pod).create();
  }

  /** What the Job controller would write when the Job ends: a condition {@code type} = True. */
  public void finish(Job job, String type, String reason) {
    client
        .batch()
        .v1()
        .jobs()
        .inNamespace(job.getMetadata().getNamespace())
        .withName(job.getMetadata().getName())
        .edit(
            j -> {
              j.setStatus(
                  new io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder()
                      .withConditions(
                          new JobConditionBuilder()
                              .withType(type)
                              .withStatus("True")
                              .withReason(reason)
                              .withMessage(reason)
                              .build())
                      .build());
              return j;
            });
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
  }
}
