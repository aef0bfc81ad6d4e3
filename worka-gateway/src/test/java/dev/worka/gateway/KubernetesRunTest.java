package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.control.RetryWorker;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.runtime.kubernetes.KubernetesMock;
import dev.worka.gateway.runtime.kubernetes.TestKubelet;
import dev.worka.gateway.store.TestDatabase;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole run, planner to delivery, through {@code runtime: kubernetes}: the built-in agents
 * declared as Kubernetes agents of one image, a real Gateway that finds fabric8's mock API server
 * by configuration only ({@code KUBECONFIG}, {@code WORKA_KUBERNETES_NAMESPACE}, {@code
 * WORKA_KUBERNETES_GATEWAY_URL}), and a test kubelet ({@link TestKubelet}) that runs each Job's
 * container as the built-in agent process with the Secret's token as its {@code WORKA_TOKEN_FILE}
 * and writes the Job's status back. Through the same set-up, with Daneel a Job of a test worker
 * image ({@link RetryWorker}), the other paths of a step: a retry, a timeout (the Job ended by its
 * {@code activeDeadlineSeconds}), a policy rejection (docs/reliability.md, "The tests that show
 * it").
 */
class KubernetesRunTest {
  private static final String NS = "worka-e2e";
  private static final String IMAGE = "registry.test/worka/agents:test";
  private static final String SERVICE_URL = "http://worka-agents.worka-e2e.svc:8080";
  private static final String WORKER_IMAGE = "registry.test/worka/retry-worker:";

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;
  @TempDir Path scratch;

  /** The built-in manifest with every agent a Job of {@link #IMAGE}. */
  private static String kubernetesPolicy() {
    String policy = BuiltinPolicy.source();
    for (String agent : List.of("hari", "ernest", "daneel")) {
      policy =
          policy.replace(
              "runtime: process\n    command: [bin/worka-agent, " + agent + "]",
              "runtime: kubernetes\n    image: " + IMAGE);
    }
    assertEquals(3, policy.split("image: " + IMAGE, -1).length - 1, "every agent is a Job");
    return policy;
  }

  @Test
  void withoutItsSettingsAKubernetesStepFailsAtOnceSayingWhatToSet() throws Exception {
    try (TestGateway gw =
        TestGateway.startWithEnvironment(home, db.url(), kubernetesPolicy(), "dry-run", Map.of())) {
      JsonNode run = gw.finish(gw.submit("open an issue in acme/widgets titled 'x'"));

      assertEquals("failed", run.path("status").asText(), run.toPrettyString());
      JsonNode steps = run.path("steps");
      assertEquals(1, steps.size(), steps.toPrettyString());
      assertEquals(1, steps.get(0).path("attempt").asInt(), "not retried: " + steps);
      JsonNode burn = run.path("burns").get(0);
      assertEquals("dispatch", burn.path("kind").asText());
      assertEquals(
          "agent hari could not be started: runtime kubernetes is not configured on this Gateway:"
              + " set WORKA_KUBERNETES_NAMESPACE (the namespace of the workers' Jobs; the Gateway's"
              + " own when it runs in a pod) and WORKA_KUBERNETES_GATEWAY_URL (the URL workers use"
              + " for the Gateway's agent API, e.g. http://worka-agents.NAMESPACE.svc:8080)",
          burn.path("reason").asText());
    }
  }

  /** What a test does with a Gateway, the test kubelet that runs its Jobs, and the mock. */
  private interface ThroughJobs {
    void run(TestGateway gw, TestKubelet kubelet, KubernetesMock mock) throws Exception;
  }

  /**
   * Runs {@code test} against a Gateway of {@code policy} that finds the mock API server by
   * configuration only, with a test kubelet running each Job's container as the command {@code
   * images} maps its image to.
   */
  private void throughJobs(String policy, Function<String, List<String>> images, ThroughJobs test)
      throws Exception {
    try (KubernetesMock mock = new KubernetesMock()) {
      Path kubeconfig = mock.kubeconfig(scratch, "default");
      try (TestGateway gw =
              TestGateway.startWithEnvironment(
                  home,
                  db.url(),
                  policy,
                  "dry-run",
                  Map.of(
                      "KUBECONFIG", kubeconfig.toString(),
                      "WORKA_KUBERNETES_NAMESPACE", NS,
                      "WORKA_KUBERNETES_GATEWAY_URL", SERVICE_URL));
          TestKubelet kubelet =
              new TestKubelet(
                  mock.client(),
                  NS,
                  images,
                  // The Service in front of the Gateway's agent port.
                  Map.of(SERVICE_URL, gw.baseUrl),
                  (pod, text) -> mock.podLog(NS, pod, text),
                  scratch)) {
        test.run(gw, kubelet, mock);
      }
    }
  }

  /**
   * The built-in manifest for tests with Daneel (the "answer" step of any request the planner does
   * not recognize) a Job of the test worker image tagged {@code behaviour}, and {@code limits}
   * (name, value, …).
   */
  private static String daneelAJob(String behaviour, String... limits) {
    String process = "runtime: process\n    command: " + TestGateway.agentCommand("daneel");
    String policy = TestGateway.policyWith(Map.of(), null);
    assertTrue(policy.contains(process), policy);
    policy = policy.replace(process, "runtime: kubernetes\n    image: " + WORKER_IMAGE + behaviour);
    for (int i = 0; i < limits.length; i += 2) {
      policy = TestGateway.withLimit(policy, limits[i], limits[i + 1]);
    }
    return policy;
  }

  /**
   * The entrypoint of the test worker image: a {@link RetryWorker} doing what the image's tag says,
   * or, for {@code hang}, a process that sleeps past any step timeout.
   */
  private static List<String> workerImage(String image) {
    assertTrue(image.startsWith(WORKER_IMAGE), image);
    String behaviour = image.substring(WORKER_IMAGE.length());
    return behaviour.equals("hang") ? List.of("/bin/sleep", "600") : RetryWorker.command(behaviour);
  }

  private static JsonNode answer(JsonNode run) {
    for (JsonNode step : run.path("steps")) {
      if (step.path("step_ref").asText().equals("answer")) {
        return step;
      }
    }
    throw new AssertionError("no answer step in " + run.toPrettyString());
  }

  @Test
  void aRunGoesFromPlannerToDeliveryThroughKubernetesJobs() throws Exception {
    String policy = kubernetesPolicy();

    // The agents image's entrypoint: the built-in agent runner, which runs WORKA_AGENT's agent.
    List<String> argv = TestGateway.agentArgv("hari");
    List<String> entrypoint = argv.subList(0, argv.size() - 1);
    throughJobs(
        policy,
        image -> {
          assertEquals(IMAGE, image, "the Job runs the agent's image");
          return entrypoint;
        },
        (gw, kubelet, mock) -> {
          String runId = gw.submit("open an issue in acme/widgets titled 'Login test is flaky'");
          JsonNode run = gw.finish(runId);

          assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
          List<String> agents = new ArrayList<>();
          run.path("steps")
              .forEach(
                  step -> {
                    agents.add(step.path("agent").asText());
                    assertEquals("succeeded", step.path("status").asText(), step.toPrettyString());
                    assertEquals(1, step.path("attempt").asInt(), step.toPrettyString());
                  });
          assertEquals(List.of("hari", "ernest"), agents);
          assertEquals(0, run.path("burns").size(), run.path("burns").toPrettyString());
          assertEquals(
              "allow skill.invoke github.create_issue",
              run.path("gates").get(1).path("status").asText()
                  + " "
                  + run.path("gates").get(1).path("action").asText()
                  + " "
                  + run.path("gates").get(1).path("skill").asText(),
              "the worker in the Job called its skill through the Gateway");
          assertEquals(agents, kubelet.ran(), "every step ran as a Job's container");
          assertEquals(List.of(), kubelet.problems());
          await("the Jobs deleted once their outcomes were known")
              .until(
                  () -> mock.client().batch().v1().jobs().inNamespace(NS).list().getItems(),
                  List::isEmpty);

          // MCP answers the name workers are given (the Service), as it answers the Gateway's own
          // (a token is asked for next); another name stays refused (DNS rebinding).
          int port = Integer.parseInt(gw.baseUrl.substring(gw.baseUrl.lastIndexOf(':') + 1));
          assertEquals(401, mcpStatus(port, "worka-agents.worka-e2e.svc:8080"));
          assertEquals(403, mcpStatus(port, "worka-agents.worka-e2e.svc.rebound.example:8080"));
        });
  }

  @Test
  void aJobThatCrashesOnceIsRetriedAsASecondJobThatSucceeds() throws Exception {
    throughJobs(
        daneelAJob("crash-first"),
        KubernetesRunTest::workerImage,
        (gw, kubelet, mock) -> {
          JsonNode run = gw.finish(gw.submit("tell me a joke"));

          assertEquals("succeeded", run.path("status").asText(), run.toPrettyString());
          JsonNode answer = answer(run);
          assertEquals("succeeded", answer.path("status").asText(), answer.toPrettyString());
          assertEquals(2, answer.path("attempt").asInt(), answer.toPrettyString());
          assertEquals(2, answer.path("output").path("attempt").asInt(), answer.toPrettyString());
          JsonNode burns = run.path("burns");
          assertEquals(1, burns.size(), "one burn: the crashed attempt: " + burns);
          assertEquals("crash", burns.get(0).path("kind").asText(), burns.toPrettyString());
          assertEquals(1, burns.get(0).path("attempt").asInt(), burns.toPrettyString());
          assertEquals(
              1,
              burns.get(0).path("diagnostics").path("exit_code").asInt(),
              "the exit code of the Job's container: " + burns);
          assertTrue(
              burns
                  .get(0)
                  .path("diagnostics")
                  .path("last_lines")
                  .toString()
                  .contains("attempt 1: crashing on purpose"),
              "the last lines of the pod's log: " + burns);
          assertEquals(List.of("daneel", "daneel"), kubelet.ran(), "each attempt its own Job");
          assertEquals(List.of(), kubelet.problems());
        });
  }

  @Test
  void aJobPastItsStepTimeoutIsEndedAtItsDeadlineAsATimeoutBurn() throws Exception {
    // One attempt: a timeout is retried like any crash, and each would sleep to its deadline. The
    // step timeout is also the planner's: 10 s leaves a loaded machine room to start its JVM.
    throughJobs(
        daneelAJob("hang", "step_timeout", "10s", "max_attempts", "1"),
        KubernetesRunTest::workerImage,
        (gw, kubelet, mock) -> {
          JsonNode run = gw.finish(gw.submit("tell me a joke"));

          assertEquals("failed", run.path("status").asText(), run.toPrettyString());
          JsonNode answer = answer(run);
          assertEquals("timed_out", answer.path("status").asText(), answer.toPrettyString());
          JsonNode burns = run.path("burns");
          assertEquals(1, burns.size(), burns.toPrettyString());
          assertEquals("timeout", burns.get(0).path("kind").asText(), burns.toPrettyString());
          assertEquals(
              answer.path("step_id").asText(), burns.get(0).path("step_id").asText(), "" + burns);
          assertEquals(
              List.of("daneel"),
              kubelet.deadlinesExceeded(),
              "the Job was ended by its activeDeadlineSeconds, as the Job controller ends one");
          assertEquals(List.of(), kubelet.problems());
        });
  }

  @Test
  void aJobCallingASkillOffItsAllowlistMeetsTheDenyGateAndIsNotRetried() throws Exception {
    throughJobs(
        daneelAJob("denied-then-crash"),
        KubernetesRunTest::workerImage,
        (gw, kubelet, mock) -> {
          JsonNode run = gw.finish(gw.submit("tell me a joke"));

          assertEquals("failed", run.path("status").asText(), run.toPrettyString());
          JsonNode answer = answer(run);
          assertEquals(1, answer.path("attempt").asInt(), "not retried: " + answer);
          List<String> denied = new ArrayList<>();
          run.path("gates")
              .forEach(
                  gate -> {
                    if (gate.path("status").asText().equals("deny")) {
                      denied.add(
                          gate.path("action").asText()
                              + " "
                              + gate.path("skill").asText()
                              + " "
                              + gate.path("step_id").asText());
                    }
                  });
          assertEquals(
              List.of("skill.invoke github.create_issue " + answer.path("step_id").asText()),
              denied,
              run.path("gates").toPrettyString());
          JsonNode burns = run.path("burns");
          assertEquals(1, burns.size(), burns.toPrettyString());
          assertEquals("crash", burns.get(0).path("kind").asText(), burns.toPrettyString());
          assertTrue(
              burns.get(0).path("diagnostics").path("not_retried").asText().contains("denied"),
              burns.toPrettyString());
          assertEquals(List.of("daneel"), kubelet.ran(), "one Job: the attempt was not retried");
          assertEquals(List.of(), kubelet.problems());
        });
  }

  /** The status of a token-less {@code POST /v1/agent/mcp} naming {@code host}. */
  private static int mcpStatus(int port, String host) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
      String request =
          "POST /v1/agent/mcp HTTP/1.1\r\nHost: "
              + host
              + "\r\nContent-Type: application/json\r\nAccept: application/json,"
              + " text/event-stream\r\nConnection: close\r\nContent-Length: "
              + body.length()
              + "\r\n\r\n"
              + body;
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return Integer.parseInt(answer.substring(9, 12));
    }
  }
}
