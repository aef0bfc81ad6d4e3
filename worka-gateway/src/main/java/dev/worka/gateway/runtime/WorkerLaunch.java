package dev.worka.gateway.runtime;

import dev.worka.gateway.policy.Resources;
import dev.worka.gateway.policy.RuntimeKind;
import dev.worka.gateway.policy.RuntimeSpec;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Everything a runtime needs to start the worker of one step attempt: the ids it passes on, where
 * the agent runs ({@code runtime}: a process command, a Kubernetes image, a WASI module — from the
 * policy manifest), what its worker may use ({@code resources}, enforced by the runtime), the
 * Gateway URL, the step-scoped token, the W3C trace context of the step span (or null), and the
 * deadline after which the worker is killed.
 *
 * <p>{@link #toString()} leaves the token out, so the record is safe to log.
 */
public record WorkerLaunch(
    UUID runId,
    UUID stepId,
    int attempt,
    String agent,
    RuntimeSpec runtime,
    Resources resources,
    String gatewayUrl,
    String token,
    String traceparent,
    Instant deadline) {

  private static final Pattern AGENT_NAME = Pattern.compile("[a-z][a-z0-9_-]{0,63}");
  private static final Pattern TRACEPARENT =
      Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");

  public WorkerLaunch {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(stepId, "stepId");
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be at least 1, was " + attempt);
    }
    Objects.requireNonNull(agent, "agent");
    if (!AGENT_NAME.matcher(agent).matches()) {
      throw new IllegalArgumentException(
          "agent must match " + AGENT_NAME.pattern() + ", was '" + agent + "'");
    }
    Objects.requireNonNull(runtime, "runtime");
    if (runtime.kind() == RuntimeKind.PROCESS && runtime.command().get(0).isBlank()) {
      throw new IllegalArgumentException(
          "command must start with a program, was " + runtime.command());
    }
    Objects.requireNonNull(resources, "resources");
    Objects.requireNonNull(gatewayUrl, "gatewayUrl");
    if (gatewayUrl.isBlank() || hasControlOrSpace(gatewayUrl)) {
      throw new IllegalArgumentException("gatewayUrl must be a URL, was '" + gatewayUrl + "'");
    }
    Objects.requireNonNull(token, "token");
    if (token.isEmpty() || hasControlOrSpace(token)) {
      throw new IllegalArgumentException("token must be non-empty without whitespace");
    }
    if (traceparent != null && !TRACEPARENT.matcher(traceparent).matches()) {
      throw new IllegalArgumentException(
          "traceparent must be W3C trace context (00-<32 hex>-<16 hex>-<2 hex>), was '"
              + traceparent
              + "'");
    }
    Objects.requireNonNull(deadline, "deadline");
  }

  /**
   * A {@code process} launch of {@code command} (an argv list; {@code command.get(0)} relative to
   * the installation unless absolute) with the default resources.
   */
  public WorkerLaunch(
      UUID runId,
      UUID stepId,
      int attempt,
      String agent,
      List<String> command,
      String gatewayUrl,
      String token,
      String traceparent,
      Instant deadline) {
    this(
        runId,
        stepId,
        attempt,
        agent,
        RuntimeSpec.process(command),
        Resources.DEFAULTS,
        gatewayUrl,
        token,
        traceparent,
        deadline);
  }

  /** The argv of a {@code process} agent; empty for the other runtimes. */
  public List<String> command() {
    return runtime.command();
  }

  private static boolean hasControlOrSpace(String text) {
    return text.chars().anyMatch(c -> c <= ' ' || c == 0x7f);
  }

  @Override
  public String toString() {
    return "WorkerLaunch[runId=%s, stepId=%s, attempt=%d, agent=%s, runtime=%s, resources=%s, gatewayUrl=%s, token=<redacted>, traceparent=%s, deadline=%s]"
        .formatted(
            runId, stepId, attempt, agent, runtime, resources, gatewayUrl, traceparent, deadline);
  }
}
