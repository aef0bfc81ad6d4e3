package dev.worka.agents;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.protocol.AgentEnvironment;
import dev.worka.protocol.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The claim of a pre-started built-in agent ({@code WORKA_CLAIM=stdin}, the Gateway's worker pool):
 * the process starts in its sandbox with its limits and its relay but without a token or a step,
 * and waits here for one line on its standard input — a JSON object of {@link
 * AgentEnvironment#CLAIMED} names (the attempt's token and identity) to string values. The line
 * completes the environment; nothing else in it may be changed, and a second line is never read
 * (each pooled process serves one attempt).
 */
final class Claim {
  /** The only value of {@code WORKA_CLAIM}: the claim comes as one line on standard input. */
  static final String STDIN = "stdin";

  /** Longest claim line read (a token is a few hundred bytes). */
  static final int MAX_LINE = 64 * 1024;

  private Claim() {}

  /** Whether {@code env} says to wait for a claim. */
  static boolean expected(Map<String, String> env) {
    return env.containsKey(AgentEnvironment.CLAIM);
  }

  /**
   * Waits for the claim line on {@code in} and returns {@code env} completed with it (without
   * {@code WORKA_CLAIM}).
   *
   * @throws IOException when {@code WORKA_CLAIM} is not {@code stdin}, the input ends before a
   *     whole line (the Gateway retired this process unclaimed), or the line is not a claim
   */
  static Map<String, String> await(Map<String, String> env, InputStream in) throws IOException {
    String how = env.get(AgentEnvironment.CLAIM);
    if (!STDIN.equals(how)) {
      throw new IOException(
          AgentEnvironment.CLAIM + " is '" + how + "'; the only way to be claimed is " + STDIN);
    }
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the input ended before a claim arrived (retired unclaimed)");
      }
      if (b == '\n') {
        break;
      }
      if (line.size() >= MAX_LINE) {
        throw new IOException("the claim line is longer than " + MAX_LINE + " bytes");
      }
      line.write(b);
    }
    JsonNode claim;
    try {
      claim = Json.STRICT.readTree(line.toString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IOException("the claim line is not JSON", e);
    }
    if (claim == null || !claim.isObject()) {
      throw new IOException("the claim line is not a JSON object");
    }
    Map<String, String> completed = new HashMap<>(env);
    completed.remove(AgentEnvironment.CLAIM);
    for (Map.Entry<String, JsonNode> field : claim.properties()) {
      if (!AgentEnvironment.CLAIMED.contains(field.getKey())) {
        throw new IOException(
            "the claim names "
                + field.getKey()
                + "; a claim delivers only "
                + AgentEnvironment.CLAIMED);
      }
      if (!field.getValue().isTextual()) {
        throw new IOException("the claim's " + field.getKey() + " is not a string");
      }
      completed.put(field.getKey(), field.getValue().asText());
    }
    return completed;
  }
}
