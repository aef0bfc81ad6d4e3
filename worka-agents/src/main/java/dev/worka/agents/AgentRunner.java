package dev.worka.agents;

import dev.worka.agents.anthropic.AnthropicModel;
import dev.worka.agents.model.CallSpans;
import dev.worka.agents.scripted.ScriptedModel;
import dev.worka.protocol.ModelOffer;
import dev.worka.protocol.StepEnvelope;
import dev.worka.protocol.StepResult;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * One step attempt, from the environment to the exit code: read the environment, fetch the
 * envelope, run the agent with heartbeats, post exactly one result.
 *
 * <p>Exit codes: {@link #RESULT_ACCEPTED} once the Gateway accepted a result (a failed one too: the
 * failure is then on record), {@link #RESULT_NOT_DELIVERED} when no result could be delivered,
 * {@link #UNUSABLE_ENVIRONMENT} when the environment or arguments cannot be used. Tests call {@link
 * #run} directly with their own environment; only {@link AgentMain} exits.
 */
final class AgentRunner {
  static final int RESULT_ACCEPTED = 0;
  static final int RESULT_NOT_DELIVERED = 1;
  static final int UNUSABLE_ENVIRONMENT = 2;

  static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(10);

  /**
   * Longest summary or error posted. The Gateway refuses longer ones, and a refused result is a
   * lost one, so a longer text is cut here instead.
   */
  static final int MAX_RESULT_TEXT = 4000;

  private static final String USAGE =
      "usage: worka-agent [NAME]   (NAME: hari, ernest or daneel; default $WORKA_AGENT)";

  private final Map<String, Agent> agents;
  private final ModelAgents modelAgents;
  private final Duration heartbeatEvery;
  private final Pause pause;
  private final PrintStream err;
  private final Spans spans;

  /**
   * Where a step attempt's spans go once its work is done, before its result is posted (the Gateway
   * refuses an attempt's token once it has its result).
   */
  interface Spans {
    void export(List<StepSpans.Noted> spans, WorkerEnvironment environment, ProgressLog log);

    /** Nothing is exported. */
    Spans NONE = (spans, environment, log) -> {};

    /** To the Gateway's span route ({@link SpanExport}), at most {@link SpanExport#TIMEOUT}. */
    Spans GATEWAY =
        (spans, environment, log) -> {
          if (StepSpans.sampled(environment.traceparent())) {
            SpanExport.send(
                spans,
                environment.gatewayUrl(),
                environment.token(),
                environment.traceparent(),
                SpanExport.TIMEOUT,
                log);
          }
        };
  }

  /**
   * The built-in agents deciding with the model a step's envelope offers ({@code "model"}, an
   * extension of the envelope); absent means the scripted model.
   */
  interface ModelAgents {
    /**
     * The agents deciding with {@code offer}, or empty when this agent does not know its provider.
     */
    java.util.Optional<Map<String, Agent>> using(
        WorkerEnvironment environment, ModelOffer offer, ProgressLog log, CallSpans spans);

    /** Claude through the Gateway's model route, with the official SDK. */
    ModelAgents ANTHROPIC =
        (environment, offer, log, spans) ->
            ModelOffer.ANTHROPIC.equals(offer.provider())
                ? java.util.Optional.of(
                    BuiltInAgents.using(
                        AnthropicModel.through(
                            environment.gatewayUrl(),
                            environment.token(),
                            environment.traceparent(),
                            offer,
                            log::line,
                            spans)))
                : java.util.Optional.empty();
  }

  /** Agents that always decide with {@code agents}' own model, whatever the envelope offers. */
  AgentRunner(Map<String, Agent> agents, Duration heartbeatEvery, Pause pause, PrintStream err) {
    this(agents, null, heartbeatEvery, pause, err, Spans.NONE);
  }

  AgentRunner(
      Map<String, Agent> agents,
      ModelAgents modelAgents,
      Duration heartbeatEvery,
      Pause pause,
      PrintStream err,
      Spans spans) {
    this.spans = Objects.requireNonNull(spans, "spans");
    this.agents = Map.copyOf(agents);
    this.modelAgents = modelAgents;
    this.heartbeatEvery = Objects.requireNonNull(heartbeatEvery, "heartbeatEvery");
    this.pause = Objects.requireNonNull(pause, "pause");
    this.err = Objects.requireNonNull(err, "err");
  }

  /**
   * The built-in agents on the scripted model, or on the model the envelope offers (Anthropic,
   * through the Gateway); heartbeats every 10 s, real pauses.
   */
  static AgentRunner standard(PrintStream err) {
    return new AgentRunner(
        BuiltInAgents.using(new ScriptedModel()),
        ModelAgents.ANTHROPIC,
        HEARTBEAT_EVERY,
        Pause.SLEEP,
        err,
        Spans.GATEWAY);
  }

  /** Runs one step attempt and returns the process exit code. */
  int run(Map<String, String> env, String[] args) {
    if (args.length > 1 || (args.length == 1 && args[0].startsWith("-"))) {
      boolean help = args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"));
      err.println(help ? USAGE : "worka-agent: unexpected arguments\n" + USAGE);
      return help ? 0 : UNUSABLE_ENVIRONMENT;
    }
    String argument = args.length == 1 ? args[0] : null;

    WorkerEnvironment environment;
    switch (WorkerEnvironment.read(env, argument)) {
      case WorkerEnvironment.Reading.Unusable unusable -> {
        err.println("worka-agent: " + unusable.message());
        return UNUSABLE_ENVIRONMENT;
      }
      case WorkerEnvironment.Reading.Usable usable -> {
        environment = usable.environment();
        usable.notice().ifPresent(notice -> err.println("worka-agent: " + notice));
      }
    }
    Agent agent = agents.get(environment.agent());
    if (agent == null) {
      err.println(
          "worka-agent: there is no built-in agent named '"
              + environment.agent()
              + "' (built in: "
              + String.join(", ", new TreeSet<>(agents.keySet()))
              + ")");
      return UNUSABLE_ENVIRONMENT;
    }

    ProgressLog log = new ProgressLog(err, environment.agent());
    log.line(
        "starting for run "
            + orUnknown(environment.runId())
            + ", step "
            + orUnknown(environment.stepId())
            + " at "
            + environment.gatewayUrl());
    StepSpans noted = new StepSpans(Clock.systemUTC(), environment.agent());
    try (GatewayClient gateway = new GatewayClient(environment, pause, log, noted)) {
      StepResult result =
          switch (gateway.context()) {
            case ContextOutcome.Received received -> {
              checkIdentity(environment, received.step(), log);
              ModelOffer offer = received.step().model();
              if (offer == null || modelAgents == null) {
                yield work(agent, received.step(), gateway, log);
              }
              java.util.Optional<Map<String, Agent>> offered =
                  modelAgents.using(environment, offer, log, noted);
              if (offered.isEmpty() || !offered.get().containsKey(environment.agent())) {
                yield StepResult.failed(
                    "the step offers model provider '"
                        + offer.provider()
                        + "', which this agent does not know",
                    false);
              }
              log.line(
                  "deciding with "
                      + offer.provider()
                      + " model "
                      + offer.name()
                      + " through the Gateway");
              yield work(offered.get().get(environment.agent()), received.step(), gateway, log);
            }
            case ContextOutcome.Failed failed ->
                StepResult.failed(
                    "could not fetch the step context: " + failed.error().describe(),
                    failed.error().retryable());
          };
      log.line(
          StepResult.SUCCEEDED.equals(result.status())
              ? "succeeded: " + result.summary()
              : "failed: " + result.error());
      noted.step().attribute("agent.step.outcome", result.status());
      if (!StepResult.SUCCEEDED.equals(result.status())) {
        noted.step().failed(result.error());
      }
      noted.step().end();
      spans.export(noted.noted(), environment, log);
      return switch (gateway.postResult(bounded(result))) {
        case ResultOutcome.Accepted accepted -> {
          log.line("result accepted by the Gateway");
          yield RESULT_ACCEPTED;
        }
        case ResultOutcome.Failed failed -> {
          log.line("the result could not be delivered: " + failed.error().describe());
          yield RESULT_NOT_DELIVERED;
        }
      };
    }
  }

  /** Runs the agent with heartbeats; an exception or a missing result becomes a failed result. */
  private StepResult work(Agent agent, StepEnvelope step, GatewayClient gateway, ProgressLog log) {
    HeartbeatLoop heartbeats = HeartbeatLoop.start(gateway, heartbeatEvery, log);
    try {
      StepResult result = agent.run(step, gateway);
      if (result == null) {
        return new StepResult(
            StepResult.FAILED, null, null, "the agent ended without a result (a bug in it)", null);
      }
      return result;
    } catch (RuntimeException e) {
      // A bug, not an expected outcome: reported, and whether to retry is the Gateway's call.
      e.printStackTrace(err);
      return new StepResult(
          StepResult.FAILED, null, null, "the agent stopped with an unexpected error: " + e, null);
    } finally {
      heartbeats.close();
    }
  }

  static StepResult bounded(StepResult result) {
    return new StepResult(
        result.status(),
        result.output(),
        cut(result.summary()),
        cut(result.error()),
        result.retryable());
  }

  private static String cut(String text) {
    if (text == null || text.codePointCount(0, text.length()) <= MAX_RESULT_TEXT) {
      return text;
    }
    return text.substring(0, text.offsetByCodePoints(0, MAX_RESULT_TEXT - 1)) + "…";
  }

  /** The token is the authority; the informational variables should agree with it. */
  private static void checkIdentity(
      WorkerEnvironment environment, StepEnvelope step, ProgressLog log) {
    log.line(
        "received step "
            + orUnknown(step.stepId())
            + " (attempt "
            + step.attempt()
            + ", agent "
            + orUnknown(step.agent())
            + ")");
    if (environment.stepId() != null && !environment.stepId().equals(step.stepId())) {
      log.line(
          "note: WORKA_STEP_ID is "
              + environment.stepId()
              + " but the token is for step "
              + step.stepId()
              + "; working on the token's step");
    }
    if (step.agent() != null && !step.agent().equals(environment.agent())) {
      log.line(
          "note: started as "
              + environment.agent()
              + " but the token names agent "
              + step.agent()
              + "; the Gateway will check every call against the token");
    }
  }

  private static String orUnknown(String value) {
    return value == null ? "(unknown)" : value;
  }
}
