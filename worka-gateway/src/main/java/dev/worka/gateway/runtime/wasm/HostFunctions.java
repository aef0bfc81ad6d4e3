package dev.worka.gateway.runtime.wasm;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.types.FunctionType;
import com.dylibso.chicory.wasm.types.ValType;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.worka.protocol.ErrorBody;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.Json;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The import module {@value #MODULE}: a module's only way to the Gateway, each function one route
 * of the agent API made through {@link AgentCalls} with the step token this attempt was given
 * (which the module never sees). Every call returns the HTTP status the route answered and keeps
 * its JSON body as "the answer", which {@code answer} copies into the module's memory:
 *
 * <ul>
 *   <li>{@code context() -> i32}: {@code GET /v1/agent/context}
 *   <li>{@code skill(name_ptr, name_len, body_ptr, body_len) -> i32}: {@code POST
 *       /v1/agent/skills/{name}} with the body {@code {"input": {...}, "idempotency_key": "..."}}
 *   <li>{@code result(body_ptr, body_len) -> i32}: {@code POST /v1/agent/result}
 *   <li>{@code answer(out_ptr, out_cap) -> i32}: copies {@code min(length, out_cap)} bytes of the
 *       last answer to {@code out_ptr} and returns its whole length (call it with {@code out_cap} 0
 *       to learn the length)
 * </ul>
 *
 * A pointer or length outside the module's memory traps the module; a skill name that is not 1..
 * {@value #MAX_NAME_BYTES} bytes of UTF-8 without control characters is answered {@code 404}, as
 * the route would answer a path it does not serve; a body past the route's limit {@code 413}.
 */
final class HostFunctions {
  static final String MODULE = "worka";
  static final int MAX_NAME_BYTES = 200;

  /** The largest body a module may hand a call (the agent API's largest route limit, 1 MiB). */
  static final int MAX_BODY_BYTES = 1024 * 1024;

  private final AgentCalls calls;
  private final String token;
  private volatile AgentCalls.Answer last = new AgentCalls.Answer(204, new byte[0]);
  private volatile boolean resultPosted;

  HostFunctions(AgentCalls calls, String token) {
    this.calls = calls;
    this.token = token;
  }

  /** Whether the module posted a result through {@code result} (the runtime then posts none). */
  boolean resultPosted() {
    return resultPosted;
  }

  List<HostFunction> functions() {
    ValType i32 = ValType.I32;
    return List.of(
        new HostFunction(
            MODULE,
            "context",
            FunctionType.of(List.of(), List.of(i32)),
            (instance, args) -> status(calls.context(token))),
        new HostFunction(
            MODULE,
            "skill",
            FunctionType.of(List.of(i32, i32, i32, i32), List.of(i32)),
            (instance, args) -> skill(instance.memory(), args)),
        new HostFunction(
            MODULE,
            "result",
            FunctionType.of(List.of(i32, i32), List.of(i32)),
            (instance, args) -> {
              byte[] body = body(instance.memory(), (int) args[0], (int) args[1]);
              AgentCalls.Answer answer = body == null ? tooLarge() : calls.result(token, body);
              if (answer.status() == 200) {
                resultPosted = true;
              }
              return status(answer);
            }),
        new HostFunction(
            MODULE,
            "answer",
            FunctionType.of(List.of(i32, i32), List.of(i32)),
            (instance, args) -> answer(instance, (int) args[0], (int) args[1])));
  }

  private long[] skill(Memory memory, long[] args) {
    byte[] name = read(memory, (int) args[0], (int) args[1], MAX_NAME_BYTES);
    String skill = name == null ? null : text(name);
    if (skill == null || skill.isEmpty() || skill.codePoints().anyMatch(Character::isISOControl)) {
      return status(
          error(
              404,
              ErrorCodes.NOT_FOUND,
              "a skill name is 1.."
                  + MAX_NAME_BYTES
                  + " bytes of UTF-8 without control characters"));
    }
    byte[] body = body(memory, (int) args[2], (int) args[3]);
    return status(body == null ? tooLarge() : calls.skill(token, skill, body));
  }

  private long[] answer(Instance instance, int out, int cap) {
    byte[] body = last.body();
    int n = Math.min(body.length, Math.max(cap, 0));
    if (n > 0) {
      instance.memory().write(out, body, 0, n);
    }
    return new long[] {body.length};
  }

  private long[] status(AgentCalls.Answer answer) {
    last = answer;
    return new long[] {answer.status()};
  }

  /** The body at {@code ptr}, or null when it is longer than {@link #MAX_BODY_BYTES}. */
  private static byte[] body(Memory memory, int ptr, int len) {
    return read(memory, ptr, len, MAX_BODY_BYTES);
  }

  private static byte[] read(Memory memory, int ptr, int len, int max) {
    if (len < 0 || len > max) {
      return null;
    }
    return memory.readBytes(ptr, len);
  }

  private static String text(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static AgentCalls.Answer tooLarge() {
    return error(413, ErrorCodes.TOO_LARGE, "the body is larger than " + MAX_BODY_BYTES + " bytes");
  }

  private static AgentCalls.Answer error(int status, String code, String message) {
    try {
      return new AgentCalls.Answer(
          status, Json.STRICT.writeValueAsBytes(ErrorBody.of(code, message)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an error body did not serialize", e);
    }
  }
}
