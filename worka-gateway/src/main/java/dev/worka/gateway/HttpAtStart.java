package dev.worka.gateway;

import dev.worka.gateway.agent.AgentApi;
import dev.worka.gateway.agent.GatewayNames;
import dev.worka.gateway.config.GatewaySettings;
import dev.worka.gateway.console.OperatorConsole;
import dev.worka.gateway.http.HttpServer;
import dev.worka.gateway.http.OpenApiDocument;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.ingress.api.ApprovalApi;
import dev.worka.gateway.ingress.api.EvalsApi;
import dev.worka.gateway.ingress.api.MemoryApi;
import dev.worka.gateway.ingress.api.OperatorApi;
import dev.worka.gateway.ingress.api.PolicyReplayApi;
import dev.worka.gateway.policy.PolicyDiff;
import dev.worka.gateway.runtime.wasm.AgentCalls;
import dev.worka.gateway.skill.model.AnthropicMessages;
import dev.worka.gateway.store.Database;
import dev.worka.protocol.Json;
import java.util.Optional;

/**
 * The Gateway's HTTP side: the operator API ({@link OperatorApi}) and the agent API ({@link
 * AgentApi}: REST, MCP and the model route) registered on one router over the {@link
 * ControlPlane}'s services (the ingress routes are {@link Integrations#connectIngress}'s), and the
 * server that serves it on {@code WORKA_HTTP_PORT}, with the public ingress routes also on {@code
 * WORKA_INGRESS_PORT} when set.
 */
final class HttpAtStart {
  private HttpAtStart() {}

  /**
   * The router, and the agent API's calls for workers inside this process ({@code wasm} modules):
   * the same routes without HTTP.
   */
  record Routes(Router router, AgentCalls inProcessAgents) {}

  /**
   * The router with the operator API (authenticated by {@code operatorToken}) and the agent API
   * ({@code model} the model its model route proxies to, {@code names} the names its MCP route
   * answers to), and the operator console ({@code traceLink}: where its run pages link a trace).
   */
  static Routes routes(
      ControlPlane control,
      Database database,
      String operatorToken,
      Optional<AnthropicMessages> model,
      GatewayNames names,
      Optional<java.util.function.UnaryOperator<String>> traceLink) {
    Router router = new Router();
    new OperatorApi(
            database,
            operatorToken,
            control.runService,
            control.runs,
            control.steps,
            control.story,
            control.skills,
            control.policies,
            control.metrics::scrape,
            control.resolveInvocation,
            control.applyPolicy,
            control.tracing)
        .register(router);
    new MemoryApi(operatorToken, control.memories).register(router);
    new PolicyReplayApi(operatorToken, control.replayPolicy).register(router);
    new EvalsApi(
            database.dataSource(), operatorToken, control.skills.mode().value(), control.model())
        .register(router);
    new ApprovalApi(operatorToken, control.approvals).register(router);
    AgentApi agents =
        new AgentApi(
            control.dataSource,
            control.tokenVerifier,
            control.verifiedTokens,
            control.runs,
            control.steps,
            control.policies,
            control.skills,
            control.queue,
            control.attempts,
            control.denials,
            control.acceptPlan,
            control.skillCalls,
            control.acceptResult,
            control.audit,
            control.modelUsage,
            control.cleaner,
            control.clock,
            model,
            names,
            control.tracing,
            control.memories.recall());
    agents.register(router);
    OpenApiDocument.register(router);
    new OperatorConsole(
            database.dataSource(),
            operatorToken,
            router,
            control.clock,
            traceLink,
            control.policies,
            PolicyDiff::between)
        .register(router);
    return new Routes(router, agents.inProcess());
  }

  /**
   * Starts serving {@code router}; while {@code database} is down requests are answered as an
   * outage, and a request that failed on it makes it check again.
   */
  static HttpServer listen(GatewaySettings settings, Router router, Database database) {
    HttpServer http =
        new HttpServer(
            new HttpServer.Address(settings.config().bindAddress(), settings.config().httpPort()),
            settings.host().ingressPort().stream()
                .mapToObj(p -> new HttpServer.Address(settings.host().ingressBindAddress(), p))
                .findFirst(),
            router,
            Json.STRICT,
            database::down,
            database::check);
    http.start();
    return http;
  }
}
