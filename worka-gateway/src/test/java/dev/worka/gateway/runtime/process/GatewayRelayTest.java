package dev.worka.gateway.runtime.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Gateway's half of the relay, and the clean-up of what killed Gateways left. */
class GatewayRelayTest {
  @TempDir Path tmp;

  @Test
  @SuppressWarnings("try") // `relay` serves the socket while the block talks through it
  void aConnectionToTheSocketReachesTheGatewayPortBothWays() throws Exception {
    try (ServerSocketChannel gateway = ServerSocketChannel.open()) {
      gateway.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      int port = ((InetSocketAddress) gateway.getLocalAddress()).getPort();
      Path socket = tmp.resolve("gateway.sock");
      try (GatewayRelay relay = GatewayRelay.serve(socket, port);
          SocketChannel worker = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
        worker.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.UTF_8)));
        worker.shutdownOutput();
        try (SocketChannel accepted = gateway.accept()) {
          assertEquals("ping", readAll(accepted));
          accepted.write(ByteBuffer.wrap("pong".getBytes(StandardCharsets.UTF_8)));
        }
        assertEquals("pong", readAll(worker));
      }
    }
  }

  @Test
  void onlyWhatStoppedGatewaysLeftIsRemoved() throws Exception {
    Path dead = Files.createDirectory(tmp.resolve("worka-relay-dead"));
    try (ServerSocketChannel bound =
        ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
      bound.bind(UnixDomainSocketAddress.of(dead.resolve(GatewayRelay.SOCKET_NAME)));
    } // closed without deleting: nobody listens on it any more
    Path live = Files.createDirectory(tmp.resolve("worka-relay-live"));
    Path emptyOld = Files.createDirectory(tmp.resolve("worka-relay-empty-old"));
    Files.setLastModifiedTime(emptyOld, FileTime.from(Instant.now().minusSeconds(600)));
    Path emptyNew = Files.createDirectory(tmp.resolve("worka-relay-being-set-up"));
    Path other = Files.createDirectory(tmp.resolve("worka-relay-with-more"));
    Files.writeString(other.resolve("notes.txt"), "not a relay's");
    Path unrelated = Files.createDirectory(tmp.resolve("something-else"));
    try (ServerSocketChannel listening =
        ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
      listening.bind(UnixDomainSocketAddress.of(live.resolve(GatewayRelay.SOCKET_NAME)));

      assertEquals(2, GatewayRelay.removeStale(tmp, "worka-relay-"));
      assertFalse(Files.exists(dead), "its socket refuses connections");
      assertFalse(Files.exists(emptyOld));
      assertTrue(Files.exists(live), "a live Gateway's relay stays");
      assertTrue(Files.exists(emptyNew), "one being set up stays");
      assertTrue(Files.exists(other.resolve("notes.txt")));
      assertTrue(Files.exists(unrelated));
    }
  }

  private static String readAll(SocketChannel channel) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(64);
    while (channel.read(buffer) >= 0) {
      if (!buffer.hasRemaining()) {
        break;
      }
    }
    buffer.flip();
    return StandardCharsets.UTF_8.decode(buffer).toString();
  }
}
