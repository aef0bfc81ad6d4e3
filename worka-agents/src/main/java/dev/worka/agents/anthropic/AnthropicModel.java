package dev.worka.agents.anthropic;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.errors.AnthropicServiceException;
import com.anthropic.errors.PermissionDeniedException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceAny;
import com.anthropic.models.messages.ToolChoiceTool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.agents.model.CallSpans;
import dev.worka.agents.model.Model;
import dev.worka.agents.model.Move;
import dev.worka.agents.model.SkillExchange;
import dev.worka.protocol.Json;
import dev.worka.protocol.ModelOffer;
import dev.worka.protocol.Plan;
import dev.worka.protocol.SkillSpec;
import dev.worka.protocol.StepEnvelope;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A {@link Model} backed by the Anthropic Messages API, reached through the Gateway. One instance
 * serves one step attempt (one worker process): it keeps the worker's conversation between {@link
 * #next} calls.
 *
 * <p>Failures: a {@code 403} from the Gateway (the policy denied the call, or the run's model token
 * budget is spent) or a {@code 401} (the attempt ended) is a {@link Move.GiveUp} for a worker — not
 * retryable; anything else (the provider down, a timeout, an answer without the expected tool) is
 * thrown as a {@link ModelCallException}, which fails the attempt and leaves retrying to the
 * Gateway.
 */
public final class AnthropicModel implements Model {
  /** Most model calls one worker step makes; then it gives up. */
  public static final int MAX_TURNS = 10;

  /** {@code max_tokens} asked for on each call; the Gateway may cut it to the run's budget. */
  static final long MAX_TOKENS = 4096;

  static final String SUBMIT_PLAN = "submit_plan";
  static final String SUBMIT_RESULT = "submit_result";

  /** Longest skill output given back to the model as a tool result, in characters. */
  static final int MAX_TOOL_RESULT = 50_000;

  private final AnthropicClient client;
  private final String modelName;
  private final Consumer<String> log;
  private final CallSpans spans;

  // The worker's conversation: one step per process, so one conversation per instance.
  private MessageCreateParams.Builder conversation;
  private Map<String, String> skillsByTool;
  private String pendingToolUse;
  private int turns;

  AnthropicModel(AnthropicClient client, String modelName, Consumer<String> log) {
    this(client, modelName, log, CallSpans.NONE);
  }

  AnthropicModel(AnthropicClient client, String modelName, Consumer<String> log, CallSpans spans) {
    this.spans = Objects.requireNonNull(spans, "spans");
    this.client = Objects.requireNonNull(client, "client");
    this.modelName = Objects.requireNonNull(modelName, "modelName");
    this.log = Objects.requireNonNull(log, "log");
  }

  /**
   * The model {@code offer} names, called through the Gateway at {@code gatewayUrl} with {@code
   * token}: the official SDK with base URL {@code gatewayUrl + /v1/agent/model} and the step token
   * as its key (the SDK sends it as {@code Authorization: Bearer}, which the Gateway checks like on
   * every agent call).
   */
  public static AnthropicModel through(
      URI gatewayUrl,
      String token,
      String traceparent,
      ModelOffer offer,
      Consumer<String> log,
      CallSpans spans) {
    AnthropicOkHttpClient.Builder builder =
        AnthropicOkHttpClient.builder()
            .baseUrl(gatewayUrl.toString().replaceAll("/+$", "") + ModelOffer.BASE_PATH)
            .apiKey(token)
            .maxRetries(2)
            .timeout(Duration.ofMinutes(3));
    if (traceparent != null) {
      builder.putHeader("traceparent", traceparent);
    }
    String name = offer.name() == null || offer.name().isBlank() ? "claude" : offer.name();
    return new AnthropicModel(builder.build(), name, log, spans);
  }

  // ---- Hari

  @Override
  public Plan plan(StepEnvelope step) {
    MessageCreateParams params =
        MessageCreateParams.builder()
            .model(modelName)
            .maxTokens(MAX_TOKENS)
            .system(Prompts.PLANNER)
            .addUserMessage(Prompts.planRequest(step))
            .addTool(
                Tool.builder()
                    .name(SUBMIT_PLAN)
                    .description(
                        "Propose the plan for the request. The Gateway validates it against the policy"
                            + " before any step runs.")
                    .inputSchema(inputSchema(planSchema()))
                    .build())
            .toolChoice(
                ToolChoiceTool.builder().name(SUBMIT_PLAN).disableParallelToolUse(true).build())
            .build();
    Message answer = call(params);
    ToolUseBlock use =
        toolUses(answer).stream()
            .filter(t -> t.name().equals(SUBMIT_PLAN))
            .findFirst()
            .orElseThrow(
                () ->
                    new ModelCallException(
                        "the model did not call "
                            + SUBMIT_PLAN
                            + " (stop reason "
                            + stopReason(answer)
                            + ")"));
    JsonNode input = input(use);
    try {
      return Json.LENIENT.treeToValue(input, Plan.class);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw new ModelCallException("the model's plan is not a plan: " + e.getMessage(), e);
    }
  }

  // ---- Ernest and Daneel

  @Override
  public Move next(StepEnvelope step, List<SkillExchange> transcript) {
    if (conversation == null) {
      start(step);
    } else {
      if (pendingToolUse == null || transcript.isEmpty()) {
        throw new IllegalStateException("next() called again without a skill call to report");
      }
      SkillExchange last = transcript.get(transcript.size() - 1);
      conversation.addUserMessageOfContentBlockParams(
          List.of(
              ContentBlockParam.ofToolResult(
                  ToolResultBlockParam.builder()
                      .toolUseId(pendingToolUse)
                      .content(toolResult(last))
                      .build())));
      pendingToolUse = null;
    }
    while (true) {
      if (turns == MAX_TURNS) {
        return new Move.GiveUp(
            "the model did not finish within "
                + MAX_TURNS
                + " turns (it must call "
                + SUBMIT_RESULT
                + ")");
      }
      turns++;
      Message answer;
      try {
        answer = call(conversation.build());
      } catch (Refused refused) {
        return new Move.GiveUp(refused.getMessage());
      }
      conversation.addMessage(answer);
      List<ToolUseBlock> uses = toolUses(answer);
      if (uses.isEmpty()) {
        // A turn without a tool: remind it how to finish (counts as a turn).
        conversation.addUserMessage(
            "Call one of the tools. When the objective is done, call " + SUBMIT_RESULT + ".");
        continue;
      }
      ToolUseBlock use = uses.get(0);
      List<ContentBlockParam> skipped = new ArrayList<>();
      for (ToolUseBlock other : uses.subList(1, uses.size())) {
        skipped.add(
            ContentBlockParam.ofToolResult(
                ToolResultBlockParam.builder()
                    .toolUseId(other.id())
                    .content("Not run: call one tool per turn.")
                    .isError(true)
                    .build()));
      }
      if (use.name().equals(SUBMIT_RESULT)) {
        JsonNode input = input(use);
        String summary = input.path("summary").asText("").strip();
        ObjectNode output =
            input.path("output").isObject()
                ? (ObjectNode) input.get("output")
                : Json.LENIENT.createObjectNode();
        return new Move.Finish(summary.isEmpty() ? "done" : summary, output);
      }
      String skill = skillsByTool.get(use.name());
      if (skill == null) {
        List<ContentBlockParam> results = new ArrayList<>();
        results.add(
            ContentBlockParam.ofToolResult(
                ToolResultBlockParam.builder()
                    .toolUseId(use.id())
                    .content("There is no tool " + use.name() + "; use only the tools given.")
                    .isError(true)
                    .build()));
        results.addAll(skipped);
        conversation.addUserMessageOfContentBlockParams(results);
        continue;
      }
      if (!skipped.isEmpty()) {
        // Every tool_use needs its tool_result in the next user turn: these go with the one run.
        throw new ModelCallException(
            "the model asked for several tools at once although parallel tool use is off");
      }
      JsonNode input = input(use);
      if (!(input instanceof ObjectNode object)) {
        throw new ModelCallException("the model's input for " + skill + " is not an object");
      }
      pendingToolUse = use.id();
      log.accept("the model asks for " + skill);
      return new Move.CallSkill(skill, object);
    }
  }

  private void start(StepEnvelope step) {
    skillsByTool = new LinkedHashMap<>();
    MessageCreateParams.Builder builder =
        MessageCreateParams.builder()
            .model(modelName)
            .maxTokens(MAX_TOKENS)
            .system(Prompts.worker(step.agent()))
            .addUserMessage(Prompts.workRequest(step))
            .toolChoice(ToolChoiceAny.builder().disableParallelToolUse(true).build());
    for (SkillSpec skill : step.skills()) {
      String tool = toolName(skill.name());
      if (skillsByTool.putIfAbsent(tool, skill.name()) != null) {
        continue; // two skills with one tool name: the first keeps it
      }
      JsonNode schema =
          skill.inputSchema() != null && skill.inputSchema().isObject()
              ? skill.inputSchema()
              : Json.LENIENT.createObjectNode().put("type", "object");
      builder.addTool(
          Tool.builder()
              .name(tool)
              .description(
                  (skill.description() == null ? skill.name() : skill.description())
                      + (skill.sideEffect()
                          ? " (changes the world; the Gateway decides whether it may)"
                          : ""))
              .inputSchema(inputSchema(schema))
              .build());
    }
    ObjectNode result = Json.LENIENT.createObjectNode();
    result.put("type", "object");
    ObjectNode properties = result.putObject("properties");
    properties
        .putObject("summary")
        .put("type", "string")
        .put("description", "What was done, for the person who asked (one or two sentences).");
    properties
        .putObject("output")
        .put("type", "object")
        .put("description", "Facts later steps need (e.g. the issue number and URL).");
    result.putArray("required").add("summary");
    builder.addTool(
        Tool.builder()
            .name(SUBMIT_RESULT)
            .description("Finish the step: report what was done.")
            .inputSchema(inputSchema(result))
            .build());
    conversation = builder;
  }

  /**
   * A skill's tool name: tool names must match {@code ^[a-zA-Z0-9_-]{1,64}$}, skill names are
   * {@code provider.action}, so {@code github.create_issue} becomes {@code github__create_issue}.
   */
  static String toolName(String skill) {
    String name = skill.replace(".", "__").replaceAll("[^a-zA-Z0-9_-]", "_");
    return name.length() > 64 ? name.substring(0, 64) : name;
  }

  // ---- calls

  /** A refusal by the Gateway (401/403): not something a retry changes. */
  private static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message, null, false, false);
    }
  }

  /** One model call through the Gateway, noted as an {@code agent.model} span. */
  private Message call(MessageCreateParams params) {
    CallSpans.Call span =
        spans
            .start("agent.model")
            .attribute("agent.model", modelName)
            .attribute("url.path", ModelOffer.BASE_PATH + "/v1/messages");
    try {
      Message answer = callModel(params, span);
      span.attribute("agent.model.input_tokens", answer.usage().inputTokens())
          .attribute("agent.model.output_tokens", answer.usage().outputTokens());
      return answer;
    } catch (RuntimeException e) {
      span.failed(e.getMessage());
      throw e;
    } finally {
      span.end();
    }
  }

  private Message callModel(MessageCreateParams params, CallSpans.Call span) {
    try {
      Message answer = client.messages().create(params);
      log.accept(
          "model turn: stop reason "
              + stopReason(answer)
              + ", "
              + answer.usage().inputTokens()
              + " input + "
              + answer.usage().outputTokens()
              + " output tokens");
      return answer;
    } catch (PermissionDeniedException | UnauthorizedException e) {
      span.attribute("http.response.status_code", e.statusCode());
      throw new Refused(
          "the Gateway refused the model call (" + e.statusCode() + "): " + describe(e));
    } catch (AnthropicServiceException e) {
      span.attribute("http.response.status_code", e.statusCode());
      throw new ModelCallException(
          "the model call failed (" + e.statusCode() + "): " + describe(e), e);
    } catch (RuntimeException e) {
      if (e instanceof ModelCallException) {
        throw e;
      }
      throw new ModelCallException("the model call failed: " + e, e);
    }
  }

  /**
   * The Gateway's error message (its {@code message}, and {@code reason} with a gate), or the
   * SDK's.
   */
  private static String describe(AnthropicServiceException e) {
    try {
      JsonNode body = e.body().convert(JsonNode.class);
      if (body != null && body.path("message").isTextual()) {
        String gate = body.path("gate_id").asText("");
        return body.path("message").asText() + (gate.isEmpty() ? "" : " (gate " + gate + ")");
      }
      if (body != null && body.path("error").path("message").isTextual()) {
        return body.path("error").path("message").asText();
      }
    } catch (RuntimeException ignored) {
      // fall back to the SDK's own message
    }
    return String.valueOf(e.getMessage());
  }

  private static List<ToolUseBlock> toolUses(Message message) {
    List<ToolUseBlock> uses = new ArrayList<>();
    for (ContentBlock block : message.content()) {
      block.toolUse().ifPresent(uses::add);
    }
    return uses;
  }

  private static String stopReason(Message message) {
    return message.stopReason().map(Object::toString).orElse("none");
  }

  private static JsonNode input(ToolUseBlock use) {
    JsonNode node = use._input().convert(JsonNode.class);
    return node == null ? Json.LENIENT.createObjectNode() : node;
  }

  private static String toolResult(SkillExchange exchange) {
    String text = Json.write(exchange.output());
    if (exchange.replayed()) {
      text = "(recorded output of an earlier identical call) " + text;
    }
    return text.length() <= MAX_TOOL_RESULT ? text : text.substring(0, MAX_TOOL_RESULT) + "…(cut)";
  }

  /** A JSON Schema as a tool's input schema; keywords the API has no use for are left out. */
  static Tool.InputSchema inputSchema(JsonNode schema) {
    Tool.InputSchema.Builder builder = Tool.InputSchema.builder();
    schema
        .properties()
        .forEach(
            entry -> {
              String key = entry.getKey();
              if (!key.equals("type") && !key.equals("$schema") && !key.equals("$id")) {
                builder.putAdditionalProperty(key, JsonValue.fromJsonNode(entry.getValue()));
              }
            });
    return builder.build();
  }

  private static JsonNode planSchema() {
    try (InputStream in = Plan.class.getResourceAsStream(Plan.SCHEMA_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the plan schema " + Plan.SCHEMA_RESOURCE + " is missing");
      }
      return Json.LENIENT.readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("the plan schema cannot be read", e);
    }
  }
}
