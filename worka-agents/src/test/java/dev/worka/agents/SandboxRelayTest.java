package dev.worka.agents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A built-in agent's own relay ({@code WORKA_GATEWAY_SOCKET}): what it carries from the agent's
 * loopback port to the Gateway's Unix socket, and back; nothing when the variable is absent.
 */
class SandboxRelayTest {
  @TempDir Path directory;

  @Test
  void carriesEachConnectionToTheSocketAndBackThenFreesThePort() throws Exception {
    Path socket = directory.resolve("gateway.sock");
    try (ServerSocketChannel gateway = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      gateway.bind(UnixDomainSocketAddress.of(socket));
      Thread.ofPlatform()
          .daemon()
          .start(
              () -> {
                for (int i = 0; i < 2; i++) {
                  try (SocketChannel c = gateway.accept()) {
                    ByteBuffer in = ByteBuffer.allocate(64);
                    c.read(in);
                    String asked = new String(in.array(), 0, in.position(), StandardCharsets.UTF_8);
                    c.write(
                        ByteBuffer.wrap(("gateway saw " + asked).getBytes(StandardCharsets.UTF_8)));
                  } catch (IOException e) {
                    return;
                  }
                }
              });
      int port = freePort();
      SandboxRelay relay = SandboxRelay.start(socket.toString(), "http://127.0.0.1:" + port);
      try {
        assertEquals("gateway saw one", exchange(port, "one"));
        assertEquals("gateway saw two", exchange(port, "two"));
      } finally {
        relay.close();
      }
      // Closed: the port is free again (nothing of the relay is left listening).
      try (ServerSocket again = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
        assertEquals(port, again.getLocalPort());
      }
    }
  }

  @Test
  void withoutTheVariableThereIsNoRelay() throws Exception {
    assertNull(SandboxRelay.start(null, "http://127.0.0.1:8080"));
    assertNull(SandboxRelay.start(" ", "http://127.0.0.1:8080"));
    assertNull(SandboxRelay.start(directory.resolve("s").toString(), "http://127.0.0.1"));
  }

  @Test
  void aPortItCannotListenOnIsAnError() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      assertThrows(
          IOException.class,
          () ->
              SandboxRelay.start(
                  directory.resolve("s").toString(), "http://127.0.0.1:" + taken.getLocalPort()));
    }
  }

  private static String exchange(int port, String text) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      OutputStream out = s.getOutputStream();
      out.write(text.getBytes(StandardCharsets.UTF_8));
      out.flush();
      s.shutdownOutput();
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }
}
