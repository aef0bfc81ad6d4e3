package dev.worka.gateway.skill;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A provider's skills as written in its resource file ({@code github.skills.json}, {@code
 * slack.skills.json} next to this class): name, description, side effect, input schema, and the
 * empty shape of a dry-run answer. Data rather than code, so the schemas are reviewed as the
 * contracts they are.
 */
record SkillCatalog(String provider, List<SkillDefinition> skills, Map<String, JsonNode> dryRun) {

  SkillCatalog {
    skills = List.copyOf(skills);
    dryRun = Map.copyOf(dryRun);
  }

  static SkillCatalog load(String resource) {
    JsonNode root;
    try (InputStream in = SkillCatalog.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("skill catalog " + resource + " is missing from the jar");
      }
      root = Json.STRICT.readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("skill catalog " + resource + " is not valid JSON: " + e, e);
    }
    String provider = root.path("provider").asText("");
    List<SkillDefinition> skills = new ArrayList<>();
    Map<String, JsonNode> dryRun = new LinkedHashMap<>();
    for (JsonNode skill : root.path("skills")) {
      SkillDefinition definition =
          new SkillDefinition(
              skill.path("name").asText(""),
              provider,
              skill.path("description").asText(""),
              skill.path("input_schema"),
              skill.path("side_effect").asBoolean(false),
              skill.has("output_schema") ? skill.get("output_schema") : null);
      skills.add(definition);
      dryRun.put(definition.name(), skill.path("dry_run_output").deepCopy());
    }
    if (skills.isEmpty()) {
      throw new IllegalStateException("skill catalog " + resource + " lists no skills");
    }
    return new SkillCatalog(provider, skills, dryRun);
  }

  JsonNode dryRunShape(SkillDefinition skill) {
    JsonNode shape = dryRun.get(skill.name());
    return shape == null || shape.isMissingNode()
        ? Json.STRICT.createObjectNode()
        : shape.deepCopy();
  }
}
