package dev.worka.agents;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The sandbox's half of the Gateway relay, inside a built-in agent's own JVM: in a sandbox with no
 * network but its own loopback, the Gateway gives a built-in agent a Unix socket ({@code
 * WORKA_GATEWAY_SOCKET}, mounted read-only) instead of starting a relay JVM in front of it; the
 * agent listens on {@code 127.0.0.1} (and {@code ::1}) at its {@code WORKA_GATEWAY_URL}'s port and
 * carries each connection to that socket, where the Gateway's half counts and caps them. The relay
 * has no authority of its own: whatever runs in the sandbox can reach the socket anyway.
 *
 * <p>Platform threads only, and every channel closed before the JVM exits (a thread blocked in
 * native I/O at exit holds the JVM's exit).
 */
final class SandboxRelay implements AutoCloseable {
  /** Set by the Gateway for a built-in agent without a network; absent everywhere else. */
  static final String SOCKET_VARIABLE = dev.worka.protocol.AgentEnvironment.GATEWAY_SOCKET;

  private static final int BUFFER = 16 * 1024;

  private final Set<Channel> open = ConcurrentHashMap.newKeySet();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();

  private SandboxRelay() {}

  /**
   * Starts the relay when {@code WORKA_GATEWAY_SOCKET} is set and {@code WORKA_GATEWAY_URL} names a
   * loopback port; null otherwise (the agent then reaches the Gateway directly).
   *
   * @throws IOException when it is set and {@code 127.0.0.1} at that port cannot be listened on
   */
  static SandboxRelay start(String socket, String gatewayUrl) throws IOException {
    if (socket == null || socket.isBlank() || gatewayUrl == null) {
      return null;
    }
    int port;
    try {
      port = URI.create(gatewayUrl.strip()).getPort();
    } catch (IllegalArgumentException e) {
      return null;
    }
    if (port < 1) {
      return null;
    }
    UnixDomainSocketAddress gateway = UnixDomainSocketAddress.of(Path.of(socket));
    SandboxRelay relay = new SandboxRelay();
    List<ServerSocketChannel> listening = new ArrayList<>();
    listening.add(listen(new InetSocketAddress("127.0.0.1", port)));
    try {
      listening.add(listen(new InetSocketAddress("::1", port)));
    } catch (IOException e) {
      // no IPv6 loopback in this sandbox: 127.0.0.1 alone
    }
    for (ServerSocketChannel server : listening) {
      relay.open.add(server);
      relay.threads.add(
          Thread.ofPlatform()
              .daemon()
              .name("worka-relay")
              .start(() -> relay.accept(server, gateway)));
    }
    return relay;
  }

  private void accept(ServerSocketChannel server, UnixDomainSocketAddress gateway) {
    while (true) {
      SocketChannel worker;
      try {
        worker = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      open.add(worker);
      threads.add(
          Thread.ofPlatform()
              .daemon()
              .start(
                  () -> {
                    try (SocketChannel toGateway = SocketChannel.open(gateway)) {
                      open.add(toGateway);
                      join(worker, toGateway);
                    } catch (IOException e) {
                      closeQuietly(worker);
                    }
                  }));
    }
  }

  private static ServerSocketChannel listen(InetSocketAddress address) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open();
    try {
      server.bind(address);
      return server;
    } catch (IOException | RuntimeException e) {
      closeQuietly(server);
      throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
    }
  }

  /** Copies both ways until each side has ended; then both are closed. */
  private void join(SocketChannel a, SocketChannel b) {
    Thread back = Thread.ofPlatform().daemon().start(() -> copy(b, a));
    threads.add(back);
    copy(a, b);
    try {
      back.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeQuietly(a);
    closeQuietly(b);
    open.remove(a);
    open.remove(b);
  }

  /** Copies {@code from} to {@code to} until {@code from} ends, then ends {@code to}'s output. */
  private static void copy(SocketChannel from, SocketChannel to) {
    ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
    try {
      while (from.read(buffer) >= 0) {
        buffer.flip();
        while (buffer.hasRemaining()) {
          to.write(buffer);
        }
        buffer.clear();
      }
      to.shutdownOutput();
    } catch (IOException e) {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  /** Closes every listener and connection, and waits briefly for their threads to end. */
  @Override
  public void close() {
    open.forEach(SandboxRelay::closeQuietly);
    long deadline = System.nanoTime() + 200_000_000L;
    for (Thread t : threads) {
      try {
        t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static void closeQuietly(Channel c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // closing is all that is left to do
    }
  }
}
