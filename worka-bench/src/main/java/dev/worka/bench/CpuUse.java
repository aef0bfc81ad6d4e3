package dev.worka.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time spent so far (Linux): by this JVM (the Gateway and the load driver both live in it), by
 * the embedded PostgreSQL (its postmaster, found by its data directory, and every process under
 * it), and by the whole machine. Two snapshots give each one's share of an interval, so a figure
 * can say how much of the machine the other work on it took.
 */
record CpuUse(
    long nanos,
    long jvmCpuNanos,
    long postgresTicks,
    long machineBusyTicks,
    long machineTotalTicks) {
  /** The kernel's clock ticks per second for {@code /proc} times (USER_HZ, 100 on Linux). */
  private static final double TICKS_PER_SECOND = 100.0;

  /** A snapshot; {@code postgresData} is the embedded server's data directory (null: none). */
  static CpuUse now(Path postgresData) {
    long jvm =
        ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    long postgres = 0;
    if (postgresData != null) {
      String marker = postgresData.toString();
      postgres =
          ProcessHandle.allProcesses()
              .filter(
                  p ->
                      p.info().command().map(c -> c.endsWith("/postgres")).orElse(false)
                          && p.info()
                              .arguments()
                              .map(a -> String.join(" ", a).contains(marker))
                              .orElse(false))
              .flatMap(
                  p ->
                      java.util.stream.Stream.concat(
                          java.util.stream.Stream.of(p), p.descendants()))
              .mapToLong(p -> ticks(p.pid()))
              .sum();
    }
    long busy = 0;
    long total = 0;
    try {
      String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      for (int i = 1; i < cpu.length && i <= 8; i++) {
        long v = Long.parseLong(cpu[i]);
        total += v;
        if (i != 4 && i != 5) { // idle, iowait
          busy += v;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: machine figures stay zero
    }
    return new CpuUse(System.nanoTime(), jvm, postgres, busy, total);
  }

  /** utime + stime of a process, in clock ticks (0 once it is gone). */
  private static long ticks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of stat(5)
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** Between {@code this} and {@code later}, per call of {@code calls}. */
  Interval until(CpuUse later, long calls) {
    double seconds = (later.nanos - nanos) / 1e9;
    double jvmMs = (later.jvmCpuNanos - jvmCpuNanos) / 1e6;
    double pgMs = (later.postgresTicks - postgresTicks) / TICKS_PER_SECOND * 1000;
    long totalTicks = Math.max(1, later.machineTotalTicks - machineTotalTicks);
    double machineBusy = (double) (later.machineBusyTicks - machineBusyTicks) / totalTicks;
    int cores = Runtime.getRuntime().availableProcessors();
    double oursCores = (jvmMs + pgMs) / 1000 / seconds;
    return new Interval(
        jvmMs / Math.max(1, calls),
        pgMs / Math.max(1, calls),
        machineBusy,
        Math.max(0, machineBusy * cores - oursCores) / cores);
  }

  /**
   * @param jvmMsPerCall CPU ms of this JVM (Gateway, HTTP client and driver) per call
   * @param postgresMsPerCall CPU ms of PostgreSQL per call
   * @param machineBusy share of all cores busy over the interval
   * @param othersBusy share of all cores busy with work other than this JVM and its PostgreSQL
   */
  record Interval(
      double jvmMsPerCall, double postgresMsPerCall, double machineBusy, double othersBusy) {}
}
