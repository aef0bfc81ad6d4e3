package dev.worka.gateway.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.redaction.OutputCleaner;
import dev.worka.protocol.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Memories in mem0 (its platform REST API; mem0 has no official Java SDK, so this speaks it with
 * the JDK's {@link HttpClient}): {@code POST /v1/memories/} adds one (the agent as {@code
 * agent_id}, {@code infer: false} so mem0 stores the Gateway's cleaned text as it is, provenance in
 * {@code metadata}), {@code POST /v2/memories/search/} searches an agent's (a filter on its {@code
 * agent_id}), {@code GET /v1/memories/?agent_id=} lists them, {@code GET} and {@code DELETE
 * /v1/memories/{id}/} read and delete one; every call carries {@code Authorization: Token
 * <MEM0_API_KEY>} and is bounded by {@code MEM0_TIMEOUT}.
 *
 * <p>mem0 is an upstream: what it answers is validated — a body larger than {@value #MAX_BODY}
 * bytes, not JSON, or not a list of memories is refused; a memory without a string id and text, or
 * of another agent than the one asked for, is dropped with a warning — and its texts are cleaned
 * again before any reaches an agent.
 */
final class Mem0Memories implements MemoryStore {
  private static final Logger log = LoggerFactory.getLogger(Mem0Memories.class);

  /** The largest answer read from mem0, in bytes. */
  static final int MAX_BODY = 1024 * 1024;

  /** What a mem0 memory id may look like (it becomes part of a URL path). */
  static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,100}");

  private static final int MAX_TEXT = 20_000;

  private final MemorySettings.Mem0 settings;
  private final OutputCleaner cleaner;
  private final HttpClient http;

  Mem0Memories(MemorySettings.Mem0 settings, OutputCleaner cleaner) {
    this.settings = settings;
    this.cleaner = cleaner;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(settings.timeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  @Override
  public String name() {
    return "mem0";
  }

  @Override
  public void add(Memory m) {
    ObjectNode body = Json.STRICT.createObjectNode();
    ArrayNode messages = body.putArray("messages");
    messages.addObject().put("role", "user").put("content", m.text());
    body.put("agent_id", m.agent());
    body.put("infer", false);
    ObjectNode metadata = body.putObject("metadata");
    metadata.put("worka_memory_id", m.id());
    metadata.put("worka_run_id", m.runId().toString());
    metadata.put("worka_step_id", m.stepId().toString());
    body.put("output_format", "v1.1");
    send("POST", "/v1/memories/", body);
  }

  @Override
  public List<Memory> search(String agent, String query, int limit) {
    ObjectNode body = Json.STRICT.createObjectNode();
    body.put("query", query == null ? "" : query);
    body.putObject("filters").putArray("AND").addObject().put("agent_id", agent);
    body.put("top_k", limit);
    return memories(send("POST", "/v2/memories/search/", body), agent, limit);
  }

  @Override
  public List<Memory> list(String agent, int limit) {
    String path = "/v1/memories/?agent_id=" + URLEncoder.encode(agent, StandardCharsets.UTF_8);
    return memories(send("GET", path, null), agent, limit);
  }

  @Override
  public Optional<Memory> find(String id) {
    if (!ID.matcher(id).matches()) {
      return Optional.empty();
    }
    Answer a = call("GET", "/v1/memories/" + id + "/", null);
    if (a.status == 404) {
      return Optional.empty();
    }
    JsonNode body = ok(a, "GET /v1/memories/{id}/");
    return memory(body, null);
  }

  @Override
  public boolean delete(String id) {
    if (!ID.matcher(id).matches()) {
      return false;
    }
    Answer a = call("DELETE", "/v1/memories/" + id + "/", null);
    if (a.status == 404) {
      return false;
    }
    ok(a, "DELETE /v1/memories/{id}/");
    return true;
  }

  /**
   * The memories in an answer (a list, or an object whose {@code results} is one) of {@code agent}.
   */
  private List<Memory> memories(JsonNode body, String agent, int limit) {
    JsonNode list = body.isArray() ? body : body.path("results");
    if (!list.isArray()) {
      throw new IllegalStateException(
          "mem0 answered something other than a list of memories (" + body.getNodeType() + ")");
    }
    List<Memory> out = new ArrayList<>();
    int dropped = 0;
    for (JsonNode item : list) {
      if (out.size() == limit) {
        break;
      }
      Optional<Memory> m = memory(item, agent);
      if (m.isPresent()) {
        out.add(m.get());
      } else {
        dropped++;
      }
    }
    if (dropped > 0) {
      log.warn(
          "memory: ignored {} item(s) of mem0's answer for {}: not a memory of that agent (a"
              + " string id and text, agent_id {})",
          dropped,
          agent,
          agent);
    }
    return out;
  }

  /**
   * {@code item} as a memory, if it is one: a string {@code id} mem0 could be asked about again, a
   * string {@code memory}, and, when {@code agent} is given, {@code agent_id} equal to it.
   */
  private Optional<Memory> memory(JsonNode item, String agent) {
    if (!item.isObject()
        || !item.path("id").isTextual()
        || !ID.matcher(item.path("id").asText()).matches()
        || !item.path("memory").isTextual()
        || item.path("memory").asText().length() > MAX_TEXT
        || !item.path("agent_id").isTextual()) {
      return Optional.empty();
    }
    String owner = item.path("agent_id").asText();
    if (agent != null && !owner.equals(agent)) {
      return Optional.empty();
    }
    JsonNode meta = item.path("metadata");
    return Optional.of(
        new Memory(
            item.path("id").asText(),
            owner,
            uuid(meta.path("worka_run_id")),
            uuid(meta.path("worka_step_id")),
            cleaner.cleanText(item.path("memory").asText(), new HashMap<>()),
            instant(item.path("created_at"))));
  }

  private static UUID uuid(JsonNode n) {
    try {
      return n.isTextual() ? UUID.fromString(n.asText()) : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static Instant instant(JsonNode n) {
    try {
      return n.isTextual() ? java.time.OffsetDateTime.parse(n.asText()).toInstant() : null;
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private JsonNode send(String method, String path, JsonNode body) {
    return ok(call(method, path, body), method + " " + path.replaceAll("\\?.*", ""));
  }

  /** mem0's status and body (its text: at most {@value #MAX_BODY} bytes of UTF-8). */
  private record Answer(int status, String body) {}

  /** The answer's JSON when its status is 2xx; otherwise an error naming the call and status. */
  private static JsonNode ok(Answer a, String call) {
    if (a.status / 100 != 2) {
      throw new IllegalStateException("mem0 answered " + a.status + " to " + call);
    }
    try {
      return a.body.isEmpty() ? Json.STRICT.createObjectNode() : Json.STRICT.readTree(a.body);
    } catch (IOException e) {
      throw new IllegalStateException("mem0 answered " + call + " with a body that is not JSON");
    }
  }

  private Answer call(String method, String path, JsonNode body) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(settings.baseUrl() + path))
            .timeout(settings.timeout())
            .header("Authorization", "Token " + settings.apiKey())
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(Json.write(body)))
            .build();
    try {
      HttpResponse<InputStream> r = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = r.body()) {
        byte[] read = in.readNBytes(MAX_BODY + 1);
        if (read.length > MAX_BODY) {
          throw new IllegalStateException(
              "mem0's answer to " + method + " is larger than " + MAX_BODY + " bytes");
        }
        return new Answer(r.statusCode(), new String(read, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new IllegalStateException(
          "mem0 could not be reached at " + settings.baseUrl() + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while calling mem0");
    }
  }
}
