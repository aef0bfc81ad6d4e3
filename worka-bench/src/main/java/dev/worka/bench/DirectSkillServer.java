package dev.worka.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.http.ApiResponse;
import dev.worka.gateway.http.HttpServer;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.protocol.Json;
import dev.worka.protocol.SkillCallResult;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The baseline for a mediated call: the same request answered the same way without mediation. It
 * serves {@code POST /v1/agent/skills/{skill}} on the Gateway's own HTTP stack (its {@link
 * HttpServer}: Jetty on virtual threads, its {@link Router}, its Jackson mapper) and answers with
 * what {@link SkillRegistry#invoke} returns in dry-run mode — the effect itself, input schema check
 * included — wrapped in the same {@link SkillCallResult}. No token, no policy, no database.
 *
 * <p>So {@code mediated − direct} is what mediation adds to a call that already crosses HTTP: token
 * verification, the run and step reads, the policy decision and CEL condition, the decision
 * transaction (run and step locks, limit counts, the gate on the hash chain, the invocation row)
 * and the outcome transaction, and output cleaning.
 */
final class DirectSkillServer implements AutoCloseable {
  private static final UUID RUN = UUID.fromString("00000000-0000-4000-8000-000000000001");
  private static final UUID STEP = UUID.fromString("00000000-0000-4000-8000-000000000002");

  private final HttpServer http;

  DirectSkillServer(SkillRegistry skills) {
    Router router = new Router();
    router.add(
        "POST",
        "/v1/agent/skills/{skill}",
        1024 * 1024,
        request -> {
          String skill = request.pathVariable("skill");
          JsonNode body = Json.STRICT.readTree(new String(request.body(), StandardCharsets.UTF_8));
          UUID invocation = UUID.randomUUID();
          String key = body.path("idempotency_key").asText(null);
          JsonNode output =
              skills.invoke(
                  skill,
                  body.path("input"),
                  new InvocationContext(RUN, STEP, "ernest", invocation, key));
          return ApiResponse.ok(new SkillCallResult(invocation.toString(), output, false));
        });
    http = new HttpServer("127.0.0.1", 0, router, Json.STRICT);
    http.start();
  }

  String baseUrl() {
    return "http://127.0.0.1:" + http.port();
  }

  @Override
  public void close() {
    http.close();
  }
}
