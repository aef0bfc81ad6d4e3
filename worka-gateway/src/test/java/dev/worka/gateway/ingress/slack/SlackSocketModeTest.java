package dev.worka.gateway.ingress.slack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.TestGateway;
import dev.worka.gateway.skill.slack.SlackApiStandIn;
import dev.worka.gateway.store.TestDatabase;
import dev.worka.protocol.Json;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.java_websocket.WebSocket;
import org.java_websocket.handshake.ClientHandshake;
import org.java_websocket.server.WebSocketServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Socket Mode ({@code SLACK_APP_TOKEN}): the Gateway asks the Web API stand-in for a WebSocket URL
 * ({@code apps.connections.open}, with the app token), connects to a local Socket Mode stand-in,
 * and an {@code events_api} envelope sent down that socket is acknowledged by its {@code
 * envelope_id} and becomes a run through the same handlers as over HTTP. No HTTP request URL is
 * served.
 */
class SlackSocketModeTest {
  static final String BOT_TOKEN = "xoxb-socket-Secret-3131";
  static final String APP_TOKEN = "xapp-1-A0TEST-socket-Secret-6262";

  @RegisterExtension static TestDatabase db = new TestDatabase();
  @TempDir Path home;

  /**
   * Slack's side of a Socket Mode connection: says hello, sends envelopes, collects
   * acknowledgements.
   */
  static final class SocketModeStandIn extends WebSocketServer {
    final CountDownLatch started = new CountDownLatch(1);
    final BlockingQueue<WebSocket> connections = new LinkedBlockingQueue<>();
    final BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();

    SocketModeStandIn() {
      super(new InetSocketAddress("127.0.0.1", 0));
      setReuseAddr(true);
    }

    @Override
    public void onStart() {
      started.countDown();
    }

    @Override
    public void onOpen(WebSocket conn, ClientHandshake handshake) {
      conn.send(
          "{\"type\":\"hello\",\"num_connections\":1,\"debug_info\":{\"host\":\"stand-in\"},"
              + "\"connection_info\":{\"app_id\":\"A0TEST\"}}");
      connections.add(conn);
    }

    @Override
    public void onMessage(WebSocket conn, String message) {
      received.add(Json.parse(message));
    }

    @Override
    public void onClose(WebSocket conn, int code, String reason, boolean remote) {}

    @Override
    public void onError(WebSocket conn, Exception ex) {}

    String url() throws InterruptedException {
      assertTrue(started.await(10, TimeUnit.SECONDS), "the WebSocket stand-in started");
      return "ws://127.0.0.1:" + getPort() + "/link";
    }
  }

  @Test
  void anEventOverSocketModeIsAcknowledgedAndBecomesARun() throws Exception {
    SocketModeStandIn socket = new SocketModeStandIn();
    socket.start();
    try (SlackApiStandIn slack = new SlackApiStandIn()) {
      slack.socketModeUrl(socket.url());
      try (TestGateway gw =
          TestGateway.startWithEnvironment(
              home,
              db.url(),
              TestGateway.builtinPolicyForTests(),
              "dry-run",
              Map.of(
                  "SLACK_BOT_TOKEN",
                  BOT_TOKEN,
                  "SLACK_APP_TOKEN",
                  APP_TOKEN,
                  "SLACK_API_URL",
                  slack.url()))) {
        WebSocket conn = socket.connections.poll(30, TimeUnit.SECONDS);
        assertNotNull(conn, "the Gateway connected in Socket Mode");
        SlackApiStandIn.Call open = slack.calls("apps.connections.open").get(0);
        assertEquals(
            "Bearer " + APP_TOKEN, open.authorization(), "the app token opens the connection");

        ObjectNode envelope =
            Json.STRICT
                .createObjectNode()
                .put("envelope_id", "env-1")
                .put("type", "events_api")
                .put("accepts_response_payload", false)
                .put("retry_attempt", 0)
                .put("retry_reason", "");
        envelope.set(
            "payload",
            Json.parse(
                SlackIngressTest.mention(
                    "Ev0SOCKET",
                    "C0DEV",
                    "U0DAVE",
                    "1700000900.000100",
                    null,
                    "what is on fire today?")));
        conn.send(envelope.toString());
        JsonNode ack = socket.received.poll(10, TimeUnit.SECONDS);
        assertNotNull(ack, "the envelope was acknowledged");
        assertEquals("env-1", ack.path("envelope_id").asText(), ack.toString());

        SlackApiStandIn.Message accepted =
            slack.awaitPost(p -> p.text().contains("accepted"), Duration.ofSeconds(60));
        assertEquals("1700000900.000100", accepted.threadTs());
        String runId = accepted.text().replaceAll("(?s).*run `([0-9a-f-]{36})`.*", "$1");
        JsonNode story = gw.story(runId);
        assertEquals("slack", story.path("source").asText(), story.toString());
        assertEquals("what is on fire today?", story.path("text").asText());

        assertEquals(
            404,
            gw.call("POST", SlackIngress.EVENTS, "{}", Map.of("Content-Type", "application/json"))
                .status(),
            "no public request URL in Socket Mode");
      }
    } finally {
      socket.stop(2_000);
    }
  }
}
