package dev.worka.gateway.skill.github;

import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SDK's stdio transport with two changes a control plane needs.
 *
 * <ul>
 *   <li>The child starts from an <em>empty</em> environment plus {@link ServerParameters#getEnv()}:
 *       the SDK's own process builder inherits the whole Gateway environment (database password,
 *       Slack and model keys …) and only adds to it.
 *   <li>{@link #killProcessTree} makes sure the child and everything it started are gone: the SDK
 *       sends SIGTERM and waits, which leaves an orphan when the server ignores it or is a wrapper
 *       (a shell, {@code docker run}, {@code npx}) whose children outlive it.
 * </ul>
 */
final class ScrubbedStdioTransport extends StdioClientTransport {
  private static final Logger log = LoggerFactory.getLogger(ScrubbedStdioTransport.class);

  ScrubbedStdioTransport(ServerParameters parameters) {
    super(parameters, McpJsonDefaults.getMapper());
  }

  @Override
  protected ProcessBuilder getProcessBuilder() {
    ProcessBuilder builder = new ProcessBuilder();
    builder.environment().clear();
    return builder;
  }

  /**
   * The started child, read from the SDK's private field (the SDK offers no accessor). Empty when
   * not started yet or when a later SDK renamed the field (then only the SDK's SIGTERM applies, and
   * a warning says so).
   */
  Optional<Process> process() {
    try {
      Field field = StdioClientTransport.class.getDeclaredField("process");
      field.setAccessible(true);
      return Optional.ofNullable((Process) field.get(this));
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn(
          "cannot reach the MCP server process to make sure it ends ({}); relying on the SDK's SIGTERM",
          e.toString());
      return Optional.empty();
    }
  }

  /** Ends the child and its descendants: SIGTERM, then after {@code grace} SIGKILL. */
  void killProcessTree(Duration grace) {
    process()
        .ifPresent(
            p -> {
              ProcessHandle root = p.toHandle();
              var descendants = root.descendants().toList();
              descendants.forEach(ProcessHandle::destroy);
              root.destroy();
              try {
                if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                  log.warn("GitHub MCP server process {} ignored SIGTERM; killing it", root.pid());
                  root.destroyForcibly();
                  p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS);
                }
              } catch (InterruptedException e) {
                root.destroyForcibly();
                Thread.currentThread().interrupt();
              }
              descendants.stream()
                  .filter(ProcessHandle::isAlive)
                  .forEach(ProcessHandle::destroyForcibly);
            });
  }
}
