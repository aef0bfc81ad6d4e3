package dev.worka.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.runtime.process.SandboxHere;
import dev.worka.gateway.store.DatabaseUrl;
import dev.worka.protocol.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A real Gateway for a test: its own WORKA_HOME, a database (the test's, or embedded under the
 * home), a policy file, and the built-in agents run as real child processes from the test classpath
 * ({@code java -cp <worka-agents + deps> dev.worka.agents.AgentMain NAME}).
 */
public final class TestGateway implements AutoCloseable {
  public static final String OPERATOR_TOKEN = "test-operator-token-0123456789";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  public final Path home;
  public final Gateway gateway;
  public final String baseUrl;

  private TestGateway(Path home, Gateway gateway) {
    this.home = home;
    this.gateway = gateway;
    this.baseUrl = "http://127.0.0.1:" + gateway.port();
  }

  /**
   * Starts a Gateway on {@code database} (null = embedded under {@code home}) with {@code
   * policyYaml} as its WORKA_POLICY_FILE (null = no file: the built-in manifest).
   */
  public static TestGateway start(Path home, DatabaseUrl database, String policyYaml)
      throws IOException {
    return start(home, database, policyYaml, "dry-run");
  }

  /**
   * As {@link #start(Path, DatabaseUrl, String)}, with {@code WORKA_SIDE_EFFECTS} = {@code
   * sideEffects}.
   */
  public static TestGateway start(
      Path home, DatabaseUrl database, String policyYaml, String sideEffects) throws IOException {
    return start(
        home, database, policyYaml, sideEffects, InstantSource.system(), new java.util.Random());
  }

  /**
   * As {@link #start(Path, DatabaseUrl, String, String)}, on {@code clock} (a {@link SettableClock}
   * lets a test move time) with retry jitter drawn from {@code random}.
   */
  public static TestGateway start(
      Path home,
      DatabaseUrl database,
      String policyYaml,
      String sideEffects,
      InstantSource clock,
      java.util.random.RandomGenerator random)
      throws IOException {
    return new TestGateway(
        home,
        Gateway.start(
            config(home, database, policyYaml, sideEffects), SandboxHere.orOff(), clock, random));
  }

  /**
   * As {@link #start(Path, DatabaseUrl, String)} on {@code clock}, its task loops driven by hand
   * (its dispatcher's tick).
   */
  public static TestGateway startWithoutLoops(
      Path home, DatabaseUrl database, String policyYaml, InstantSource clock) throws IOException {
    return new TestGateway(
        home,
        Gateway.startWithoutLoops(
            config(home, database, policyYaml, "dry-run"), SandboxHere.orOff(), clock));
  }

  private static WorkaConfig config(
      Path home, DatabaseUrl database, String policyYaml, String sideEffects) throws IOException {
    Files.createDirectories(home);
    Optional<Path> policy = Optional.empty();
    if (policyYaml != null) {
      policy = Optional.of(home.resolve("policy.yaml"));
      Files.writeString(policy.get(), policyYaml);
    }
    WorkaConfig config =
        new WorkaConfig(
            home,
            Optional.ofNullable(database),
            0,
            "127.0.0.1",
            policy,
            Optional.of(OPERATOR_TOKEN),
            "scripted",
            sideEffects,
            Path.of("..").toAbsolutePath().normalize(),
            Optional.empty(),
            4,
            Duration.ofSeconds(10),
            List.of());
    return config;
  }

  /** Starts a Gateway on {@code config} as it is (its home must exist). */
  public static TestGateway start(WorkaConfig config) {
    return new TestGateway(
        config.home(), Gateway.start(config, SandboxHere.orOff(), InstantSource.system()));
  }

  /**
   * Starts a Gateway configured the way {@code worka} configures one: {@link
   * WorkaConfig#fromEnvironment} over the settings of {@link #start(Path, DatabaseUrl, String,
   * String)} plus {@code environment} (e.g. {@code GITHUB_MCP_URL}, {@code GITHUB_TOKEN}), which
   * the Gateway also receives as its environment; so its secrets are redacted as in production.
   */
  public static TestGateway startWithEnvironment(
      Path home,
      DatabaseUrl database,
      String policyYaml,
      String sideEffects,
      Map<String, String> environment)
      throws IOException {
    Map<String, String> env = environment(home, database, policyYaml, sideEffects, environment);
    return new TestGateway(
        home, Gateway.start(WorkaConfig.fromEnvironment(env), env, InstantSource.system()));
  }

  /**
   * As {@link #startWithEnvironment}, on a host "without bubblewrap" (the Gateway looks for {@code
   * bwrap} only where there is none) and with {@code installDir} as {@code WORKA_INSTALL_DIR}
   * (where the built-in manifest's {@code bin/worka-agent} is).
   */
  public static TestGateway startWithoutBubblewrap(
      Path home,
      DatabaseUrl database,
      String policyYaml,
      String sideEffects,
      Map<String, String> environment,
      Path installDir)
      throws IOException {
    Map<String, String> env = environment(home, database, policyYaml, sideEffects, environment);
    env.put("WORKA_INSTALL_DIR", installDir.toString());
    if (!environment.containsKey("WORKA_SANDBOX")) {
      env.remove("WORKA_SANDBOX"); // unset, whatever this host has
    }
    return new TestGateway(
        home,
        Gateway.startLookingForBubblewrapAt(
            dev.worka.gateway.config.GatewaySettings.fromEnvironment(env),
            InstantSource.system(),
            List.of(home.resolve("no-bwrap-here"))));
  }

  /**
   * As {@link #startWithEnvironment} (dry-run), on {@code clock}, its task loops driven by hand:
   * runs stay where their creation left them, so a test sees exactly what the ingress decided.
   */
  public static TestGateway startWithEnvironmentWithoutLoops(
      Path home,
      DatabaseUrl database,
      String policyYaml,
      Map<String, String> environment,
      InstantSource clock)
      throws IOException {
    Map<String, String> env = environment(home, database, policyYaml, "dry-run", environment);
    return new TestGateway(
        home, Gateway.startWithoutLoops(WorkaConfig.fromEnvironment(env), env, clock));
  }

  private static Map<String, String> environment(
      Path home,
      DatabaseUrl database,
      String policyYaml,
      String sideEffects,
      Map<String, String> environment)
      throws IOException {
    Files.createDirectories(home);
    Map<String, String> env = new java.util.HashMap<>(SandboxHere.orOff());
    env.putAll(environment);
    env.put("WORKA_HOME", home.toString());
    env.put("WORKA_HTTP_PORT", "0");
    env.put("WORKA_BIND_ADDRESS", "127.0.0.1");
    env.put("WORKA_OPERATOR_TOKEN", OPERATOR_TOKEN);
    env.put("WORKA_SIDE_EFFECTS", sideEffects);
    env.put("WORKA_INSTALL_DIR", Path.of("..").toAbsolutePath().normalize().toString());
    env.put("WORKA_LEASE_SECONDS", "10");
    if (database != null) {
      env.put("WORKA_DATABASE_URL", database.jdbcUrl());
      env.put("WORKA_DATABASE_USER", database.user());
      env.put("WORKA_DATABASE_PASSWORD", database.password());
    }
    if (policyYaml != null) {
      Path policy = home.resolve("policy.yaml");
      Files.writeString(policy, policyYaml);
      env.put("WORKA_POLICY_FILE", policy.toString());
    }
    return env;
  }

  /**
   * The built-in policy with each {@code bin/worka-agent NAME} command replaced by the test
   * classpath's agent.
   */
  public static String builtinPolicyForTests() {
    return policyWith(Map.of(), null);
  }

  /**
   * The built-in policy for tests, with some agents' commands replaced by {@code commands} (agent
   * name → argv) and, if non-null, another {@code step_timeout}.
   */
  public static String policyWith(Map<String, List<String>> commands, String stepTimeout) {
    Matcher m = Pattern.compile("\\[bin/worka-agent, ([a-z]+)\\]").matcher(BuiltinPolicy.source());
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String agent = m.group(1);
      String argv =
          commands.containsKey(agent) ? yamlList(commands.get(agent)) : agentCommand(agent);
      m.appendReplacement(out, Matcher.quoteReplacement(argv));
    }
    m.appendTail(out);
    String policy = out.toString();
    if (stepTimeout != null) {
      policy = policy.replaceAll("step_timeout: *[0-9a-z]+", "step_timeout: " + stepTimeout);
    }
    return policy;
  }

  /**
   * {@code policy} with {@code limits.<name>} set to {@code value}: replaced where the manifest
   * states it, added to its {@code limits:} otherwise.
   */
  public static String withLimit(String policy, String name, String value) {
    Matcher stated =
        Pattern.compile("(?m)^([ \\t]+)" + Pattern.quote(name) + ": *[^\\s#]+").matcher(policy);
    if (stated.find()) {
      return stated.replaceFirst(Matcher.quoteReplacement(stated.group(1) + name + ": " + value));
    }
    if (!policy.contains("\nlimits:\n")) {
      throw new IllegalArgumentException("the policy has no block-style limits: section");
    }
    return policy.replace("\nlimits:\n", "\nlimits:\n  " + name + ": " + value + "\n");
  }

  /**
   * The official Anthropic SDK and what it runs on (Kotlin, OkHttp, OpenTelemetry's API, …), and
   * the OpenTelemetry SDK their spans are exported with: the built-in agents' dependencies besides
   * Jackson. The Gateway's own libraries stay off the workers' classpath.
   */
  private static final Pattern AGENT_SDK_JARS =
      Pattern.compile(
          "/(com/anthropic|org/jetbrains|com/squareup"
              + "|io/opentelemetry/opentelemetry-(api|context|common|sdk-common|sdk-trace|sdk-metrics"
              + "|sdk-logs|exporter-common|exporter-otlp|exporter-otlp-common|exporter-sender-jdk)"
              + "|com/github/victools|com/fasterxml/classmate|io/swagger|com/standardwebhooks"
              + "|com/google/errorprone|org/slf4j/slf4j-api)/");

  /** A flow-style YAML argv running a built-in agent from the test classpath. */
  public static String agentCommand(String agent) {
    return yamlList(agentArgv(agent));
  }

  /**
   * The argv running a built-in agent from the test classpath: its and the protocol's classes, and
   * their libraries — from {@code worka-agents/target/lib} when the build made it (as {@code
   * lib/*}: a manifest caps each argument at 4,096 characters, which the jars one by one exceed),
   * else picked from the test classpath one by one.
   */
  public static List<String> agentArgv(String agent) {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path lib = Path.of("..", "worka-agents", "target", "lib").toAbsolutePath().normalize();
    boolean packaged = Files.isDirectory(lib);
    List<String> entries =
        new ArrayList<>(
            Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(
                    e ->
                        e.contains("worka-agents")
                            || e.contains("worka-protocol")
                            || (!packaged
                                && (e.contains("jackson")
                                    || AGENT_SDK_JARS.matcher(e.replace('\\', '/')).find())))
                .toList());
    if (packaged) {
      entries.add(lib.resolve("*").toString());
    }
    String classpath = String.join(java.io.File.pathSeparator, entries);
    return List.of(
        javaBin,
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-cp",
        classpath,
        "dev.worka.agents.AgentMain",
        agent);
  }

  public static String yamlList(List<String> items) {
    return items.stream()
        .map(s -> "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"")
        .collect(Collectors.joining(", ", "[", "]"));
  }

  /** An HTTP answer. */
  public record Answer(int status, JsonNode body, HttpResponse<String> raw) {}

  public Answer call(String method, String path, String body, Map<String, String> headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(60));
    headers.forEach(b::header);
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    try {
      HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode node =
          r.body().isEmpty()
              ? Json.LENIENT.createObjectNode()
              : r.headers().firstValue("content-type").orElse("").startsWith("application/json")
                  ? Json.LENIENT.readTree(r.body())
                  : Json.LENIENT.createObjectNode();
      return new Answer(r.statusCode(), node, r);
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("HTTP " + method + " " + path + " failed", e);
    }
  }

  public Answer operator(String method, String path, String body) {
    return call(
        method,
        path,
        body,
        body == null
            ? Map.of("Authorization", "Bearer " + OPERATOR_TOKEN)
            : Map.of(
                "Authorization", "Bearer " + OPERATOR_TOKEN, "Content-Type", "application/json"));
  }

  /** Creates a run and returns its id. */
  public String submit(String text) {
    Answer a =
        operator("POST", "/v1/runs", Json.LENIENT.createObjectNode().put("text", text).toString());
    if (a.status() != 202) {
      throw new AssertionError("run not accepted: " + a.status() + " " + a.raw().body());
    }
    return a.body().path("run_id").asText();
  }

  /** Follows the run's event stream until it ends; returns the transitions seen. */
  public List<JsonNode> follow(String runId) {
    return followUntil(runId, e -> false);
  }

  /** Follows the run's event stream until an event matches or the stream ends. */
  public List<JsonNode> followUntil(String runId, Predicate<JsonNode> stop) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(baseUrl + "/v1/runs/" + runId + "/events"))
            .header("Authorization", "Bearer " + OPERATOR_TOKEN)
            .timeout(Duration.ofMinutes(2))
            .GET()
            .build();
    List<JsonNode> events = new ArrayList<>();
    try {
      HttpResponse<java.io.InputStream> r =
          HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
      if (r.statusCode() != 200) {
        throw new AssertionError("event stream answered " + r.statusCode());
      }
      try (BufferedReader in =
          new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
        String event = null;
        for (String line; (line = in.readLine()) != null; ) {
          if (line.startsWith("event:")) {
            event = line.substring(6).trim();
          } else if (line.startsWith("data:")) {
            JsonNode data = Json.LENIENT.readTree(line.substring(5).trim());
            if ("end".equals(event)) {
              return events;
            }
            events.add(data);
            if (stop.test(data)) {
              return events;
            }
          }
        }
      }
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("following run " + runId + " failed", e);
    }
    return events;
  }

  /** Waits for the run to end and returns its story. */
  public JsonNode finish(String runId) {
    follow(runId);
    return story(runId);
  }

  public JsonNode story(String runId) {
    Answer a = operator("GET", "/v1/runs/" + runId, null);
    if (a.status() != 200) {
      throw new AssertionError("run " + runId + ": " + a.status() + " " + a.raw().body());
    }
    return a.body();
  }

  @Override
  public void close() {
    gateway.close();
  }
}
