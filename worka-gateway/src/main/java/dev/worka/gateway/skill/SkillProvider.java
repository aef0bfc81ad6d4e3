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
}
