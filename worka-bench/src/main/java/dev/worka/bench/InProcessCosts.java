package dev.worka.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.gateway.policy.CompiledPolicy;
import dev.worka.gateway.policy.ConditionContext;
import dev.worka.gateway.policy.Decision;
import dev.worka.gateway.policy.PolicyDecider;
import dev.worka.gateway.run.RunSource;
import dev.worka.gateway.skill.InvocationContext;
import dev.worka.gateway.skill.SkillRegistry;
import dev.worka.gateway.token.TokenVerifier;
import dev.worka.gateway.token.Verification;
import dev.worka.protocol.Json;
import dev.worka.protocol.SkillCallResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;

/**
 * The in-memory pieces of a mediated call, each timed alone on one thread (no I/O, no contention):
 * what the CPU spends per call before and after the database. A quick breakdown, not a JMH
 * benchmark: the point is their size next to a millisecond.
 */
final class InProcessCosts {
  /**
   * Each piece runs at most this many times, and for at most {@link #BUDGET_NANOS}, to warm up,
   * then again to measure.
   */
  private static final int ITERATIONS = 20_000;

  private static final long BUDGET_NANOS = TimeUnit.SECONDS.toNanos(1);

  private InProcessCosts() {}

  static Map<String, Histogram> measure(
      TokenVerifier verifier,
      String token,
      SkillRegistry skills,
      CompiledPolicy policy,
      String body,
      UUID run,
      UUID step) {
    JsonNode input = Json.parse(body).path("input");
    InvocationContext ctx = new InvocationContext(run, step, "ernest", UUID.randomUUID(), "bench");
    ConditionContext condition =
        new ConditionContext(
            input,
            new ConditionContext.Run(
                run.toString(),
                RunSource.API.sql(),
                "open an issue in acme/widgets titled 'bench'",
                "bench",
                "",
                ""),
            new ConditionContext.Step(
                step.toString(), "file", "ernest", List.of("github.create_issue")));
    JsonNode output = skills.invoke("github.create_issue", input, ctx);
    SkillCallResult result = new SkillCallResult(UUID.randomUUID().toString(), output, false);
    String bearer = "Bearer " + token;

    Map<String, Supplier<Object>> pieces = new LinkedHashMap<>();
    pieces.put(
        "token verification (ES256 signature + claims)",
        () -> {
          if (!(verifier.verify(bearer) instanceof Verification.Verified v)) {
            throw new IllegalStateException("the bench token does not verify");
          }
          return v;
        });
    pieces.put("parse the request body (Jackson)", () -> Json.parse(body));
    pieces.put("input schema validation", () -> skills.validateInput("github.create_issue", input));
    pieces.put(
        "CEL condition (github.create_issue's `when`)",
        () -> {
          if (!(PolicyDecider.condition(policy, "github.create_issue", condition)
              instanceof Decision.Allow a)) {
            throw new IllegalStateException("the bench input must be allowed");
          }
          return a;
        });
    pieces.put(
        "dry-run effect (SkillRegistry.invoke, validates again)",
        () -> skills.invoke("github.create_issue", input, ctx));
    pieces.put("write the answer (Jackson)", () -> Json.write(result));

    Map<String, Histogram> out = new LinkedHashMap<>();
    // Only written: each answer is kept long enough that the JIT cannot drop the work making it.
    @SuppressWarnings("ModifiedButNotUsed")
    List<Object> sink = new ArrayList<>(1);
    pieces.forEach(
        (name, piece) -> {
          long until = System.nanoTime() + BUDGET_NANOS;
          for (int i = 0; i < ITERATIONS && System.nanoTime() < until; i++) {
            sink.add(piece.get());
            sink.clear();
          }
          Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
          until = System.nanoTime() + BUDGET_NANOS;
          for (int i = 0; i < ITERATIONS && System.nanoTime() < until; i++) {
            long t = System.nanoTime();
            sink.add(piece.get());
            h.recordValue(System.nanoTime() - t);
            sink.clear();
          }
          out.put(name, h);
        });
    return out;
  }
}
