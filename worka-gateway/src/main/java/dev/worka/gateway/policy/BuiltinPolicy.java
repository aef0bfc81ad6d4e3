package dev.worka.gateway.policy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The manifest used when {@code WORKA_POLICY_FILE} is unset (DESIGN §9): Hari plans, Ernest works
 * on GitHub issues, Daneel reads and posts in Slack threads. Operators copy it as a start.
 */
public final class BuiltinPolicy {
  /** Classpath location of the built-in manifest. */
  public static final String RESOURCE = "/dev/worka/gateway/policy/builtin-policy.yaml";

  private BuiltinPolicy() {}

  /** The text of the built-in manifest. */
  public static String source() {
    return Holder.SOURCE;
  }

  /** The built-in manifest, compiled; it always compiles (a test holds it to that). */
  public static CompiledPolicy compiled() {
    return switch (PolicyCompiler.compile(source())) {
      case Compilation.Compiled c -> c.policy();
      case Compilation.Invalid i ->
          throw new IllegalStateException("the built-in policy does not compile: " + i.errors());
    };
  }

  private static final class Holder {
    static final String SOURCE = load();

    private static String load() {
      try (InputStream in = BuiltinPolicy.class.getResourceAsStream(RESOURCE)) {
        if (in == null) {
          throw new IllegalStateException(
              "the built-in policy " + RESOURCE + " is not on the classpath");
        }
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("could not read the built-in policy " + RESOURCE, e);
      }
    }
  }
}
