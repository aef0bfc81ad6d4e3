package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole run, planner to delivery, through {@code runtime: kubernetes}: the built-in agents
 * declared as Kubernetes agents of one image, a real Gateway that finds fabric8's mock API server
 * by configuration only ({@code KUBECONFIG}, {@code WORKA_KUBERNETES_NAMESPACE}, {@code
 * WORKA_KUBERNETES_GATEWAY_URL}), and a test kubelet ({@link TestKubelet}) that runs each Job's
 * container as the built-in agent process with the Secret's token as its {@code WORKA_TOKEN_FILE}
 * and writes the Job's status back.
 */
class KubernetesRunTest {
  private static final String NS = "worka-e2e";
  private static final String IMAGE = "registry.test/worka/agents:test";
  private static final String SERVICE_URL = "http://worka-agents.worka-e2e.svc:8080";

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

  @Test
  void aRunGoesFromPlannerToDeliveryThroughKubernetesJobs() throws Exception {
    String policy = kubernetesPolicy();

    // The agents image's entrypoint: the built-in agent runner, which runs WORKA_AGENT's agent.
    List<String> argv = TestGateway.agentArgv("hari");
    List<String> entrypoint = argv.subList(0, argv.size() - 1);
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
                  image -> {
                    assertEquals(IMAGE, image, "the Job runs the agent's image");
                    return entrypoint;
                  },
                  // The Service in front of the Gateway's agent port.
                  Map.of(SERVICE_URL, gw.baseUrl),
                  scratch)) {
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
      }
    }
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
