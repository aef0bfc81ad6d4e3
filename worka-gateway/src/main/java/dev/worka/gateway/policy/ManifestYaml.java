package dev.worka.gateway.policy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;

/**
 * Reads manifest YAML into a plain tree, safely: bounded size, depth and token count; duplicate
 * keys, aliases, explicit tags and multiple documents are errors. Nothing here constructs a Java
 * type from the document: it is read as data (maps, lists, scalars) only.
 *
 * <p>Aliases are refused rather than expanded: Jackson's YAML reader would otherwise read {@code
 * *name} as the string {@code "name"}, silently changing what the operator wrote, and refusing them
 * also removes any alias-expansion ("billion laughs") concern.
 */
final class ManifestYaml {
  static final int MAX_CHARS = 1024 * 1024;
  static final int MAX_DEPTH = 32;
  static final int MAX_TOKENS = 200_000;

  private static final YAMLFactory FACTORY = buildFactory();
  private static final ObjectMapper MAPPER =
      new YAMLMapper(FACTORY).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private static YAMLFactory buildFactory() {
    LoaderOptions loader = new LoaderOptions();
    loader.setCodePointLimit(MAX_CHARS + 1);
    loader.setNestingDepthLimit(MAX_DEPTH);
    loader.setMaxAliasesForCollections(0);
    loader.setAllowDuplicateKeys(false);
    loader.setAllowRecursiveKeys(false);
    return YAMLFactory.builder()
        .loaderOptions(loader)
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        // `key:` with nothing after it is null (as YAML means it), not ""; '' stays a string
        .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
        .streamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(MAX_DEPTH)
                .maxNumberLength(40)
                .maxStringLength(MAX_CHARS)
                .build())
        .build();
  }

  /** The document as a tree, or empty after adding why it cannot be read to {@code errors}. */
  static Optional<JsonNode> read(String source, List<String> errors) {
    if (source.length() > MAX_CHARS) {
      errors.add(
          "manifest: is "
              + source.length()
              + " characters long; at most "
              + MAX_CHARS
              + " are accepted");
      return Optional.empty();
    }
    if (source.indexOf('\0') >= 0) {
      errors.add("manifest: contains a NUL character");
      return Optional.empty();
    }
    if (source.isBlank()) {
      errors.add("manifest: is empty (a manifest declares at least its agents)");
      return Optional.empty();
    }
    try {
      if (!scan(source, errors)) {
        return Optional.empty();
      }
      JsonNode tree = MAPPER.readTree(source);
      if (tree == null || tree.isMissingNode() || tree.isNull()) {
        errors.add("manifest: is empty (a manifest declares at least its agents)");
        return Optional.empty();
      }
      return Optional.of(tree);
    } catch (JacksonException e) {
      errors.add(
          "manifest"
              + at(e.getLocation())
              + ": not readable YAML: "
              + oneLine(e.getOriginalMessage()));
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      // SnakeYAML reports some problems (bad indentation, special characters) as its own
      // unchecked exceptions; they are a malformed document, not a crash.
      errors.add("manifest: not readable YAML: " + oneLine(String.valueOf(e.getMessage())));
      return Optional.empty();
    }
  }

  /** A first pass over the tokens for what the tree reader would silently accept. */
  private static boolean scan(String source, List<String> errors) throws IOException {
    try (JsonParser parser = FACTORY.createParser(source)) {
      int depth = 0;
      int tokens = 0;
      boolean rootDone = false;
      JsonToken token;
      while ((token = parser.nextToken()) != null) {
        if (++tokens > MAX_TOKENS) {
          errors.add("manifest: has more than " + MAX_TOKENS + " YAML nodes");
          return false;
        }
        String where = "manifest" + at(parser.currentLocation());
        if (rootDone) {
          errors.add(where + ": holds a second YAML document; a manifest is one document");
          return false;
        }
        if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
          errors.add(
              where
                  + ": YAML aliases (*"
                  + Names.quoted(String.valueOf(parser.getText())).replace("'", "")
                  + ") are not supported; write the values out");
          return false;
        }
        if (parser.getTypeId() != null) {
          errors.add(
              where
                  + ": explicit YAML tags ("
                  + Names.quoted(String.valueOf(parser.getTypeId())).replace("'", "")
                  + ") are not supported");
          return false;
        }
        if (token.isStructStart()) {
          depth++;
        } else if (token.isStructEnd()) {
          depth--;
        }
        if (depth == 0) {
          rootDone = true;
        }
      }
      return true;
    }
  }

  private static String at(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return "";
    }
    return " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
  }

  /** The parser's message on one line, without its internal references to itself. */
  static String oneLine(String message) {
    String flat =
        (message == null ? "malformed" : message)
            .replaceAll("\\s+", " ")
            .replaceAll(" ?in 'reader', line (\\d+), column (\\d+):.*?\\^", " (line $1, column $2)")
            .replaceAll(",? from `[^`]*`", "")
            .replace("Duplicate field", "duplicate key")
            .strip();
    return flat.length() > 300 ? flat.substring(0, 300) + "…" : flat;
  }

  private ManifestYaml() {}
}
