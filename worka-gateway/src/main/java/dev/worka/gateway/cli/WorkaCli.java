package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.Gateway;
import dev.worka.gateway.config.GatewaySettings;
import dev.worka.gateway.config.WorkaConfig;
import dev.worka.gateway.error.WorkaException;
import dev.worka.gateway.policy.Compilation;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.PolicyCompiler;
import dev.worka.gateway.policy.PolicyDiff;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.store.Database;
import dev.worka.gateway.store.EmbeddedDatabase;
import dev.worka.protocol.Json;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code worka} command. */
@Command(
    name = "worka",
    mixinStandardHelpOptions = true,
    version = "worka 0.1.0",
    description = "Worka: a security-first control plane for AI agents.",
    subcommands = {
      WorkaCli.Serve.class,
      WorkaCli.Migrate.class,
      WorkaCli.RunCommand.class,
      WorkaCli.Runs.class,
      WorkaCli.Gates.class,
      WorkaCli.Policy.class,
      WorkaCli.Audit.class,
      WorkaCli.Invocations.class,
      MemoryCommand.class,
      EvalCommand.class,
      ApprovalsCommand.class,
      CommandLine.HelpCommand.class
    })
public final class WorkaCli implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(execute(System.getenv(), args));
  }

  /** Runs the CLI with this environment; returns the exit status. */
  public static int execute(Map<String, String> env, String... args) {
    // UTF-8, as the default charset has been since JDK 18 (JEP 400): what the CLI has always
    // written.
    return execute(
        env,
        new PrintWriter(System.out, true, StandardCharsets.UTF_8),
        new PrintWriter(System.err, true, StandardCharsets.UTF_8),
        args);
  }

  /**
   * Runs the CLI with this environment and these streams; returns the exit status. Everything it
   * prints is escaped on the way out ({@link TerminalText}): run text, reasons and outputs come
   * from outside and may hold terminal control sequences.
   */
  public static int execute(
      Map<String, String> env, PrintWriter out, PrintWriter err, String... args) {
    CommandLine cli = new CommandLine(new WorkaCli(), new EnvFactory(env));
    cli.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
    cli.setOut(new PrintWriter(new TerminalText.Escaping(out), true));
    cli.setErr(new PrintWriter(new TerminalText.Escaping(err), true));
    cli.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          if (e instanceof WorkaException) {
            cmd.getErr().println("worka: " + e.getMessage());
            return 2;
          }
          throw e;
        });
    return cli.execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Gives commands the environment they run in (tests pass their own). */
  record EnvFactory(Map<String, String> env) implements CommandLine.IFactory {
    @Override
    public <K> K create(Class<K> cls) throws Exception {
      K instance = CommandLine.defaultFactory().create(cls);
      if (instance instanceof NeedsEnv n) {
        n.env(env);
      }
      return instance;
    }
  }

  interface NeedsEnv {
    void env(Map<String, String> env);
  }

  abstract static class EnvCommand implements NeedsEnv, Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    Map<String, String> env = Map.of();

    @Override
    public void env(Map<String, String> env) {
      this.env = env;
    }

    PrintWriter out() {
      return spec.commandLine().getOut();
    }

    PrintWriter err() {
      return spec.commandLine().getErr();
    }
  }

  @Command(
      name = "serve",
      description = "Run the Gateway (embedded PostgreSQL unless WORKA_DATABASE_URL is set).")
  static final class Serve extends EnvCommand {
    @Override
    public Integer call() throws Exception {
      // Every setting at once: a start with several mistakes lists them all.
      GatewaySettings settings = GatewaySettings.fromEnvironment(env);
      WorkaConfig config = settings.config();
      Gateway gateway = Gateway.start(settings, InstantSource.system());
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    gateway.close();
                    stopped.countDown();
                  },
                  "worka-shutdown"));
      out()
          .printf(
              "Worka is running at http://%s:%d (policy v%d, side effects: %s)%n",
              config.bindAddress(),
              gateway.port(),
              gateway.policy().version(),
              config.sideEffects());
      out()
          .printf(
              "Operator token: %s%n",
              config.operatorToken().isPresent()
                  ? "from WORKA_OPERATOR_TOKEN"
                  : config.home().resolve("operator-token").toString());
      out()
          .println(
              "Try, in another terminal:  bin/worka run \"open an issue in acme/widgets titled 'Login test is flaky'\"");
      out().println("Stop with Ctrl-C.");
      out().flush();
      stopped.await();
      return 0;
    }
  }

  @Command(name = "migrate", description = "Apply the database migrations and exit.")
  static final class Migrate extends EnvCommand {
    @Override
    public Integer call() {
      WorkaConfig config = WorkaConfig.fromEnvironment(env);
      EmbeddedDatabase embedded =
          config.database().isPresent()
              ? null
              : EmbeddedDatabase.start(config.home().resolve("postgres"));
      try (Database db =
          Database.connect(
              config.database().orElseGet(() -> embedded.url("postgres")), 2, "worka-migrate")) {
        int applied = db.migrate();
        out()
            .println(
                applied == 0 ? "the schema is up to date" : "applied " + applied + " migration(s)");
        return 0;
      } finally {
        if (embedded != null) {
          embedded.close();
        }
      }
    }
  }

  @Command(
      name = "run",
      description =
          "Submit a request, follow it live, print the result. Exits 0 only if the run succeeded.")
  static final class RunCommand extends EnvCommand {
    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "The request, in words.")
    List<String> words;

    @Option(names = "--requester", description = "Who is asking (default: $USER).")
    String requester;

    @Option(
        names = "--idempotency-key",
        description = "Submitting again with the same key returns the same run.")
    String key;

    @Option(names = "--detach", description = "Print the run id and return without waiting.")
    boolean detach;

    @Override
    public Integer call() {
      GatewayClient client = GatewayClient.fromEnvironment(env);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("text", String.join(" ", words));
      body.put("requester", requester != null ? requester : env.getOrDefault("USER", "cli"));
      body.put("source", RunSource.CLI.sql());
      GatewayClient.Answer created =
          client.post("/v1/runs", body, key == null ? Map.of() : Map.of("Idempotency-Key", key));
      if (!created.ok()) {
        err().println("worka: the Gateway refused the request: " + created.error());
        if (created.body().hasNonNull("gate_id")) {
          // 403 ingress_denied, 429 quota_exceeded: no run; the refusal is a gate.
          err()
              .println(
                  "worka: no run was started; the refusal is recorded as gate "
                      + Story.clip(created.body().path("gate_id").asText(), 60)
                      + (created.body().hasNonNull("reason")
                          ? ": " + Story.clip(created.body().path("reason").asText(), 500)
                          : "")
                      + " (worka gates lists refusals)");
        }
        return 2;
      }
      String runId = created.body().path("run_id").asText();
      out().println("run " + runId + "  (trace " + created.body().path("trace_id").asText() + ")");
      out().flush();
      if (detach) {
        return 0;
      }
      client.stream(
          "/v1/runs/" + runId + "/events",
          (event, data) -> {
            if (event.equals("transition")) {
              out().println(Story.transition(data));
              out().flush();
            }
          });
      GatewayClient.Answer story = client.get("/v1/runs/" + runId);
      if (!story.ok()) {
        err().println("worka: could not read the run: " + story.error());
        return 2;
      }
      JsonNode run = story.body();
      String status = run.path("status").asText();
      out().println();
      if (status.equals("succeeded")) {
        out()
            .println(
                "succeeded: "
                    + TerminalText.oneLine(run.path("result").path("summary").asText("")));
        JsonNode output = run.path("result").path("output");
        if (!output.isMissingNode() && !output.isNull()) {
          out().println("output: " + Story.compact(output));
        }
      } else {
        out()
            .println(
                status
                    + ": "
                    + TerminalText.oneLine(run.path("error").asText("(no reason recorded)")));
        for (JsonNode gate : run.path("gates")) {
          if (gate.path("status").asText().equals("deny")) {
            out()
                .println(
                    "  denied by gate "
                        + gate.path("gate_id").asText()
                        + ": "
                        + TerminalText.oneLine(gate.path("reason").asText()));
          }
        }
      }
      out().println("run id: " + runId + "   (the whole story: bin/worka runs show " + runId + ")");
      return status.equals("succeeded") ? 0 : 1;
    }
  }

  @Command(
      name = "runs",
      description = "List runs or show one.",
      subcommands = {Runs.ListRuns.class, Runs.Show.class})
  static final class Runs implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "list", description = "Newest runs first.")
    static final class ListRuns extends EnvCommand {
      @Option(names = "--status", description = "Only runs in this status.")
      String status;

      @Option(
          names = "--limit",
          defaultValue = "20",
          description = "How many (default ${DEFAULT-VALUE}).")
      int limit;

      @Override
      public Integer call() {
        GatewayClient client = GatewayClient.fromEnvironment(env);
        GatewayClient.Answer answer =
            client.get("/v1/runs?limit=" + limit + (status == null ? "" : "&status=" + status));
        if (!answer.ok()) {
          err().println("worka: " + answer.error());
          return 2;
        }
        if (answer.body().path("runs").isEmpty()) {
          out().println("no runs yet");
        }
        for (JsonNode r : answer.body().path("runs")) {
          out()
              .printf(
                  "%s  %-10s  %-6s  %s  %s%n",
                  r.path("run_id").asText(),
                  r.path("status").asText(),
                  r.path("source").asText(),
                  r.path("created_at").asText(),
                  Story.clip(TerminalText.oneLine(r.path("text").asText()), 70));
        }
        return 0;
      }
    }

    @Command(
        name = "show",
        description = "The whole story of a run: plan, steps, gates, burns, skill calls, events.")
    static final class Show extends EnvCommand {
      @Parameters(paramLabel = "RUN_ID")
      String runId;

      @Option(names = "--json", description = "Print the raw JSON of GET /v1/runs/{id}.")
      boolean json;

      @Override
      public Integer call() throws Exception {
        GatewayClient client = GatewayClient.fromEnvironment(env);
        GatewayClient.Answer answer = client.get("/v1/runs/" + runId);
        if (!answer.ok()) {
          err().println("worka: " + answer.error());
          return answer.status() == 404 ? 1 : 2;
        }
        if (json) {
          out()
              .println(
                  Json.STRICT.writerWithDefaultPrettyPrinter().writeValueAsString(answer.body()));
        } else {
          Story.print(answer.body(), out());
        }
        return 0;
      }
    }
  }

  @Command(
      name = "gates",
      description =
          "Decisions newest first (GET /v1/gates); by default the refused requests"
              + " to start a run (run.create denials), which have no run to show them.")
  static final class Gates extends EnvCommand {
    @Option(
        names = "--action",
        defaultValue = "run.create",
        description = "Only this action (default ${DEFAULT-VALUE};" + " 'any' for all).")
    String action;

    @Option(
        names = "--status",
        defaultValue = "deny",
        description = "allow, deny or any (default ${DEFAULT-VALUE}).")
    String status;

    @Option(
        names = "--subject",
        description = "Only this subject, e.g. slack:U0123ABCD or github:octocat.")
    String subject;

    @Option(
        names = "--limit",
        defaultValue = "20",
        description = "How many (default ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
      GatewayClient client = GatewayClient.fromEnvironment(env);
      StringBuilder query = new StringBuilder("/v1/gates?limit=" + limit);
      if (!action.equals("any")) {
        query
            .append("&action=")
            .append(java.net.URLEncoder.encode(action, java.nio.charset.StandardCharsets.UTF_8));
      }
      if (!status.equals("any")) {
        query
            .append("&status=")
            .append(java.net.URLEncoder.encode(status, java.nio.charset.StandardCharsets.UTF_8));
      }
      if (subject != null) {
        query
            .append("&subject=")
            .append(java.net.URLEncoder.encode(subject, java.nio.charset.StandardCharsets.UTF_8));
      }
      GatewayClient.Answer answer = client.get(query.toString());
      if (!answer.ok()) {
        err().println("worka: " + answer.error());
        return 2;
      }
      if (answer.body().path("gates").isEmpty()) {
        out().println("no such gates");
      }
      for (JsonNode g : answer.body().path("gates")) {
        out()
            .printf(
                "%s  %s  %-5s  %-12s  %s  %s%n",
                g.path("at").asText(),
                g.path("gate_id").asText(),
                g.path("status").asText(),
                g.path("action").asText(),
                Story.clip(g.path("subject").asText(), 60),
                Story.clip(g.path("reason").asText(), 200));
      }
      return 0;
    }
  }

  @Command(
      name = "invocations",
      description = "Skill calls.",
      subcommands = {Invocations.Resolve.class})
  static final class Invocations implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
        name = "resolve",
        description =
            "Settle a skill call whose outcome is unknown (the Gateway could not"
                + " reconcile it), after looking upstream: performed (a retry with its key replays your statement) or"
                + " not-performed (it is refused; the agent must call again with a new key). Recorded as a gate.")
    static final class Resolve extends EnvCommand {
      @Parameters(
          index = "0",
          paramLabel = "INVOCATION_ID",
          description = "its invocation_id (worka runs show RUN_ID)")
      String invocationId;

      @Parameters(index = "1", paramLabel = "OUTCOME", description = "performed | not-performed")
      String outcome;

      @Option(
          names = "--reason",
          required = true,
          description = "what you found upstream (recorded in the gate)")
      String reason;

      @Option(
          names = "--upstream-ref",
          description = "where the effect is upstream (performed only), e.g. an issue URL")
      String upstreamRef;

      @Override
      public Integer call() {
        String wire =
            switch (outcome) {
              case "performed" -> "performed";
              case "not-performed", "not_performed" -> "not_performed";
              default -> null;
            };
        if (wire == null) {
          err().println("worka: OUTCOME must be performed or not-performed, not " + outcome);
          return 2;
        }
        Map<String, String> body = new java.util.LinkedHashMap<>();
        body.put("outcome", wire);
        body.put("reason", reason);
        if (upstreamRef != null) {
          body.put("upstream_ref", upstreamRef);
        }
        GatewayClient.Answer answer =
            GatewayClient.fromEnvironment(env)
                .post("/v1/invocations/" + invocationId + "/resolve", body, Map.of());
        if (!answer.ok()) {
          err().println("worka: " + answer.error());
          return answer.status() == 404 || answer.status() == 409 ? 1 : 2;
        }
        out()
            .printf(
                "invocation %s is now %s (gate %s)%n",
                answer.body().path("invocation_id").asText(),
                answer.body().path("status").asText(),
                answer.body().path("gate_id").asText());
        return 0;
      }
    }
  }

  @Command(
      name = "audit",
      description = "Check the audit trail.",
      subcommands = {Audit.Verify.class})
  static final class Audit implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
        name = "verify",
        description =
            "Walk the gates' hash chain; name the first row edited, removed or"
                + " inserted out of order. Exit 1 if the chain is broken.")
    static final class Verify extends EnvCommand {
      @Override
      public Integer call() {
        GatewayClient.Answer answer = GatewayClient.fromEnvironment(env).get("/v1/audit/verify");
        if (!answer.ok()) {
          err().println("worka: " + answer.error());
          return 2;
        }
        JsonNode v = answer.body();
        if (v.path("intact").asBoolean()) {
          out()
              .printf(
                  "the audit chain is intact: %d gate(s), head %s%n",
                  v.path("gates").asLong(), v.path("head_hash").asText());
          return 0;
        }
        out()
            .println(
                "the audit chain is BROKEN at gate #"
                    + v.path("chain_index").asLong()
                    + ": "
                    + v.path("problem").asText());
        return 1;
      }
    }
  }

  @Command(
      name = "policy",
      description = "Work with policy manifests.",
      subcommands = {
        Policy.Check.class,
        Policy.Diff.class,
        Policy.Apply.class,
        PolicyReplayCommand.class
      })
  static final class Policy implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** A command on a manifest FILE: refuses an unreadable file (exit 2) before doing anything. */
    abstract static class ManifestCommand extends EnvCommand {
      @Parameters(paramLabel = "FILE")
      Path file;

      @Override
      public final Integer call() throws Exception {
        if (!Files.isReadable(file)) {
          err().println("worka: cannot read " + file);
          return 2;
        }
        return onReadable();
      }

      abstract Integer onReadable() throws Exception;
    }

    /**
     * Reads and compiles a manifest file against this Gateway's skills; null (with the errors
     * printed) if invalid.
     */
    static CompiledPolicy compileFile(Path file, Map<String, String> env, PrintWriter out)
        throws java.io.IOException {
      SkillRegistry skills =
          new SkillRegistry(CatalogOnlyProvider.builtIn(env), SideEffectMode.DRY_RUN);
      return switch (PolicyCompiler.compile(Files.readString(file), skills.policyFields())) {
        case Compilation.Compiled c -> c.policy();
        case Compilation.Invalid invalid -> {
          out.println(file + " is invalid:");
          invalid.errors().forEach(e -> out.println("  - " + e));
          yield null;
        }
      };
    }

    @Command(
        name = "diff",
        description =
            "What applying FILE would change: what each agent gains and loses,"
                + " conditions, lists and limits, against the Gateway's active policy. Exit 1 if FILE is invalid.")
    static final class Diff extends ManifestCommand {
      @Override
      Integer onReadable() throws Exception {
        CompiledPolicy proposed = compileFile(file, env, out());
        if (proposed == null) {
          return 1;
        }
        GatewayClient.Answer active = GatewayClient.fromEnvironment(env).get("/v1/policy");
        if (!active.ok()) {
          err().println("worka: " + active.error());
          return 2;
        }
        CompiledPolicy current =
            switch (PolicyCompiler.compile(active.body().path("source").asText())) {
              case Compilation.Compiled c -> c.policy();
              case Compilation.Invalid i ->
                  throw new WorkaException(
                      "the active policy does not compile here: " + i.errors());
            };
        List<String> lines = PolicyDiff.between(current, proposed);
        out()
            .println(
                "policy v" + active.body().path("version").asInt() + " (active) → " + file + ":");
        if (lines.isEmpty()) {
          out().println("  no changes");
        }
        lines.forEach(l -> out().println("  " + l));
        return 0;
      }
    }

    @Command(
        name = "apply",
        description =
            "Upload FILE as a new immutable policy version (PUT /v1/policy)."
                + " New runs use it; running ones keep theirs. Its agents may use only launch specs the host allows"
                + " (those of the built-in manifest and WORKA_POLICY_FILE, and under WORKA_ALLOWED_LAUNCH). Exit 1 if"
                + " FILE is invalid or refused.")
    static final class Apply extends ManifestCommand {
      @Override
      Integer onReadable() throws Exception {
        GatewayClient.Answer answer =
            GatewayClient.fromEnvironment(env).put("/v1/policy", Files.readString(file));
        if (answer.status() == 422
            || (answer.status() == 403
                && answer
                    .body()
                    .path("error")
                    .asText()
                    .equals(dev.worka.protocol.ErrorCodes.LAUNCH_NOT_ALLOWED))) {
          out().println(file + " was refused:");
          answer
              .body()
              .path("violations")
              .forEach(v -> out().println("  - " + TerminalText.oneLine(v.asText())));
          if (answer.status() == 403) {
            out().println("  " + TerminalText.oneLine(answer.body().path("message").asText()));
            out()
                .println(
                    "  (denied by gate "
                        + answer.body().path("gate_id").asText()
                        + "; the active policy is unchanged)");
          }
          return 1;
        }
        if (!answer.ok()) {
          err().println("worka: " + answer.error());
          return 2;
        }
        out()
            .println(
                answer.body().path("changed").asBoolean()
                    ? "policy v"
                        + answer.body().path("version").asInt()
                        + " is now active (sha256 "
                        + answer.body().path("sha256").asText().substring(0, 12)
                        + ")"
                    : "no change: "
                        + file
                        + " is already the active policy (v"
                        + answer.body().path("version").asInt()
                        + ")");
        return 0;
      }
    }

    @Command(
        name = "check",
        description = "Validate and compile a manifest without applying it. Exit 1 if invalid.")
    static final class Check extends ManifestCommand {
      @Override
      Integer onReadable() throws Exception {
        CompiledPolicy policy = compileFile(file, env, out());
        if (policy == null) {
          return 1;
        }
        out().println(file + " is valid.");
        policy
            .agents()
            .values()
            .forEach(
                a ->
                    out()
                        .printf(
                            "  agent %-10s %-8s %-8s permissions %s, skills %s%n",
                            a.name(),
                            a.role().wireName(),
                            a.runtime().kind().wireName(),
                            a.permissions(),
                            a.skills()));
        policy
            .skills()
            .values()
            .forEach(
                k ->
                    k.when()
                        .ifPresent(
                            w ->
                                out().printf("  skill %-26s when %s%n", k.name(), w.expression())));
        out().println("  limits " + policy.limits());
        return 0;
      }
    }
  }
}
