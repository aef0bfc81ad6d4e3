package dev.worka.gateway.skill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.List;

/**
 * A family of skills backed by one upstream (GitHub through MCP, Slack's Web API, …). Holds the
 * upstream's credentials; nothing else in the Gateway talks to that upstream.
 */
public interface SkillProvider {

  /** The provider's name, the prefix of its skills' names ({@code github}, {@code slack}). */
  String name();

  /** The upstream as people call it ({@code GitHub}, {@code Slack}), for messages. */
  default String upstream() {
    return name();
  }

  /** Every skill this provider offers; the same list each time. */
  List<SkillDefinition> skills();

  /** Whether live calls can be made now, and if not, what to set or do. */
  Availability availability();

  /**
   * The live call: sends {@code input} (already validated against the skill's schema, already
   * allowed by policy, its gate already committed) upstream and returns the upstream's answer.
   *
   * @throws SkillUnavailableException when the provider cannot make live calls
   * @throws SkillFailedException when the upstream call failed, saying whether it may be retried
   */
  JsonNode invoke(SkillDefinition skill, JsonNode input, InvocationContext ctx);

  /**
   * The fields a dry-run output of {@code skill} carries besides the dry-run marker: the empty
   * shape of the upstream's answer ({@code "items": []}, {@code "issue": null}), never made-up
   * values. Pure: it must not call the upstream. Asked once, when a registry is built.
   */
  default JsonNode dryRunShape(SkillDefinition skill) {
    return JsonNodeFactory.instance.objectNode();
  }

  /**
   * The longest a live call of this provider may take (its client gives up after it). Once an
   * invocation is older than this, no Gateway is still waiting on it: if its outcome was not
   * recorded, it may be reconciled.
   */
  default java.time.Duration callTimeout() {
    return java.time.Duration.ofSeconds(30);
  }

  /**
   * Whether {@code skill} can be called live now; by default the provider's {@link
   * #availability()}. A provider whose upstream lacks the tool behind one skill says so here.
   */
  default Availability availability(SkillDefinition skill) {
    return availability();
  }

  /**
   * The upstream's reference of what a successful call created or read (an issue's URL, a message's
   * timestamp), recorded with the invocation; empty when there is none.
   */
  default java.util.Optional<String> upstreamRef(SkillDefinition skill, JsonNode output) {
    return java.util.Optional.empty();
  }

  /**
   * Asks the upstream whether an earlier live call of {@code skill} with this {@code input} and
   * invocation ({@code ctx.invocationId()}, whose {@link InvocationContext#marker() marker} a
   * side-effecting call carries in what it creates) took effect, when the Gateway never recorded
   * its outcome (it died, or the call's fate was lost). Read-only: it must never perform the
   * effect. By default the provider cannot tell.
   */
  default Reconciliation reconcile(SkillDefinition skill, JsonNode input, InvocationContext ctx) {
    return new Reconciliation.Unknown(
        upstream() + " offers no way to look up an earlier call of " + skill.name());
  }

  /** What the upstream shows of an invocation whose outcome the Gateway never recorded. */
  sealed interface Reconciliation {
    /** The effect exists upstream: {@code output} is what the call would have returned. */
    record Performed(JsonNode output, String upstreamRef) implements Reconciliation {}

    /**
     * The upstream was asked and has no trace of the effect; {@code evidence} says how it looked.
     */
    record NotPerformed(String evidence) implements Reconciliation {}

    /** The upstream could not be asked or cannot tell; {@code why} says which. */
    record Unknown(String why) implements Reconciliation {}
  }
}
