package dev.worka.gateway.config;

import dev.worka.gateway.skill.model.AnthropicMessages;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The model workers reach through the Gateway's model route with {@code WORKA_MODEL=anthropic}
 * (docs/models.md): {@code ANTHROPIC_API_KEY} (the Gateway's key; workers never get it), {@code
 * ANTHROPIC_BASE_URL} (default {@value AnthropicMessages#DEFAULT_BASE_URL}), {@code
 * WORKA_ANTHROPIC_MODEL} (default {@value AnthropicMessages#DEFAULT_MODEL}) and {@code
 * WORKA_MODEL_CALLS_PER_STEP} (model calls of one step under way at once, 1 to {@value
 * AnthropicMessages#MAX_CALLS_PER_STEP}; default {@value
 * AnthropicMessages#DEFAULT_CALLS_PER_STEP}). Validated once, with messages naming the variable;
 * {@link #toString()} shows no key.
 */
public record AnthropicSettings(String baseUrl, String apiKey, String model, int callsPerStep) {

  public AnthropicSettings {
    if (baseUrl == null || apiKey == null || apiKey.isBlank() || model == null) {
      throw new IllegalArgumentException("baseUrl, apiKey and model are required");
    }
  }

  /**
   * The settings when {@code workaModel} is {@code anthropic}; empty for any other model.
   *
   * @throws ConfigException naming each variable that is wrong and what to set instead
   */
  public static Optional<AnthropicSettings> fromEnvironment(
      Map<String, String> environment, String workaModel) {
    if (!"anthropic".equals(workaModel)) {
      return Optional.empty();
    }
    List<String> problems = new ArrayList<>();
    Optional<AnthropicSettings> settings = read(environment, problems);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return settings;
  }

  /**
   * The settings in {@code env} (for {@code WORKA_MODEL=anthropic}), each problem added to {@code
   * problems}; empty when there is one.
   */
  static Optional<AnthropicSettings> read(Map<String, String> env, List<String> problems) {
    int before = problems.size();
    Optional<String> key = value(env, "ANTHROPIC_API_KEY");
    if (key.isEmpty()) {
      problems.add(
          "WORKA_MODEL=anthropic needs ANTHROPIC_API_KEY (the Gateway's key; workers never get it)");
    }
    Optional<String> base = value(env, "ANTHROPIC_BASE_URL");
    if (base.isPresent() && !base.get().matches("(?i)https?://[^\\s/?#]+(/[^\\s?#]*)?")) {
      problems.add(
          "ANTHROPIC_BASE_URL="
              + base.get()
              + " is not an http(s) URL such as https://api.anthropic.com");
    }
    Optional<String> name = value(env, "WORKA_ANTHROPIC_MODEL");
    if (name.isPresent() && !AnthropicMessages.MODEL_NAME.matcher(name.get()).matches()) {
      problems.add(
          "WORKA_ANTHROPIC_MODEL="
              + name.get()
              + " is not a model name (letters, digits, . _ : @ / -)");
    }
    Optional<String> calls = value(env, "WORKA_MODEL_CALLS_PER_STEP");
    if (calls.isPresent() && !calls.get().matches("[1-9]|1[0-6]")) {
      problems.add(
          "WORKA_MODEL_CALLS_PER_STEP="
              + calls.get()
              + " must be a whole number from 1 to 16 (model calls of one"
              + " step under way at once; default 2)");
    }
    if (problems.size() > before) {
      return Optional.empty();
    }
    return Optional.of(
        new AnthropicSettings(
            base.orElse(AnthropicMessages.DEFAULT_BASE_URL),
            key.get(),
            name.orElse(AnthropicMessages.DEFAULT_MODEL),
            calls.map(Integer::parseInt).orElse(AnthropicMessages.DEFAULT_CALLS_PER_STEP)));
  }

  private static Optional<String> value(Map<String, String> env, String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }

  @Override
  public String toString() {
    // The base URL may hold user information: not shown either.
    return "AnthropicSettings[model " + model + ", " + callsPerStep + " calls per step]";
  }
}
