package dev.worka.gateway.runtime.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker process and everything it started. {@link #kill()} snapshots the descendants, kills them
 * (children before the worker), then the worker, and repeats once to catch late forks; when the
 * worker leads its own session (started through {@code setsid}) it also kills every process still
 * in that session, which finds children that were re-parented when their parent died. A sandboxed
 * worker's root is {@code bwrap}, whose descendants include the first process of the worker's PID
 * namespace; killing that one makes the kernel kill everything left in the namespace.
 */
final class ProcessTree {
  private static final Logger log = LoggerFactory.getLogger(ProcessTree.class);
  private static final Duration EXIT_WAIT = Duration.ofSeconds(5);
  private static final Path PROC = Path.of("/proc");

  private final Process root;
  private final boolean ownSession;

  ProcessTree(Process root, boolean ownSession) {
    this.root = root;
    this.ownSession = ownSession;
  }

  /**
   * Kills the worker and all it started, and waits (up to 5 s) for them to be gone.
   *
   * @return how many processes other than the worker were killed
   */
  int kill() {
    Map<Long, ProcessHandle> killed = new LinkedHashMap<>();
    for (int round = 0; round < 2; round++) {
      List<ProcessHandle> victims = new ArrayList<>(root.descendants().toList());
      victims.addAll(sessionMembers());
      for (ProcessHandle victim : victims) {
        if (victim.pid() != root.pid() && victim.destroyForcibly()) {
          killed.putIfAbsent(victim.pid(), victim);
        }
      }
      // Through the handle, not Process.destroyForcibly(): that also closes our end of the
      // output pipe, losing lines the worker wrote just before it ended.
      root.toHandle().destroyForcibly();
    }
    waitUntilGone(killed.values());
    return killed.size();
  }

  private void waitUntilGone(Iterable<ProcessHandle> others) {
    long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
    try {
      if (!root.waitFor(EXIT_WAIT.toNanos(), TimeUnit.NANOSECONDS)) {
        log.warn("worker process {} did not exit within {} of SIGKILL", root.pid(), EXIT_WAIT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    for (ProcessHandle other : others) {
      while (!gone(other) && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        if (Thread.currentThread().isInterrupted()) {
          return;
        }
      }
      if (!gone(other)) {
        log.warn(
            "process {} started by worker {} did not exit within {} of SIGKILL",
            other.pid(),
            root.pid(),
            EXIT_WAIT);
      }
    }
  }

  /** Live processes whose session is the worker's (only when the worker leads its session). */
  private List<ProcessHandle> sessionMembers() {
    if (!ownSession || !Files.isDirectory(PROC)) {
      return List.of();
    }
    long session = root.pid();
    long self = ProcessHandle.current().pid();
    return ProcessHandle.allProcesses()
        .filter(h -> h.pid() != self && h.pid() != root.pid())
        .filter(h -> sessionOf(h.pid()) == session)
        .filter(h -> !gone(h))
        .toList();
  }

  /**
   * Whether {@code process} has ended. A killed process whose parent died is a zombie until init
   * reaps it, which some container inits do late or never; it runs nothing, so it counts as gone.
   */
  static boolean gone(ProcessHandle process) {
    if (!process.isAlive()) {
      return true;
    }
    char state = stateOf(process.pid());
    return state == 'Z' || state == 'X' || state == 'x';
  }

  /** The state letter of {@code pid} from {@code /proc/<pid>/stat} ({@code R}, {@code Z}, …). */
  static char stateOf(long pid) {
    String[] fields = statFields(pid);
    return fields.length > 0 && !fields[0].isEmpty() ? fields[0].charAt(0) : '?';
  }

  /** The session id of {@code pid} from {@code /proc/<pid>/stat}, or -1. */
  static long sessionOf(long pid) {
    String[] fields = statFields(pid);
    try {
      return fields.length > 3 ? Long.parseLong(fields[3]) : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The fields of {@code /proc/<pid>/stat} after the command name, or none. */
  private static String[] statFields(long pid) {
    try {
      String stat =
          Files.readString(
              PROC.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.UTF_8);
      // "pid (comm) state ppid pgrp session ...": comm may contain spaces and parentheses.
      int end = stat.lastIndexOf(')');
      return end < 0 ? new String[0] : stat.substring(end + 1).trim().split(" ");
    } catch (IOException | RuntimeException e) {
      return new String[0];
    }
  }
}
