package dev.worka.gateway.runtime.process;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Carries a sandboxed worker's connections to the Gateway when the worker has no network but its
 * own loopback (bubblewrap's {@code --unshare-net}): the worker can then reach the Gateway and
 * nothing else — no other service on the host's loopback, no cloud metadata endpoint, no other
 * host. Two halves, joined by a Unix socket that is mounted into the sandbox (a file system socket
 * crosses network namespaces; nothing else does):
 *
 * <ul>
 *   <li>{@link #serve}, in the Gateway: listens on the Unix socket and connects each connection to
 *       the Gateway's own HTTP port on loopback;
 *   <li>{@link #main}, inside the sandbox, in front of the worker: listens on {@code 127.0.0.1}
 *       (and {@code ::1}) at the Gateway's port in the sandbox's own network namespace — so the
 *       worker's {@code WORKA_GATEWAY_URL} is unchanged —, carries each connection to the Unix
 *       socket, runs the worker's command as its child with the same standard streams and
 *       environment, and exits with the worker's status.
 * </ul>
 *
 * <p>Bytes are copied as they are: TLS, HTTP/1.1 keep-alive and streaming answers pass through.
 * This class uses the JDK only, because inside the sandbox it runs with nothing else on its class
 * path.
 */
final class GatewayRelay implements AutoCloseable {
  private static final int BUFFER = 16 * 1024;
  static final String SOCKET_NAME = "gateway.sock";

  private final ServerSocketChannel server;
  private final Thread acceptor;

  private GatewayRelay(ServerSocketChannel server, Thread acceptor) {
    this.server = server;
    this.acceptor = acceptor;
  }

  /**
   * How many connections one worker may hold open through its relay at once: a fixed 16, far above
   * what an agent needs (the built-in agents use one or two) and low enough that a flood of them
   * costs the Gateway little (each is two virtual threads and two sockets here, two threads inside
   * the worker's sandbox). The connection past it stops the worker ({@code connections} limit).
   */
  static final int MAX_CONNECTIONS_PER_WORKER = 16;

  /**
   * Listens on a new Unix socket at {@code socket} (its directory must exist and should be this
   * user's only) and relays each connection to {@code 127.0.0.1:port}, without a cap.
   */
  static GatewayRelay serve(Path socket, int port) throws IOException {
    return serve(socket, port, Integer.MAX_VALUE, detail -> {});
  }

  /**
   * As {@link #serve(Path, int)}, for one worker: at most {@code maxConnections} relayed at once; a
   * connection past them is closed unrelayed and {@code overLimit} is told, once, what happened.
   */
  static GatewayRelay serve(
      Path socket, int port, int maxConnections, java.util.function.Consumer<String> overLimit)
      throws IOException {
    Files.deleteIfExists(socket);
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    InetSocketAddress gateway = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    java.util.concurrent.atomic.AtomicInteger open =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean told =
        new java.util.concurrent.atomic.AtomicBoolean();
    Thread acceptor =
        Thread.ofVirtual()
            .name("worka-gateway-relay")
            .start(
                () -> {
                  while (server.isOpen()) {
                    SocketChannel worker;
                    try {
                      worker = server.accept();
                    } catch (IOException e) {
                      return; // closed
                    }
                    if (open.incrementAndGet() > maxConnections) {
                      open.decrementAndGet();
                      closeQuietly(worker);
                      if (told.compareAndSet(false, true)) {
                        overLimit.accept(
                            "it opened more than "
                                + maxConnections
                                + " connections to the Gateway at once");
                      }
                      continue;
                    }
                    Thread.ofVirtual()
                        .start(
                            () -> {
                              try (SocketChannel toGateway = SocketChannel.open(gateway)) {
                                join(worker, toGateway);
                              } catch (IOException e) {
                                closeQuietly(worker);
                              } finally {
                                open.decrementAndGet();
                              }
                            });
                  }
                });
    return new GatewayRelay(server, acceptor);
  }

  /**
   * Deletes the directories named {@code prefix}… in {@code parent} that Gateways which stopped
   * without cleaning up (killed) left: holding nothing but a {@link #SOCKET_NAME} nobody listens on
   * any more (a connection is refused), or nothing at all for a minute. A directory of a live
   * Gateway accepts the connection and stays; one being set up stays. Returns how many went.
   */
  static int removeStale(Path parent, String prefix) {
    int removed = 0;
    try (var entries = Files.newDirectoryStream(parent, prefix + "*")) {
      for (Path directory : entries) {
        // Not this user's: not readable inside (0700), or not deletable (the sticky /tmp).
        Path socket = directory.resolve(SOCKET_NAME);
        if (!Files.isDirectory(directory, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        if (Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)
            ? listening(socket)
            : !emptyAndOld(directory)) {
          continue;
        }
        try (var inside = Files.list(directory)) {
          if (inside.anyMatch(p -> !p.getFileName().toString().equals(SOCKET_NAME))) {
            continue;
          }
          Files.deleteIfExists(socket);
          Files.deleteIfExists(directory);
          removed++;
        } catch (IOException e) {
          // another Gateway is cleaning it up, or it is not ours to remove
        }
      }
    } catch (IOException e) {
      return removed;
    }
    return removed;
  }

  /** An empty directory untouched for a minute: not one being set up (that takes milliseconds). */
  private static boolean emptyAndOld(Path directory) {
    try (var inside = Files.list(directory)) {
      return inside.findAny().isEmpty()
          && Files.getLastModifiedTime(directory)
              .toInstant()
              .isBefore(java.time.Instant.now().minusSeconds(60));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean listening(Path socket) {
    try {
      SocketChannel.open(UnixDomainSocketAddress.of(socket)).close();
      return true;
    } catch (IOException e) {
      return !(e instanceof java.net.ConnectException);
    }
  }

  @Override
  public void close() {
    closeQuietly(server);
    acceptor.interrupt();
  }

  /**
   * Inside the sandbox: {@code <port> <unix socket> <command> [arguments…]}. Exits with the
   * command's status (128 + the signal's number when a signal ended it, as a shell says), or 126
   * when the relay or the command cannot start.
   *
   * <p>Platform threads only, and every channel closed (and its thread out of its blocking call)
   * before the JVM halts: a thread blocked in native I/O at exit — a virtual thread's poller
   * included — holds the JVM's exit for 300 ms.
   */
  public static void main(String[] args) {
    if (args.length < 3) {
      System.err.println("usage: GatewayRelay <port> <unix socket> <command> [arguments…]");
      Runtime.getRuntime().halt(126);
    }
    int port = Integer.parseInt(args[0]);
    UnixDomainSocketAddress gateway = UnixDomainSocketAddress.of(args[1]);
    List<String> command = Arrays.asList(args).subList(2, args.length);
    Set<java.nio.channels.Channel> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
    List<Thread> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<ServerSocketChannel> listening = new ArrayList<>();
    try {
      listening.add(listen(new InetSocketAddress("127.0.0.1", port)));
    } catch (IOException e) {
      System.err.println(
          "worka: cannot listen on 127.0.0.1:" + port + " in the sandbox: " + e.getMessage());
      Runtime.getRuntime().halt(126);
    }
    try {
      listening.add(listen(new InetSocketAddress("::1", port)));
    } catch (IOException e) {
      // no IPv6 loopback in this sandbox: 127.0.0.1 alone
    }
    for (ServerSocketChannel server : listening) {
      open.add(server);
      threads.add(
          Thread.ofPlatform()
              .daemon()
              .name("worka-relay")
              .start(
                  () -> {
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
                                      join(worker, toGateway, open, threads);
                                    } catch (IOException e) {
                                      closeQuietly(worker);
                                    }
                                  }));
                    }
                  }));
    }
    int status;
    try {
      Process child = new ProcessBuilder(command).inheritIO().start();
      status = awaitUninterruptibly(child);
    } catch (IOException e) {
      System.err.println(
          "worka: cannot start " + command.get(0) + " in the sandbox: " + e.getMessage());
      status = 126;
    }
    open.forEach(GatewayRelay::closeQuietly);
    long deadline = System.nanoTime() + 200_000_000L;
    for (Thread t : threads) {
      try {
        t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        break;
      }
    }
    System.err.flush();
    Runtime.getRuntime().halt(status);
  }

  private static int awaitUninterruptibly(Process child) {
    while (true) {
      try {
        return child.waitFor();
      } catch (InterruptedException e) {
        // keep waiting: the worker's end is the relay's end
      }
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
  private static void join(SocketChannel a, SocketChannel b) {
    join(a, b, null, null);
  }

  /**
   * As {@link #join(SocketChannel, SocketChannel)}; with {@code threads} given (inside the
   * sandbox), the second direction runs on a platform thread recorded there, and both channels
   * leave {@code open} when done.
   */
  private static void join(
      SocketChannel a, SocketChannel b, Set<java.nio.channels.Channel> open, List<Thread> threads) {
    Thread back =
        threads == null
            ? Thread.ofVirtual().start(() -> copy(b, a))
            : Thread.ofPlatform().daemon().start(() -> copy(b, a));
    if (threads != null) {
      threads.add(back);
    }
    copy(a, b);
    try {
      back.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeQuietly(a);
    closeQuietly(b);
    if (open != null) {
      open.remove(a);
      open.remove(b);
    }
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

  private static void closeQuietly(java.nio.channels.Channel c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // closing is all that is left to do
    }
  }
}
