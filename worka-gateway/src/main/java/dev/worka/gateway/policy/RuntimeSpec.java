package dev.worka.gateway.policy;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How to start an agent: a {@code process} with an argv {@code command}, a {@code kubernetes} Job
 * from an {@code image} (with an optional {@code runtimeClass}, the manifest's {@code
 * runtime_class}: the RuntimeClass of the worker pod, e.g. gVisor or Kata), or a {@code wasm}
 * {@code module} with the sha256 its bytes must have ({@code moduleSha256}, 64 lowercase hex
 * digits; null only in a policy version stored before the field existed, whose module then never
 * runs). Exactly the fields of its kind are set; the others are empty ({@code command}) or null.
 */
public record RuntimeSpec(
    RuntimeKind kind,
    List<String> command,
    String image,
    String runtimeClass,
    String module,
    String moduleSha256) {

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  /** A RuntimeClass name (a DNS-1123 subdomain, as Kubernetes requires). */
  private static final Pattern RUNTIME_CLASS =
      Pattern.compile("[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?");

  public RuntimeSpec {
    Objects.requireNonNull(kind, "runtime kind");
    command = command == null ? List.of() : List.copyOf(command);
    switch (kind) {
      case PROCESS -> {
        if (command.isEmpty()) {
          throw new IllegalArgumentException("runtime process needs a command (an argv list)");
        }
        for (String arg : command) {
          if (arg.isEmpty() || arg.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(
                "command argument is empty or holds NUL: " + command);
          }
        }
        requireAbsent(image, "image", kind);
        requireAbsent(runtimeClass, "runtime_class", kind);
        requireAbsent(module, "module", kind);
        requireAbsent(moduleSha256, "moduleSha256", kind);
      }
      case KUBERNETES -> {
        requireText(image, "image", kind);
        if (runtimeClass != null && !isRuntimeClass(runtimeClass)) {
          throw new IllegalArgumentException(
              "runtime_class must be a RuntimeClass name (lower-case letters, digits, '-' and"
                  + " '.'), got "
                  + runtimeClass);
        }
        requireNoCommand(command, kind);
        requireAbsent(module, "module", kind);
        requireAbsent(moduleSha256, "moduleSha256", kind);
      }
      case WASM -> {
        requireText(module, "module", kind);
        // Null only in a version stored before module_sha256 existed (the compiler requires it):
        // read back so the version still loads, its module pinned to no bytes and never run.
        if (moduleSha256 != null && !SHA256.matcher(moduleSha256).matches()) {
          throw new IllegalArgumentException(
              "runtime wasm needs moduleSha256, 64 lowercase hex digits, got " + moduleSha256);
        }
        requireNoCommand(command, kind);
        requireAbsent(image, "image", kind);
        requireAbsent(runtimeClass, "runtime_class", kind);
      }
    }
  }

  public static RuntimeSpec process(List<String> command) {
    return new RuntimeSpec(RuntimeKind.PROCESS, command, null, null, null, null);
  }

  /** A Kubernetes agent of {@code image}, in the cluster's default container runtime. */
  public static RuntimeSpec kubernetes(String image) {
    return kubernetes(image, null);
  }

  /** A Kubernetes agent of {@code image}, in RuntimeClass {@code runtimeClass} (null: default). */
  public static RuntimeSpec kubernetes(String image, String runtimeClass) {
    return new RuntimeSpec(RuntimeKind.KUBERNETES, List.of(), image, runtimeClass, null, null);
  }

  public static RuntimeSpec wasm(String module, String moduleSha256) {
    return new RuntimeSpec(
        RuntimeKind.WASM,
        List.of(),
        null,
        null,
        module,
        Objects.requireNonNull(moduleSha256, "moduleSha256"));
  }

  /** Whether {@code text} is a RuntimeClass name Kubernetes accepts. */
  static boolean isRuntimeClass(String text) {
    return text.length() <= 253 && RUNTIME_CLASS.matcher(text).matches();
  }

  private static void requireText(String value, String field, RuntimeKind kind) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(
          "runtime " + kind.wireName() + " needs a non-blank " + field + ", got " + value);
    }
  }

  private static void requireAbsent(String value, String field, RuntimeKind kind) {
    if (value != null) {
      throw new IllegalArgumentException(
          field + " is not used by runtime " + kind.wireName() + ", got " + value);
    }
  }

  private static void requireNoCommand(List<String> command, RuntimeKind kind) {
    if (!command.isEmpty()) {
      throw new IllegalArgumentException(
          "command is not used by runtime " + kind.wireName() + ", got " + command);
    }
  }
}
