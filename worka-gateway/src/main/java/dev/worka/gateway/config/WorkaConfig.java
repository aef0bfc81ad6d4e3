package dev.worka.gateway.config;

import dev.worka.gateway.store.DatabaseUrl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Gateway's configuration (DESIGN §9). Unset means the embedded default. Secrets (the operator
 * token, database password) are never printed by {@link #toString()}.
 *
 * @param home {@code WORKA_HOME}: keys, the embedded database, the generated operator token
 * @param database {@code WORKA_DATABASE_URL} (+ {@code _USER}/{@code _PASSWORD}); empty = embedded
 * @param httpPort {@code WORKA_HTTP_PORT}; 0 picks a free port (tests)
 * @param bindAddress {@code WORKA_BIND_ADDRESS}, default {@code 127.0.0.1}
 * @param policyFile {@code WORKA_POLICY_FILE}; empty = the built-in manifest
 * @param operatorToken {@code WORKA_OPERATOR_TOKEN}; empty = generated under {@code home}
 * @param model {@code WORKA_MODEL}: {@code scripted} (offline) or {@code anthropic} (then {@code
 *     ANTHROPIC_API_KEY}, optional {@code ANTHROPIC_BASE_URL}, {@code WORKA_ANTHROPIC_MODEL} and
 *     {@code WORKA_MODEL_CALLS_PER_STEP} are checked here too: {@link AnthropicSettings})
 * @param sideEffects {@code WORKA_SIDE_EFFECTS}: {@code dry-run} (default) or {@code live}
 * @param installDir where {@code bin/worka-agent} and the jars are ({@code WORKA_INSTALL_DIR}, set
 *     by {@code bin/worka}); relative agent commands resolve against it
 * @param gatewayUrl {@code WORKA_GATEWAY_URL} given to workers; empty = http://127.0.0.1:port
 * @param maxConcurrentSteps {@code WORKA_MAX_CONCURRENT_STEPS}: worker processes this Gateway runs
 *     at once (default 4)
 * @param leaseDuration {@code WORKA_LEASE_SECONDS}: how long a claimed task is this Gateway's
 *     without a heartbeat (default 30s)
 * @param secrets the values of {@link #SECRET_VARIABLES} that are set (and the database password):
 *     redacted from every output; never printed
 * @param applicationDatabase with an external database, {@code WORKA_DATABASE_APP_USER} (+ {@code
 *     _APP_PASSWORD}) on the same database: the role the Gateway runs as after migrating as the
 *     {@code WORKA_DATABASE_URL} user; empty = it runs as that user
 */
public record WorkaConfig(
    Path home,
    Optional<DatabaseUrl> database,
    int httpPort,
    String bindAddress,
    Optional<Path> policyFile,
    Optional<String> operatorToken,
    String model,
    String sideEffects,
    Path installDir,
    Optional<String> gatewayUrl,
    int maxConcurrentSteps,
    Duration leaseDuration,
    List<String> secrets,
    Optional<DatabaseUrl> applicationDatabase) {

  /** A configuration whose Gateway runs as the {@code database} user (no separate login). */
  public WorkaConfig(
      Path home,
      Optional<DatabaseUrl> database,
      int httpPort,
      String bindAddress,
      Optional<Path> policyFile,
      Optional<String> operatorToken,
      String model,
      String sideEffects,
      Path installDir,
      Optional<String> gatewayUrl,
      int maxConcurrentSteps,
      Duration leaseDuration,
      List<String> secrets) {
    this(
        home,
        database,
        httpPort,
        bindAddress,
        policyFile,
        operatorToken,
        model,
        sideEffects,
        installDir,
        gatewayUrl,
        maxConcurrentSteps,
        leaseDuration,
        secrets,
        Optional.empty());
  }

  /**
   * Environment variables whose values are credentials: redacted wherever they appear in outputs.
   */
  public static final List<String> SECRET_VARIABLES =
      List.of(
          "WORKA_OPERATOR_TOKEN",
          "WORKA_DATABASE_PASSWORD",
          "WORKA_DATABASE_APP_PASSWORD",
          "SLACK_BOT_TOKEN",
          "SLACK_SIGNING_SECRET",
          "SLACK_APP_TOKEN",
          "GITHUB_TOKEN",
          "GITHUB_WEBHOOK_SECRET",
          "ANTHROPIC_API_KEY",
          "MEM0_API_KEY",
          "LANGFUSE_SECRET_KEY");

  public WorkaConfig {
    secrets = secrets == null ? List.of() : List.copyOf(secrets);
    policyFile = policyFile == null ? Optional.empty() : policyFile;
    database = database == null ? Optional.empty() : database;
    applicationDatabase = applicationDatabase == null ? Optional.empty() : applicationDatabase;
    if (applicationDatabase.isPresent() && database.isEmpty()) {
      throw new IllegalArgumentException(
          "an application database login needs an external database");
    }
    operatorToken = operatorToken == null ? Optional.empty() : operatorToken;
    gatewayUrl = gatewayUrl == null ? Optional.empty() : gatewayUrl;
  }

  /** Reads and validates the configuration; lists every problem at once. */
  public static WorkaConfig fromEnvironment(Map<String, String> env) {
    List<String> problems = new ArrayList<>();
    Path home =
        Path.of(value(env, "WORKA_HOME").orElse(System.getProperty("user.home") + "/.worka"))
            .toAbsolutePath()
            .normalize();

    Optional<DatabaseUrl> database = Optional.empty();
    Optional<String> url = value(env, "WORKA_DATABASE_URL");
    if (url.isPresent()) {
      try {
        database =
            Optional.of(
                DatabaseUrl.parse(
                    url.get(), env.get("WORKA_DATABASE_USER"), env.get("WORKA_DATABASE_PASSWORD")));
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
      }
    }

    Optional<DatabaseUrl> applicationDatabase = Optional.empty();
    Optional<String> appUser = value(env, "WORKA_DATABASE_APP_USER");
    if (appUser.isPresent()) {
      Optional<String> appPassword = value(env, "WORKA_DATABASE_APP_PASSWORD");
      if (database.isEmpty()) {
        problems.add(
            "WORKA_DATABASE_APP_USER applies only with WORKA_DATABASE_URL (the embedded database has"
                + " its own application role): unset it or set WORKA_DATABASE_URL");
      } else if (!appUser.get().matches("[A-Za-z_][A-Za-z0-9_]{0,62}")) {
        problems.add(
            "WORKA_DATABASE_APP_USER must be a plain role name (letters, digits, _; at most 63)");
      } else if (appUser.get().equals(database.get().user())) {
        problems.add(
            "WORKA_DATABASE_APP_USER must differ from the WORKA_DATABASE_URL user, which owns the tables");
      } else if (appPassword.isEmpty()) {
        problems.add("WORKA_DATABASE_APP_USER needs WORKA_DATABASE_APP_PASSWORD");
      } else {
        applicationDatabase =
            Optional.of(database.get().withLogin(appUser.get(), appPassword.get()));
      }
    }

    int port = integer(env, "WORKA_HTTP_PORT", 8080, 0, 65535, problems);
    String bind = value(env, "WORKA_BIND_ADDRESS").orElse("127.0.0.1");

    Optional<Path> policyFile = value(env, "WORKA_POLICY_FILE").map(Path::of);
    if (policyFile.isPresent() && !Files.isReadable(policyFile.get())) {
      problems.add(
          "WORKA_POLICY_FILE="
              + policyFile.get()
              + " is not a readable file (unset it to use the built-in policy)");
    }

    Optional<String> operatorToken = value(env, "WORKA_OPERATOR_TOKEN");
    if (operatorToken.isPresent() && operatorToken.get().length() < 16) {
      problems.add(
          "WORKA_OPERATOR_TOKEN must be at least 16 characters (unset it to have one generated)");
    }

    String model = value(env, "WORKA_MODEL").orElse("scripted");
    if (!model.equals("scripted") && !model.equals("anthropic")) {
      problems.add("WORKA_MODEL=" + model + " is not known (use scripted or anthropic)");
    } else if (model.equals("anthropic")) {
      // The key stays in the Gateway: workers call the model through /v1/agent/model
      // (docs/models.md).
      AnthropicSettings.read(env, problems);
    }

    String sideEffects = value(env, "WORKA_SIDE_EFFECTS").orElse("dry-run");
    if (!sideEffects.equals("dry-run") && !sideEffects.equals("live")) {
      problems.add("WORKA_SIDE_EFFECTS=" + sideEffects + " is not known (use dry-run or live)");
    }

    Path installDir =
        Path.of(value(env, "WORKA_INSTALL_DIR").orElse(System.getProperty("user.dir")))
            .toAbsolutePath()
            .normalize();
    Optional<String> gatewayUrl = value(env, "WORKA_GATEWAY_URL").map(s -> s.replaceAll("/+$", ""));
    int concurrent = integer(env, "WORKA_MAX_CONCURRENT_STEPS", 4, 1, 256, problems);
    int leaseSeconds = integer(env, "WORKA_LEASE_SECONDS", 30, 2, 3600, problems);

    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    List<String> secrets = new ArrayList<>();
    for (String name : SECRET_VARIABLES) {
      value(env, name).ifPresent(secrets::add);
    }
    database.map(DatabaseUrl::password).filter(p -> !p.isBlank()).ifPresent(secrets::add);
    return new WorkaConfig(
        home,
        database,
        port,
        bind,
        policyFile,
        operatorToken,
        model,
        sideEffects,
        installDir,
        gatewayUrl,
        concurrent,
        Duration.ofSeconds(leaseSeconds),
        secrets,
        applicationDatabase);
  }

  private static Optional<String> value(Map<String, String> env, String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }

  private static int integer(
      Map<String, String> env, String name, int fallback, int min, int max, List<String> problems) {
    Optional<String> v = value(env, name);
    if (v.isEmpty()) {
      return fallback;
    }
    try {
      int parsed = Integer.parseInt(v.get());
      if (parsed < min || parsed > max) {
        problems.add(name + "=" + v.get() + " is out of range (" + min + ".." + max + ")");
      }
      return parsed;
    } catch (NumberFormatException e) {
      problems.add(name + "=" + v.get() + " is not a whole number");
      return fallback;
    }
  }

  /** A copy with another HTTP port (tests). */
  WorkaConfig withHttpPort(int port) {
    return new WorkaConfig(
        home,
        database,
        port,
        bindAddress,
        policyFile,
        operatorToken,
        model,
        sideEffects,
        installDir,
        gatewayUrl,
        maxConcurrentSteps,
        leaseDuration,
        secrets,
        applicationDatabase);
  }

  @Override
  public String toString() {
    return "WorkaConfig[home="
        + home
        + ", database="
        + database.map(DatabaseUrl::toString).orElse("embedded")
        + applicationDatabase.map(a -> ", runsAs=" + a.user()).orElse("")
        + ", http="
        + bindAddress
        + ":"
        + httpPort
        + ", policy="
        + policyFile.map(Path::toString).orElse("built-in")
        + ", operatorToken="
        + (operatorToken.isPresent() ? "set" : "generated")
        + ", model="
        + model
        + ", sideEffects="
        + sideEffects
        + ", maxConcurrentSteps="
        + maxConcurrentSteps
        + "]";
  }
}
