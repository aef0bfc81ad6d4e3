package dev.worka.gateway.runtime.wasm;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The agent protocol (DESIGN §5) for a worker that runs inside the Gateway's process: a {@code
 * wasm} module's Gateway calls, made with the step token its runtime holds. Each call is answered
 * exactly as its HTTP route answers it (the same authentication, decision, gates and records, the
 * same status and JSON body); the agent adapters implement it ({@code agent.AgentApi#inProcess}),
 * so a module reaches nothing an HTTP agent with the same token could not.
 */
public interface AgentCalls {

  /** {@code GET /v1/agent/context}: the step envelope. */
  Answer context(String token);

  /** {@code POST /v1/agent/skills/{skill}} with {@code body}. */
  Answer skill(String token, String skill, byte[] body);

  /** {@code POST /v1/agent/result} with {@code body}. */
  Answer result(String token, byte[] body);

  /** What the route answered: its HTTP status and JSON body. */
  @SuppressWarnings("ArrayRecordComponent") // an answer handed on as it came, never compared
  record Answer(int status, byte[] body) {
    public Answer {
      if (status < 100 || status > 599) {
        throw new IllegalArgumentException("status must be an HTTP status, was " + status);
      }
      Objects.requireNonNull(body, "body");
    }

    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "Answer[status=" + status + ", body=" + bodyText() + "]";
    }
  }
}
