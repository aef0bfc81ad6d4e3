package dev.worka.gateway.policy;

import java.math.BigDecimal;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one agent's worker may use (issue 13 item 1): {@code resources: {memory, cpu, pids, disk,
 * open_files}} in the manifest, per agent, with defaults under {@code limits.resources}. Quantities
 * are in Kubernetes notation: memory and disk in bytes with an optional binary suffix ({@code
 * 512Mi}), cpu in cores or millicores ({@code "1"}, {@code "0.5"}, {@code "500m"}).
 *
 * <p>Every value is bounded on both sides ({@code memory} 16Mi..64Gi, {@code disk} 16Mi..1024Gi,
 * {@code cpu} 10m..64, {@code pids} 8..32768, {@code open_files} 16..1048576), so a typo can
 * neither turn a limit off nor starve a worker before it starts.
 *
 * <p>Validated and recorded with each policy version; the process runtime enforces them as far as
 * the host allows (its {@code WorkerLimits} says how, per limit), and {@link
 * CompiledPolicy#unenforcedResources} names what it cannot.
 */
public record Resources(long memoryBytes, int cpuMillis, int pids, long diskBytes, int openFiles) {

  static final long KI = 1024L;
  static final long MI = KI * 1024;
  static final long GI = MI * 1024;

  static final long MIN_MEMORY = 16 * MI;
  static final long MAX_MEMORY = 64 * GI;
  static final long MIN_DISK = 16 * MI;
  static final long MAX_DISK = 1024 * GI;
  static final int MIN_CPU_MILLIS = 10;
  static final int MAX_CPU_MILLIS = 64_000;
  static final int MIN_PIDS = 8;
  static final int MAX_PIDS = 32_768;
  static final int MIN_OPEN_FILES = 16;
  static final int MAX_OPEN_FILES = 1_048_576;

  /** The keys of {@code resources:} in the manifest (a contract: DESIGN §11). */
  static final java.util.List<String> KEYS =
      java.util.List.of("memory", "cpu", "pids", "disk", "open_files");

  /**
   * What an agent gets when neither it nor {@code limits.resources} states a value: {@code {memory:
   * 512Mi, cpu: "1", pids: 128, disk: 256Mi, open_files: 256}}.
   */
  public static final Resources DEFAULTS = new Resources(512 * MI, 1000, 128, 256 * MI, 256);

  private static final Pattern BYTES = Pattern.compile("([0-9]{1,19})(Ki|Mi|Gi)?");
  private static final Pattern CPU = Pattern.compile("([0-9]{1,6})m|[0-9]{1,3}(\\.[0-9]{1,3})?");

  public Resources {
    between("memory", memoryBytes, MIN_MEMORY, MAX_MEMORY);
    between("cpu", cpuMillis, MIN_CPU_MILLIS, MAX_CPU_MILLIS);
    between("pids", pids, MIN_PIDS, MAX_PIDS);
    between("disk", diskBytes, MIN_DISK, MAX_DISK);
    between("open_files", openFiles, MIN_OPEN_FILES, MAX_OPEN_FILES);
  }

  private static void between(String field, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(field + " must be " + min + ".." + max + ", got " + value);
    }
  }

  /** {@code 512Mi}, {@code 1Gi}, {@code 1500} (bytes): the largest binary unit that is exact. */
  public static String bytesText(long bytes) {
    if (bytes != 0 && bytes % GI == 0) {
      return bytes / GI + "Gi";
    } else if (bytes != 0 && bytes % MI == 0) {
      return bytes / MI + "Mi";
    } else if (bytes != 0 && bytes % KI == 0) {
      return bytes / KI + "Ki";
    }
    return Long.toString(bytes);
  }

  /** {@code 1}, {@code 2}, {@code 500m}: whole cores when exact, else millicores. */
  public static String cpuText(int millis) {
    return millis % 1000 == 0 ? Integer.toString(millis / 1000) : millis + "m";
  }

  /**
   * Bytes from {@code 512Mi}, {@code 64Ki}, {@code 1Gi} or a plain number of bytes; empty if the
   * text is none of those or does not fit in a long.
   */
  static Optional<Long> parseBytes(String text) {
    Matcher m = BYTES.matcher(text);
    if (!m.matches()) {
      return Optional.empty();
    }
    long unit =
        m.group(2) == null
            ? 1
            : switch (m.group(2)) {
              case "Ki" -> KI;
              case "Mi" -> MI;
              default -> GI;
            };
    try {
      return Optional.of(Math.multiplyExact(Long.parseLong(m.group(1)), unit));
    } catch (ArithmeticException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Millicores from {@code "1"}, {@code "0.5"} or {@code "500m"}; empty if none of those. */
  static Optional<Integer> parseCpu(String text) {
    Matcher m = CPU.matcher(text);
    if (!m.matches()) {
      return Optional.empty();
    }
    if (m.group(1) != null) {
      return Optional.of(Integer.parseInt(m.group(1)));
    }
    return Optional.of(new BigDecimal(text).movePointRight(3).intValueExact());
  }

  /** As the manifest writes it: {@code {memory: 512Mi, cpu: "1", ...}}. */
  @Override
  public String toString() {
    return "{memory: "
        + bytesText(memoryBytes)
        + ", cpu: \""
        + cpuText(cpuMillis)
        + "\", pids: "
        + pids
        + ", disk: "
        + bytesText(diskBytes)
        + ", open_files: "
        + openFiles
        + "}";
  }
}
