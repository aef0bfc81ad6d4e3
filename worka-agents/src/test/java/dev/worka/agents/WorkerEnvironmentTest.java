package dev.worka.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.protocol.AgentEnvironment;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerEnvironmentTest {
  private static WorkerEnvironment usable(Map<String, String> env, String agent) {
    return assertInstanceOf(
            WorkerEnvironment.Reading.Usable.class, WorkerEnvironment.read(env, agent))
        .environment();
  }

  @Test
  void readsTheEnvironmentAndNeverShowsTheToken() {
    WorkerEnvironment environment =
        usable(
            Map.of(
                AgentEnvironment.GATEWAY_URL, "http://127.0.0.1:8080/",
                AgentEnvironment.TOKEN, " secret.jwt.value ",
                AgentEnvironment.AGENT, "daneel",
                AgentEnvironment.RUN_ID, "run-1",
                AgentEnvironment.STEP_ID, "step-1",
                AgentEnvironment.TRACEPARENT,
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            null);
    assertEquals(URI.create("http://127.0.0.1:8080"), environment.gatewayUrl());
    assertEquals("secret.jwt.value", environment.token());
    assertEquals("daneel", environment.agent());
    assertFalse(environment.toString().contains("secret"), environment.toString());
  }

  /** The agents image's ENTRYPOINT passes no argument: the Job names the agent in WORKA_AGENT. */
  @Test
  void anArgumentWinsOverWorkaAgentAndWithNeitherTheMessageSaysWhatToSet() {
    Map<String, String> env =
        Map.of(
            AgentEnvironment.GATEWAY_URL, "http://gateway.example:8080",
            AgentEnvironment.TOKEN, "t.t.t",
            AgentEnvironment.AGENT, "daneel");
    assertEquals("ernest", usable(env, "ernest").agent());
    assertEquals("daneel", usable(env, null).agent());
    var unusable =
        assertInstanceOf(
            WorkerEnvironment.Reading.Unusable.class,
            WorkerEnvironment.read(
                Map.of(
                    AgentEnvironment.GATEWAY_URL, "http://gateway.example:8080",
                    AgentEnvironment.TOKEN, "t.t.t",
                    AgentEnvironment.AGENT, " "),
                null));
    assertTrue(unusable.message().contains(AgentEnvironment.AGENT), unusable.message());
  }

  @Test
  void dropsATraceparentThatIsNotW3CTraceContext() {
    WorkerEnvironment.Reading reading =
        WorkerEnvironment.read(
            Map.of(
                AgentEnvironment.GATEWAY_URL, "https://gateway.example",
                AgentEnvironment.TOKEN, "t.t.t",
                AgentEnvironment.TRACEPARENT, "nonsense"),
            "hari");
    var usable = assertInstanceOf(WorkerEnvironment.Reading.Usable.class, reading);
    assertNull(usable.environment().traceparent());
    assertTrue(usable.notice().isPresent());
  }

  @Test
  void refusesATokenThatCannotBeAHeader() {
    var unusable =
        assertInstanceOf(
            WorkerEnvironment.Reading.Unusable.class,
            WorkerEnvironment.read(
                Map.of(
                    AgentEnvironment.GATEWAY_URL, "http://127.0.0.1:8080",
                    AgentEnvironment.TOKEN, "two words"),
                "hari"));
    assertFalse(unusable.message().contains("two words"), unusable.message());
  }
}
