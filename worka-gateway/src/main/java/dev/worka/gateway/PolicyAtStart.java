package dev.worka.gateway;

import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.policy.BuiltinPolicy;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.LaunchAllowance;
import dev.worka.gateway.policy.PolicyStore;
import dev.worka.gateway.policy.StoredPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Which policy a starting Gateway serves, and which launch specs this host allows. */
final class PolicyAtStart {
  private static final Logger log = LoggerFactory.getLogger(PolicyAtStart.class);
  private static final String BUILT_IN = "built-in";

  private PolicyAtStart() {}

  /**
   * The policy a starting Gateway uses. {@code WORKA_POLICY_FILE} is the operator's declared
   * configuration and becomes active (a new version if it differs). Without it, the built-in
   * manifest is applied only while no operator has activated another one (by {@code PUT
   * /v1/policy}): a restart never silently undoes an operator's policy change.
   */
  static StoredPolicy activate(
      PolicyStore policies, Optional<Path> policyFile, List<String> unenforcedLimits)
      throws IOException {
    Optional<StoredPolicy> active = policies.active();
    Optional<String> actor = policies.activeActor();
    StoredPolicy policy;
    if (policyFile.isPresent()) {
      Path file = policyFile.get();
      policy = policies.activate(Files.readString(file), "file:" + file);
      if (active.isPresent() && !active.get().id().equals(policy.id())) {
        log.warn(
            "WORKA_POLICY_FILE {} replaced the active policy v{} (activated by {}) with v{}",
            file,
            active.get().version(),
            actor.orElse("?"),
            policy.version());
      }
    } else if (active.isEmpty() || actor.orElse("").equals(BUILT_IN)) {
      policy = policies.activate(BuiltinPolicy.source(), BUILT_IN);
    } else {
      log.info(
          "keeping policy v{} activated by {}; the built-in manifest is not applied over it",
          active.get().version(),
          actor.orElse("?"));
      policy = active.get();
    }
    log.info(
        "policy v{} active ({}), sha256 {}",
        policy.version(),
        policyFile.map(Path::toString).orElse(BUILT_IN),
        policy.sha256().substring(0, 12));
    policy
        .policy()
        .unenforcedResources(unenforcedLimits)
        .ifPresent(warning -> log.warn("policy v{}: {}", policy.version(), warning));
    return policy;
  }

  /**
   * The launch specs this host allows a manifest uploaded through the API to use: those of the
   * built-in manifest and of {@code WORKA_POLICY_FILE}, and those under {@code
   * WORKA_ALLOWED_LAUNCH}. Says at start what that is, and if the active policy (an operator's,
   * kept over a restart) uses others, whose workers will not start.
   *
   * @param active the policy {@link #activate} returned: with a policy file, the file's manifest
   */
  static LaunchAllowance launches(
      Path installDir, Optional<Path> policyFile, List<String> allowedLaunch, StoredPolicy active) {
    List<CompiledPolicy> hostManifests = new ArrayList<>(List.of(BuiltinPolicy.compiled()));
    if (policyFile.isPresent()) {
      hostManifests.add(active.policy()); // activate made the file's manifest the active one
    }
    LaunchAllowance launches;
    try {
      launches = LaunchAllowance.of(installDir, hostManifests, allowedLaunch);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(List.of(e.getMessage()));
    }
    log.info("launch specs an uploaded manifest may use: {}", launches.describe());
    List<String> refused = launches.refusals(active.policy());
    if (!refused.isEmpty()) {
      log.warn(
          "the active policy v{} uses launch specs this host does not allow; those agents' workers will not"
              + " start: {}. Upload a manifest without them (worka policy apply), or set WORKA_POLICY_FILE or"
              + " WORKA_ALLOWED_LAUNCH",
          active.version(),
          String.join("; ", refused));
    }
    return launches;
  }
}
