package dev.worka.deploy;

import static dev.worka.deploy.Chart.FULLNAME;
import static dev.worka.deploy.Chart.NAMESPACE;
import static dev.worka.deploy.Chart.all;
import static dev.worka.deploy.Chart.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Helm chart, rendered by real Helm and read into fabric8's model types: every object hardened
 * (docs/kubernetes.md says why each setting is there). An attacker here is a worker pod running
 * hostile code (it must reach only the Gateway and DNS, and hold no Kubernetes credential), or
 * whoever takes over the Gateway pod (its Role reaches only Jobs, Secrets and pods of its own
 * namespace, never cluster-wide, never a NetworkPolicy).
 */
class ChartTest {
  /** Every credential from an existing Secret, as docs/kubernetes.md recommends. */
  private static final Map<String, String> BY_REFERENCE =
      Map.of(
          "database.existingSecret", "worka-db",
          "operatorToken.existingSecret", "worka-operator",
          "slack.existingSecret", "worka-slack",
          "github.existingSecret", "worka-github",
          "anthropic.existingSecret", "worka-anthropic");

  private static final Map<String, String> GATEWAY_LABELS =
      Map.of(
          "app.kubernetes.io/name", "worka",
          "app.kubernetes.io/instance", Chart.RELEASE,
          "app.kubernetes.io/component", "gateway");

  /** The labels the Kubernetes runtime puts on every worker pod (a contract). */
  private static final Map<String, String> WORKER_LABELS =
      Map.of(
          "app.kubernetes.io/name", "worka",
          "app.kubernetes.io/component", "worker",
          "app.kubernetes.io/managed-by", "worka-gateway");

  private static List<HasMetadata> byReference;

  @BeforeAll
  static void render() {
    byReference = Chart.render(BY_REFERENCE);
  }

  @Test
  void rendersExactlyTheGatewaysObjectsAndNoSecretWhenEveryCredentialIsByReference() {
    Map<String, Long> kinds =
        byReference.stream()
            .collect(Collectors.groupingBy(HasMetadata::getKind, Collectors.counting()));
    assertEquals(
        Map.of(
            "Deployment", 1L,
            "Service", 2L,
            "ServiceAccount", 1L,
            "Role", 1L,
            "RoleBinding", 1L,
            "NetworkPolicy", 2L,
            "PodDisruptionBudget", 1L,
            "ConfigMap", 1L),
        kinds);
    for (HasMetadata object : byReference) {
      assertEquals(NAMESPACE, object.getMetadata().getNamespace(), object.getKind());
    }
  }

  @Test
  void everyPodIsNonRootReadOnlyWithoutCapabilitiesOrEscalationUnderRuntimeDefaultSeccomp() {
    List<HasMetadata> withSharedKey =
        Chart.render(
            with(BY_REFERENCE, "replicaCount", "2", "signingKey.existingSecret", "worka-key"));
    for (List<HasMetadata> objects : List.of(byReference, withSharedKey)) {
      List<Deployment> deployments = all(objects, Deployment.class);
      assertEquals(1, deployments.size());
      PodSpec pod = deployments.get(0).getSpec().getTemplate().getSpec();
      assertHardened(pod);
    }
    PodSpec pod = all(withSharedKey, Deployment.class).get(0).getSpec().getTemplate().getSpec();
    assertEquals(1, pod.getInitContainers().size(), "the signing-key copy");
    // The shared key is mounted into the init container only, which copies it owner-only.
    Container gateway = pod.getContainers().get(0);
    assertTrue(
        gateway.getVolumeMounts().stream().noneMatch(m -> m.getName().equals("signing-key")),
        gateway.getVolumeMounts().toString());
    assertEquals(
        "worka-key",
        pod.getVolumes().stream()
            .filter(v -> v.getName().equals("signing-key"))
            .findFirst()
            .orElseThrow()
            .getSecret()
            .getSecretName());
  }

  private static void assertHardened(PodSpec pod) {
    PodSecurityContext podContext = pod.getSecurityContext();
    assertNotNull(podContext, "pod securityContext");
    assertEquals(true, podContext.getRunAsNonRoot());
    assertEquals(10001L, podContext.getRunAsUser());
    assertEquals("RuntimeDefault", podContext.getSeccompProfile().getType());
    assertNotEquals(true, pod.getHostNetwork(), "hostNetwork");
    assertNotEquals(true, pod.getHostPID(), "hostPID");
    assertNotEquals(true, pod.getHostIPC(), "hostIPC");
    assertTrue(pod.getVolumes().stream().allMatch(v -> v.getHostPath() == null), "no hostPath");
    // The Gateway pod is the only one with an API token, because it drives the Jobs (the Role).
    assertEquals(true, pod.getAutomountServiceAccountToken());
    assertEquals(FULLNAME, pod.getServiceAccountName());
    List<Container> containers = new ArrayList<>(pod.getContainers());
    containers.addAll(pod.getInitContainers());
    assertFalse(containers.isEmpty());
    for (Container container : containers) {
      String name = container.getName();
      SecurityContext context = container.getSecurityContext();
      assertNotNull(context, name + ": securityContext");
      assertEquals(true, context.getRunAsNonRoot(), name);
      assertEquals(true, context.getReadOnlyRootFilesystem(), name);
      assertEquals(false, context.getAllowPrivilegeEscalation(), name);
      assertNotEquals(true, context.getPrivileged(), name);
      assertEquals(List.of("ALL"), context.getCapabilities().getDrop(), name);
      assertTrue(
          context.getCapabilities().getAdd() == null
              || context.getCapabilities().getAdd().isEmpty(),
          name);
      assertEquals("RuntimeDefault", context.getSeccompProfile().getType(), name);
      for (String resource : List.of("cpu", "memory")) {
        assertNotNull(container.getResources().getRequests().get(resource), name + " " + resource);
        assertNotNull(container.getResources().getLimits().get(resource), name + " " + resource);
      }
    }
  }

  @Test
  void theServiceAccountMountsNoTokenByItselfAndTheRoleReachesOnlyJobsSecretsPodsAndLogs() {
    ServiceAccount account = one(byReference, ServiceAccount.class, FULLNAME);
    assertEquals(false, account.getAutomountServiceAccountToken());

    Role role = one(byReference, Role.class, FULLNAME);
    Map<String, Set<String>> granted = new HashMap<>();
    for (PolicyRule rule : role.getRules()) {
      assertTrue(
          rule.getResourceNames() == null || rule.getResourceNames().isEmpty(), rule.toString());
      assertTrue(
          rule.getNonResourceURLs() == null || rule.getNonResourceURLs().isEmpty(),
          rule.toString());
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          String key = (group.isEmpty() ? "" : group + "/") + resource;
          granted.computeIfAbsent(key, k -> new TreeSet<>()).addAll(rule.getVerbs());
        }
      }
    }
    assertEquals(
        Map.of(
            "batch/jobs", Set.of("get", "list", "watch", "create", "delete"),
            "secrets", Set.of("get", "list", "create", "delete"),
            "pods", Set.of("get", "list", "watch"),
            "pods/log", Set.of("get")),
        granted);

    RoleBinding binding = one(byReference, RoleBinding.class, FULLNAME);
    assertEquals("Role", binding.getRoleRef().getKind());
    assertEquals(FULLNAME, binding.getRoleRef().getName());
    assertEquals(1, binding.getSubjects().size());
    assertEquals("ServiceAccount", binding.getSubjects().get(0).getKind());
    assertEquals(FULLNAME, binding.getSubjects().get(0).getName());
    assertEquals(NAMESPACE, binding.getSubjects().get(0).getNamespace());
  }

  @Test
  void workerPodsAcceptNoConnectionAndReachOnlyTheGatewaysAgentPortAndTheClusterDns() {
    Deployment deployment = all(byReference, Deployment.class).get(0);
    NetworkPolicy policy = one(byReference, NetworkPolicy.class, FULLNAME + "-worker");
    assertEquals(WORKER_LABELS, policy.getSpec().getPodSelector().getMatchLabels());
    assertTrue(policy.getSpec().getPodSelector().getMatchExpressions().isEmpty());
    assertEquals(List.of("Ingress", "Egress"), policy.getSpec().getPolicyTypes());
    assertTrue(policy.getSpec().getIngress().isEmpty(), "no ingress at all");

    List<NetworkPolicyEgressRule> egress = policy.getSpec().getEgress();
    assertEquals(2, egress.size(), egress.toString());
    NetworkPolicyEgressRule toGateway = egress.get(0);
    assertEquals(1, toGateway.getTo().size());
    NetworkPolicyPeer gateway = toGateway.getTo().get(0);
    assertNull(gateway.getNamespaceSelector(), "the release's own namespace only");
    assertNull(gateway.getIpBlock());
    assertEquals(GATEWAY_LABELS, gateway.getPodSelector().getMatchLabels());
    assertTrue(
        selects(gateway.getPodSelector().getMatchLabels(), podLabels(deployment)),
        "selects the Gateway pods");
    assertEquals(List.of("TCP 8080"), ports(toGateway.getPorts()));
    assertEquals(8080, containerPort(deployment, "http"));
    assertDns(egress.get(1));
  }

  @Test
  void theGatewayIsReachedOnlyOnItsPortsAndReachesOnlyTheDatabaseHttpsTheApiAndDns() {
    NetworkPolicy policy = one(byReference, NetworkPolicy.class, FULLNAME + "-gateway");
    assertEquals(GATEWAY_LABELS, policy.getSpec().getPodSelector().getMatchLabels());
    assertEquals(List.of("Ingress", "Egress"), policy.getSpec().getPolicyTypes());

    var ingress = policy.getSpec().getIngress();
    assertEquals(2, ingress.size(), ingress.toString());
    assertEquals(List.of("TCP 8081"), ports(ingress.get(0).getPorts()), "the public routes");
    assertEquals(List.of("TCP 8080"), ports(ingress.get(1).getPorts()), "operator and agent API");
    assertEquals(
        List.of(WORKER_LABELS),
        ingress.get(1).getFrom().stream().map(p -> p.getPodSelector().getMatchLabels()).toList(),
        "by default only worker pods reach the agent/operator port");

    var egress = policy.getSpec().getEgress();
    assertEquals(4, egress.size(), egress.toString());
    assertEquals(List.of("TCP 5432"), ports(egress.get(0).getPorts()), "PostgreSQL");
    NetworkPolicyEgressRule https = egress.get(1);
    assertEquals(List.of("TCP 443"), ports(https.getPorts()));
    var internet = https.getTo().get(0).getIpBlock();
    assertEquals("0.0.0.0/0", internet.getCidr());
    assertTrue(
        internet.getExcept().containsAll(List.of("10.0.0.0/8", "169.254.0.0/16")),
        "never the pod network or a cloud metadata endpoint: " + internet.getExcept());
    assertEquals(List.of("TCP 443", "TCP 6443"), ports(egress.get(2).getPorts()), "the API");
    assertDns(egress.get(3));

    // An operator network, when given, is added beside the workers, not instead of them.
    NetworkPolicy widened =
        one(
            Chart.render(
                with(BY_REFERENCE, "networkPolicy.operatorFrom[0].ipBlock.cidr", "192.0.2.0/24")),
            NetworkPolicy.class,
            FULLNAME + "-gateway");
    List<NetworkPolicyPeer> from = widened.getSpec().getIngress().get(1).getFrom();
    assertEquals(WORKER_LABELS, from.get(0).getPodSelector().getMatchLabels());
    assertEquals("192.0.2.0/24", from.get(1).getIpBlock().getCidr());
  }

  private static void assertDns(NetworkPolicyEgressRule rule) {
    assertEquals(1, rule.getTo().size());
    NetworkPolicyPeer dns = rule.getTo().get(0);
    assertEquals(
        Map.of("kubernetes.io/metadata.name", "kube-system"),
        dns.getNamespaceSelector().getMatchLabels());
    assertEquals(Map.of("k8s-app", "kube-dns"), dns.getPodSelector().getMatchLabels());
    assertEquals(List.of("UDP 53", "TCP 53"), ports(rule.getPorts()));
  }

  @Test
  void theGatewayIsConfiguredForItsNamespaceAndWorkersReachItThroughTheAgentService() {
    Deployment deployment = all(byReference, Deployment.class).get(0);
    Map<String, EnvVar> env = env(deployment);
    assertEquals(NAMESPACE, env.get("WORKA_KUBERNETES_NAMESPACE").getValue());
    assertEquals(
        "http://" + FULLNAME + "." + NAMESPACE + ".svc:8080",
        env.get("WORKA_KUBERNETES_GATEWAY_URL").getValue());
    // Its host is one of the Gateway's own names only if WORKA_GATEWAY_URL says so: without it a
    // worker's MCP request through the Service is refused as DNS rebinding (403).
    assertEquals(
        env.get("WORKA_KUBERNETES_GATEWAY_URL").getValue(),
        env.get("WORKA_GATEWAY_URL").getValue());
    assertEquals("2m", env.get("WORKA_KUBERNETES_PENDING_TIMEOUT").getValue());
    assertEquals("/var/lib/worka", env.get("WORKA_HOME").getValue());
    assertEquals("8081", env.get("WORKA_INGRESS_PORT").getValue());
    assertEquals("dry-run", env.get("WORKA_SIDE_EFFECTS").getValue());
    // No worker ever runs unconfined inside the Gateway's pod (the image has no bubblewrap).
    assertEquals("required", env.get("WORKA_SANDBOX").getValue());

    Service agents = one(byReference, Service.class, FULLNAME);
    assertEquals("ClusterIP", agents.getSpec().getType());
    assertTrue(selects(agents.getSpec().getSelector(), podLabels(deployment)));
    assertEquals(1, agents.getSpec().getPorts().size());
    assertEquals(8080, agents.getSpec().getPorts().get(0).getPort());
    assertEquals("http", agents.getSpec().getPorts().get(0).getTargetPort().getStrVal());

    Service ingress = one(byReference, Service.class, FULLNAME + "-ingress");
    assertTrue(selects(ingress.getSpec().getSelector(), podLabels(deployment)));
    assertEquals(1, ingress.getSpec().getPorts().size());
    assertEquals("ingress", ingress.getSpec().getPorts().get(0).getTargetPort().getStrVal());
    assertEquals(8081, containerPort(deployment, "ingress"));

    Container gateway = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertEquals("/healthz", gateway.getStartupProbe().getHttpGet().getPath());
    assertEquals("/healthz", gateway.getLivenessProbe().getHttpGet().getPath());
    assertEquals("/readyz", gateway.getReadinessProbe().getHttpGet().getPath());
    assertEquals("http", gateway.getReadinessProbe().getHttpGet().getPort().getStrVal());
    // The state the Gateway writes lives on emptyDirs: the root filesystem stays read-only.
    assertEquals(
        Set.of("/var/lib/worka", "/tmp", "/etc/worka"),
        gateway.getVolumeMounts().stream().map(m -> m.getMountPath()).collect(Collectors.toSet()));

    PodDisruptionBudget budget = one(byReference, PodDisruptionBudget.class, FULLNAME);
    assertEquals(1, budget.getSpec().getMaxUnavailable().getIntVal());
    assertTrue(selects(budget.getSpec().getSelector().getMatchLabels(), podLabels(deployment)));
  }

  @Test
  void credentialsComeFromTheNamedSecretsAndOnlyTheRequiredOnesAreNotOptional() {
    Map<String, EnvVar> env = env(all(byReference, Deployment.class).get(0));
    Map<String, String> secretOf = new LinkedHashMap<>();
    Set<String> required = new TreeSet<>();
    env.forEach(
        (name, variable) -> {
          if (variable.getValueFrom() != null) {
            SecretKeySelector ref = variable.getValueFrom().getSecretKeyRef();
            assertEquals(name, ref.getKey(), "the key is the variable's name");
            secretOf.put(name, ref.getName());
            if (!Boolean.TRUE.equals(ref.getOptional())) {
              required.add(name);
            }
          } else {
            assertFalse(
                name.contains("TOKEN") || name.contains("PASSWORD") || name.contains("KEY"),
                name + " holds a credential in plain text");
          }
        });
    assertEquals(
        Map.ofEntries(
            Map.entry("WORKA_DATABASE_URL", "worka-db"),
            Map.entry("WORKA_DATABASE_USER", "worka-db"),
            Map.entry("WORKA_DATABASE_PASSWORD", "worka-db"),
            Map.entry("WORKA_DATABASE_APP_USER", "worka-db"),
            Map.entry("WORKA_DATABASE_APP_PASSWORD", "worka-db"),
            Map.entry("WORKA_OPERATOR_TOKEN", "worka-operator"),
            Map.entry("SLACK_BOT_TOKEN", "worka-slack"),
            Map.entry("SLACK_SIGNING_SECRET", "worka-slack"),
            Map.entry("SLACK_APP_TOKEN", "worka-slack"),
            Map.entry("GITHUB_TOKEN", "worka-github"),
            Map.entry("GITHUB_WEBHOOK_SECRET", "worka-github"),
            Map.entry("ANTHROPIC_API_KEY", "worka-anthropic")),
        secretOf);
    assertEquals(Set.of("WORKA_DATABASE_URL", "WORKA_OPERATOR_TOKEN"), required);
  }

  @Test
  void credentialsGivenAsValuesGoToTheChartsOwnSecretAndAnEmptyOneIsNeverRendered() {
    List<HasMetadata> objects =
        Chart.render(
            Map.of(
                "database.url", "postgresql://db.example:5432/worka",
                "database.password", "pw-1",
                "operatorToken.value", "operator-token-0123456789"));
    Secret secret = one(objects, Secret.class, FULLNAME);
    assertEquals(
        Map.of(
            "WORKA_DATABASE_URL", "postgresql://db.example:5432/worka",
            "WORKA_DATABASE_PASSWORD", "pw-1",
            "WORKA_OPERATOR_TOKEN", "operator-token-0123456789"),
        secret.getStringData());
    Map<String, EnvVar> env = env(all(objects, Deployment.class).get(0));
    assertEquals(
        FULLNAME, env.get("WORKA_DATABASE_PASSWORD").getValueFrom().getSecretKeyRef().getName());
    for (String unset : List.of("WORKA_DATABASE_USER", "SLACK_BOT_TOKEN", "ANTHROPIC_API_KEY")) {
      assertNull(env.get(unset), unset + " was not given: no variable, no key");
    }
  }

  @Test
  void refusesToRenderWithoutTheDatabaseOrOperatorTokenOrWithReplicasThatCannotShareTokens() {
    assertTrue(
        Chart.failure(Map.of("operatorToken.existingSecret", "op"))
            .contains("WORKA_DATABASE_URL is required"));
    assertTrue(
        Chart.failure(Map.of("database.existingSecret", "db"))
            .contains("WORKA_OPERATOR_TOKEN is required"));
    assertTrue(
        Chart.failure(
                with(
                    BY_REFERENCE,
                    "operatorToken.existingSecret",
                    "",
                    "operatorToken.value",
                    "short"))
            .contains("at least 16 characters"));
    String replicas = Chart.failure(with(BY_REFERENCE, "replicaCount", "2"));
    assertTrue(replicas.contains("signingKey.existingSecret"), replicas);
  }

  @Test
  void refusesAValueItDoesNotKnowAndACredentialInPlainEnvironment() {
    // values.schema.json: a misspelled key never falls back to a default silently.
    String misspelled = Chart.failure(with(BY_REFERENCE, "gateway.sideEffect", "live"));
    assertTrue(misspelled.contains("sideEffect"), misspelled);
    String unknownMode = Chart.failure(with(BY_REFERENCE, "gateway.sideEffects", "sometimes"));
    assertTrue(unknownMode.contains("sideEffects"), unknownMode);
    String notADuration = Chart.failure(with(BY_REFERENCE, "gateway.pendingTimeout", "soon"));
    assertTrue(notADuration.contains("pendingTimeout"), notADuration);
    // A credential would be in the pod spec in the clear: it goes in a Secret.
    for (String credential :
        List.of("GITHUB_TOKEN", "WORKA_DATABASE_PASSWORD", "ANTHROPIC_API_KEY")) {
      String refused = Chart.failure(with(BY_REFERENCE, "gateway.env." + credential, "x"));
      assertTrue(refused.contains(credential), refused);
    }
    // And a setting the chart owns cannot be overridden behind its back.
    Chart.failure(with(BY_REFERENCE, "gateway.env.WORKA_KUBERNETES_NAMESPACE", "default"));
    // A plain setting is passed as it is.
    assertEquals(
        "https://api.githubcopilot.com/mcp/",
        env(all(
                    Chart.render(
                        with(
                            BY_REFERENCE,
                            "gateway.env.GITHUB_MCP_URL",
                            "https://api.githubcopilot.com/mcp/")),
                    Deployment.class)
                .get(0))
            .get("GITHUB_MCP_URL")
            .getValue());
  }

  @Test
  void thePolicyIsTheBuiltInManifestWithEveryAgentAsAKubernetesJobOfTheAgentsImage(
      @TempDir Path policyDirectory) throws IOException, InterruptedException {
    Map<?, ?> builtIn =
        Chart.yaml(
            Files.readString(
                Chart.ROOT.resolve(
                    "worka-gateway/src/main/resources/dev/worka/gateway/policy/builtin-policy.yaml")));
    for (var entry :
        Map.of(
                "worka-agents:0.1.0",
                byReference,
                "registry.example/worka-agents@sha256:" + "a".repeat(64),
                Chart.render(
                    with(
                        BY_REFERENCE,
                        "image.agents.repository",
                        "registry.example/worka-agents",
                        "image.agents.digest",
                        "sha256:" + "a".repeat(64))))
            .entrySet()) {
      ConfigMap config = one(entry.getValue(), ConfigMap.class, FULLNAME + "-policy");
      Map<?, ?> policy = Chart.yaml(config.getData().get("policy.yaml"));
      Map<?, ?> agents = (Map<?, ?>) policy.get("agents");
      assertEquals(((Map<?, ?>) builtIn.get("agents")).keySet(), agents.keySet());
      for (Object agent : agents.values()) {
        assertEquals("kubernetes", ((Map<?, ?>) agent).get("runtime"));
        assertEquals(entry.getKey(), ((Map<?, ?>) agent).get("image"));
      }
      assertEquals(withoutLaunch(builtIn), withoutLaunch(policy), "all but how agents start");
    }
    // And the Gateway itself accepts it (`worka policy check`, the jar the image runs).
    assertGatewayAccepts(one(byReference, ConfigMap.class, FULLNAME + "-policy"), policyDirectory);
    // A manifest of one's own replaces it whole.
    ConfigMap own =
        one(
            Chart.render(with(BY_REFERENCE, "policy.manifest", "agents: {}")),
            ConfigMap.class,
            FULLNAME + "-policy");
    assertEquals("agents: {}", own.getData().get("policy.yaml").strip());
  }

  private static void assertGatewayAccepts(ConfigMap config, Path directory)
      throws IOException, InterruptedException {
    Path policy =
        Files.writeString(directory.resolve("policy.yaml"), config.getData().get("policy.yaml"));
    Path jar =
        Chart.ROOT
            .resolve("worka-gateway")
            .resolve(System.getProperty("worka.target", "target"))
            .resolve("worka-gateway.jar");
    assertTrue(
        Files.isRegularFile(jar),
        jar + " is missing: package the modules first (bin/test runs verify)");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (Runtime.version().feature() >= 23) {
      command.add("--sun-misc-unsafe-memory-access=allow");
    }
    command.addAll(List.of("-jar", jar.toString(), "policy", "check", policy.toString()));
    Process check = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output =
        new String(check.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, check.waitFor(), output);
    assertTrue(output.contains("is valid"), output);
  }

  private static Map<Object, Object> withoutLaunch(Map<?, ?> policy) {
    Map<Object, Object> copy = new LinkedHashMap<>(policy);
    Map<Object, Object> agents = new LinkedHashMap<>();
    ((Map<?, ?>) policy.get("agents"))
        .forEach(
            (name, agent) -> {
              Map<Object, Object> rest = new LinkedHashMap<>((Map<?, ?>) agent);
              rest.keySet().removeAll(Set.of("runtime", "command", "image"));
              agents.put(name, rest);
            });
    copy.put("agents", agents);
    return copy;
  }

  @Test
  void helmLintFindsNothingWithTheCredentialsByReference(@TempDir Path copy) throws IOException {
    copyChart(copy);
    Path values = copy.resolve("values.yaml");
    Files.writeString(
        values,
        Files.readString(values).replace("existingSecret: \"\"", "existingSecret: \"given\""));
    LintResult lint = new Helm(copy).lint().strict().call();
    assertFalse(lint.isFailed(), lint.getMessages().toString());
  }

  /**
   * NOTES.txt is rendered only by a real install, which needs a cluster: a copy of the chart
   * renders it into a ConfigMap instead.
   */
  @Test
  void theNotesSayHowToReachTheGatewayAndThatSideEffectsAreDryRun(@TempDir Path copy)
      throws IOException {
    copyChart(copy);
    Files.copy(copy.resolve("templates/NOTES.txt"), copy.resolve("files/notes.txt"));
    Files.writeString(
        copy.resolve("templates/notes-check.yaml"),
        """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: notes
        data:
          notes: {{ tpl (.Files.Get "files/notes.txt") . | quote }}
        """);
    TemplateCommand template =
        new Helm(copy)
            .template()
            .withName(Chart.RELEASE)
            .withNamespace(NAMESPACE)
            .withKubeVersion(Chart.KUBERNETES_VERSION);
    BY_REFERENCE.forEach(template::set);
    String notes =
        one(Chart.parse(template.call()), ConfigMap.class, "notes").getData().get("notes");
    assertTrue(notes.contains("kubectl -n agents port-forward svc/prod-worka 8080:8080"), notes);
    assertTrue(notes.contains("Side effects: dry-run (gated and recorded, never sent"), notes);
    assertTrue(notes.contains("as a Job from worka-agents:0.1.0"), notes);
  }

  private static void copyChart(Path copy) throws IOException {
    try (Stream<Path> files = Files.walk(Chart.DIRECTORY)) {
      for (Path file : files.toList()) {
        Path target = copy.resolve(Chart.DIRECTORY.relativize(file).toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(target);
        } else {
          Files.copy(file, target);
        }
      }
    }
  }

  private static Map<String, String> with(Map<String, String> base, String... pairs) {
    Map<String, String> values = new LinkedHashMap<>(base);
    for (int i = 0; i < pairs.length; i += 2) {
      values.put(pairs[i], pairs[i + 1]);
    }
    return values;
  }

  private static Map<String, EnvVar> env(Deployment deployment) {
    Map<String, EnvVar> env = new LinkedHashMap<>();
    for (EnvVar variable :
        deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv()) {
      assertNull(env.put(variable.getName(), variable), "twice: " + variable.getName());
    }
    return env;
  }

  private static Map<String, String> podLabels(Deployment deployment) {
    return deployment.getSpec().getTemplate().getMetadata().getLabels();
  }

  private static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    return !selector.isEmpty() && labels.entrySet().containsAll(selector.entrySet());
  }

  private static int containerPort(Deployment deployment, String name) {
    return deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getPorts().stream()
        .filter(p -> name.equals(p.getName()))
        .findFirst()
        .orElseThrow()
        .getContainerPort();
  }

  private static List<String> ports(List<NetworkPolicyPort> ports) {
    return ports.stream().map(p -> p.getProtocol() + " " + p.getPort().getIntVal()).toList();
  }
}
