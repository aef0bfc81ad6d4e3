package dev.worka.gateway.runtime.process;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The seccomp filter of sandboxed workers: a classic BPF program ({@code struct sock_filter}, 8
 * bytes an instruction, little-endian as on both supported architectures) that bubblewrap loads
 * with {@code --seccomp FD} after it has set up the sandbox's namespaces and mounts, just before it
 * runs the worker. Every process in the sandbox (the network relay, the worker, what they start)
 * inherits it and cannot remove it.
 *
 * <p><b>A deny list with a default of allow</b>, in the spirit of the container runtimes' default
 * profiles (Docker/Moby's default, Podman's, systemd's {@code @system-service}): it refuses the
 * system calls that open the kernel's largest attack surfaces or escape the sandbox's confinement —
 * process inspection ({@code ptrace}, {@code process_vm_*}, {@code pidfd_getfd}), the kernel
 * keyring, eBPF, perf events, io_uring, the mount API, kernel modules and {@code kexec}, new
 * namespaces ({@code unshare}, {@code setns}, {@code clone} with a namespace flag), {@code
 * userfaultfd}, execution domains beyond the harmless ones, the host's clock, swap, accounting,
 * quotas, the kernel log, file handles, port I/O, {@code chroot} and {@code reboot} ({@link
 * #DENIED}) — and allows every other call. A call the list does not name (one a future kernel adds,
 * say) is allowed: this is not an allow list.
 *
 * <p>Actions: a denied call fails with {@code EPERM} ({@code SECCOMP_RET_ERRNO}), as in Docker's
 * profile: programs that probe a feature (a runtime trying io_uring or userfaultfd) take the error
 * and carry on, where a kill would break them. {@code clone3} fails with {@code ENOSYS}, as in
 * Docker's profile: its flags are in memory a filter cannot read, and C libraries fall back to
 * {@code clone}, whose flags it checks. A call through another architecture's entry (the i386
 * {@code int 0x80} table on x86_64, AArch32 on arm64, any architecture without a table here) and an
 * x32 call on x86_64 ({@code nr & 0x40000000}) kill the process ({@code SECCOMP_RET_KILL_PROCESS}):
 * their numbers mean other calls than the tables check, no worker a built-in agent or JVM needs
 * makes them, and they are the known ways around a per-table filter.
 *
 * <p>Tables: x86_64 ({@code AUDIT_ARCH_X86_64}) and aarch64 ({@code AUDIT_ARCH_AARCH64}), from the
 * kernel's {@code arch/x86/entry/syscalls/syscall_64.tbl} and {@code
 * include/uapi/asm-generic/unistd.h}. On a host of another architecture there is no filter ({@link
 * #unsupported}): a worker that must be sandboxed is then not started.
 */
final class SeccompFilter {
  static final int AUDIT_ARCH_X86_64 = 0xC000003E;
  static final int AUDIT_ARCH_AARCH64 = 0xC00000B7;

  /** {@code nr} bit of the x32 ABI on x86_64. */
  static final int X32_SYSCALL_BIT = 0x40000000;

  static final int RET_KILL_PROCESS = 0x80000000;
  static final int RET_ERRNO = 0x00050000;
  static final int RET_ALLOW = 0x7FFF0000;
  static final int EPERM = 1;
  static final int ENOSYS = 38;

  /** {@code CLONE_NEW*} flags of {@code clone} (its first argument, low 32 bits). */
  static final int CLONE_NAMESPACES =
      0x00020000 // CLONE_NEWNS
          | 0x02000000 // CLONE_NEWCGROUP
          | 0x04000000 // CLONE_NEWUTS
          | 0x08000000 // CLONE_NEWIPC
          | 0x10000000 // CLONE_NEWUSER
          | 0x20000000 // CLONE_NEWPID
          | 0x40000000; // CLONE_NEWNET

  /**
   * The execution domains {@code personality} may set (Docker's list): {@code PER_LINUX}, {@code
   * PER_LINUX32}, {@code UNAME26}, both, and the query {@code 0xffffffff}. Not, for example, {@code
   * READ_IMPLIES_EXEC} or {@code ADDR_NO_RANDOMIZE}, which weaken the worker's own memory
   * protections.
   */
  static final List<Integer> SAFE_PERSONALITIES = List.of(0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF);

  /** A system call, its number on x86_64 and on aarch64 (-1: it has none there). */
  record Syscall(String name, int x86_64, int aarch64) {}

  /** The calls denied outright ({@code EPERM}), whatever their arguments. */
  static final List<Syscall> DENIED =
      List.of(
          // another process's memory, registers, files
          new Syscall("ptrace", 101, 117),
          new Syscall("process_vm_readv", 310, 270),
          new Syscall("process_vm_writev", 311, 271),
          new Syscall("pidfd_getfd", 438, 438),
          new Syscall("process_madvise", 440, 440),
          new Syscall("kcmp", 312, 272),
          // the kernel keyring
          new Syscall("add_key", 248, 217),
          new Syscall("request_key", 249, 218),
          new Syscall("keyctl", 250, 219),
          // large kernel attack surfaces
          new Syscall("bpf", 321, 280),
          new Syscall("perf_event_open", 298, 241),
          new Syscall("io_uring_setup", 425, 425),
          new Syscall("io_uring_enter", 426, 426),
          new Syscall("io_uring_register", 427, 427),
          new Syscall("userfaultfd", 323, 282),
          // mounts
          new Syscall("mount", 165, 40),
          new Syscall("umount2", 166, 39),
          new Syscall("pivot_root", 155, 41),
          new Syscall("chroot", 161, 51),
          new Syscall("open_tree", 428, 428),
          new Syscall("move_mount", 429, 429),
          new Syscall("fsopen", 430, 430),
          new Syscall("fsconfig", 431, 431),
          new Syscall("fsmount", 432, 432),
          new Syscall("fspick", 433, 433),
          new Syscall("mount_setattr", 442, 442),
          // the kernel itself
          new Syscall("init_module", 175, 105),
          new Syscall("finit_module", 313, 273),
          new Syscall("delete_module", 176, 106),
          new Syscall("kexec_load", 246, 104),
          new Syscall("kexec_file_load", 320, 294),
          new Syscall("reboot", 169, 142),
          new Syscall("swapon", 167, 224),
          new Syscall("swapoff", 168, 225),
          new Syscall("acct", 163, 89),
          new Syscall("quotactl", 179, 60),
          new Syscall("quotactl_fd", 443, 443),
          new Syscall("syslog", 103, 116),
          new Syscall("lookup_dcookie", 212, 18),
          new Syscall("uselib", 134, -1),
          new Syscall("_sysctl", 156, -1),
          new Syscall("vhangup", 153, 58),
          new Syscall("iopl", 172, -1),
          new Syscall("ioperm", 173, -1),
          // namespaces (clone: only with a CLONE_NEW* flag, below)
          new Syscall("unshare", 272, 97),
          new Syscall("setns", 308, 268),
          // files by handle, around the mount namespace
          new Syscall("name_to_handle_at", 303, 264),
          new Syscall("open_by_handle_at", 304, 265),
          // the host's clock
          new Syscall("settimeofday", 164, 170),
          new Syscall("clock_settime", 227, 112),
          new Syscall("adjtimex", 159, 171),
          new Syscall("clock_adjtime", 305, 266));

  /** {@code clone}: {@code EPERM} with any of {@link #CLONE_NAMESPACES} in its flags. */
  static final Syscall CLONE = new Syscall("clone", 56, 220);

  /** {@code clone3}: {@code ENOSYS}, so that C libraries fall back to {@code clone}. */
  static final Syscall CLONE3 = new Syscall("clone3", 435, 435);

  /** {@code personality}: {@code EPERM} but for {@link #SAFE_PERSONALITIES}. */
  static final Syscall PERSONALITY = new Syscall("personality", 135, 92);

  /** The shell that opens the filter file for bubblewrap ({@link Isolation.Bubblewrap#launch}). */
  static final Path SHELL = Path.of("/bin/sh");

  /** The filter's file in a worker's own directory. */
  static final String FILE_NAME = "seccomp.bpf";

  private static final Set<PosixFilePermission> OWNER_READ_WRITE =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  /** {@code struct seccomp_data}: {@code int nr; __u32 arch; __u64 ip; __u64 args[6];}. */
  static final int OFFSET_NR = 0;

  static final int OFFSET_ARCH = 4;

  /** The low 32 bits of argument {@code i} (little-endian). */
  static int argumentLow(int i) {
    return 16 + 8 * i;
  }

  // Classic BPF opcodes (linux/bpf_common.h, linux/filter.h)
  static final short LD_W_ABS = 0x20;
  static final short JMP_JA = 0x05;
  static final short JMP_JEQ_K = 0x15;
  static final short JMP_JGE_K = 0x35;
  static final short JMP_JSET_K = 0x45;
  static final short RET_K = 0x06;

  /** The kernel's {@code BPF_MAXINSNS}. */
  static final int MAX_INSTRUCTIONS = 4096;

  /** One {@code struct sock_filter}. */
  record Instruction(short code, int jt, int jf, int k) {
    Instruction {
      if (jt < 0 || jt > 255 || jf < 0 || jf > 255) {
        throw new IllegalArgumentException("a conditional jump is 0..255 instructions: " + this);
      }
    }
  }

  private static final List<Instruction> PROGRAM = assemble();

  private SeccompFilter() {}

  /** The program's instructions. */
  static List<Instruction> instructions() {
    return PROGRAM;
  }

  /** The program as bubblewrap reads it: the instructions, 8 bytes each, little-endian. */
  static byte[] program() {
    ByteBuffer out = ByteBuffer.allocate(PROGRAM.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (Instruction i : PROGRAM) {
      out.putShort(i.code()).put((byte) i.jt()).put((byte) i.jf()).putInt(i.k());
    }
    return out.array();
  }

  /**
   * Writes the {@link #program()} to a new 0600 file {@value #FILE_NAME} in {@code directory} (a
   * worker's own, 0700) and returns it. The worker sees it in its directory once the filter is in
   * force: changing it then changes nothing.
   */
  static Path write(Path directory) throws IOException {
    Path file = directory.resolve(FILE_NAME);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_READ_WRITE));
    Files.write(file, program(), StandardOpenOption.WRITE);
    return file;
  }

  /** Writes the {@link #program()} to a new 0600 temporary file, for a trial sandbox. */
  static Path writeTemporary() throws IOException {
    Path file =
        Files.createTempFile(
            "worka-seccomp-", ".bpf", PosixFilePermissions.asFileAttribute(OWNER_READ_WRITE));
    Files.write(file, program(), StandardOpenOption.WRITE);
    return file;
  }

  /**
   * Why this host's workers get no filter (no table for its architecture); empty when they do.
   *
   * @param osArch {@code os.arch} ({@code amd64}, {@code aarch64}, …)
   */
  static Optional<String> unsupported(String osArch) {
    return switch (osArch.toLowerCase(Locale.ROOT)) {
      case "amd64", "x86_64", "aarch64", "arm64" -> Optional.empty();
      default ->
          Optional.of(
              "no seccomp table for this host's architecture "
                  + osArch
                  + " (there are tables for x86_64 and aarch64)");
    };
  }

  /** As {@link #unsupported(String)} for this JVM's host. */
  static Optional<String> unsupportedHere() {
    return unsupported(System.getProperty("os.arch", "unknown"));
  }

  /** For the start-up log: what the filter does. */
  static String describe() {
    List<String> names = new ArrayList<>();
    DENIED.forEach(s -> names.add(s.name()));
    return "seccomp deny list for x86_64 and aarch64 (every other call allowed): EPERM for "
        + String.join(", ", names)
        + ", clone with a namespace flag, personality but "
        + "the harmless domains; ENOSYS for clone3; other architectures and x32 killed";
  }

  private static List<Instruction> assemble() {
    Assembler a = new Assembler();
    a.load(OFFSET_ARCH);
    a.goToIfEqual(AUDIT_ARCH_X86_64, "x86_64");
    a.goToIfEqual(AUDIT_ARCH_AARCH64, "aarch64");
    a.ret(RET_KILL_PROCESS);

    a.label("x86_64");
    a.load(OFFSET_NR);
    a.returnIf(JMP_JEQ_K, 0xFFFFFFFF, RET_ALLOW); // syscall(-1): the kernel answers ENOSYS
    a.returnIf(JMP_JGE_K, X32_SYSCALL_BIT, RET_KILL_PROCESS);
    table(a, true);

    a.label("aarch64");
    a.load(OFFSET_NR);
    table(a, false);
    return a.finish();
  }

  /** The rules of one architecture, {@code A} holding the call's number; ends in allow. */
  private static void table(Assembler a, boolean x86) {
    String arch = x86 ? "x86_64" : "aarch64";
    for (Syscall s : DENIED) {
      int nr = x86 ? s.x86_64() : s.aarch64();
      if (nr >= 0) {
        a.returnIf(JMP_JEQ_K, nr, RET_ERRNO | EPERM);
      }
    }
    a.returnIf(JMP_JEQ_K, x86 ? CLONE3.x86_64() : CLONE3.aarch64(), RET_ERRNO | ENOSYS);

    String notClone = arch + ".not-clone";
    a.jumpIfNotEqual(x86 ? CLONE.x86_64() : CLONE.aarch64(), notClone);
    a.load(argumentLow(0));
    a.jumpIfAnySet(CLONE_NAMESPACES, arch + ".deny");
    a.ret(RET_ALLOW);
    a.label(notClone);

    String notPersonality = arch + ".not-personality";
    a.jumpIfNotEqual(x86 ? PERSONALITY.x86_64() : PERSONALITY.aarch64(), notPersonality);
    a.load(argumentLow(0));
    for (int safe : SAFE_PERSONALITIES) {
      a.jumpIfEqual(safe, arch + ".allow");
    }
    a.label(arch + ".deny");
    a.ret(RET_ERRNO | EPERM);
    a.label(notPersonality);
    a.label(arch + ".allow");
    a.ret(RET_ALLOW);
  }

  /** Emits instructions with forward jumps to labels, resolved (and range-checked) at the end. */
  private static final class Assembler {
    /** An instruction; {@code jt}, {@code jf} (conditional) or {@code ja} name a label. */
    private record Pending(short code, String jt, String jf, int k, String ja) {}

    private final List<Pending> code = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();

    void label(String name) {
      if (labels.putIfAbsent(name, code.size()) != null) {
        throw new IllegalStateException("label " + name + " defined twice");
      }
    }

    void load(int offset) {
      code.add(new Pending(LD_W_ABS, null, null, offset, null));
    }

    void ret(int action) {
      code.add(new Pending(RET_K, null, null, action, null));
    }

    void jumpIfEqual(int k, String target) {
      code.add(new Pending(JMP_JEQ_K, target, null, k, null));
    }

    void jumpIfNotEqual(int k, String target) {
      code.add(new Pending(JMP_JEQ_K, null, target, k, null));
    }

    void jumpIfAnySet(int k, String target) {
      code.add(new Pending(JMP_JSET_K, target, null, k, null));
    }

    /** {@code A == k}: go to {@code target} however far (an unconditional jump after it). */
    void goToIfEqual(int k, String target) {
      code.add(new Pending(JMP_JEQ_K, null, NEXT_BUT_ONE, k, null));
      code.add(new Pending(JMP_JA, null, null, 0, target));
    }

    /** When {@code A} satisfies {@code condition} against {@code k}: return {@code action}. */
    void returnIf(short condition, int k, int action) {
      code.add(new Pending(condition, null, NEXT_BUT_ONE, k, null));
      ret(action);
    }

    List<Instruction> finish() {
      List<Instruction> out = new ArrayList<>();
      for (int pc = 0; pc < code.size(); pc++) {
        Pending p = code.get(pc);
        out.add(
            new Instruction(
                p.code(),
                offset(pc, p.jt()),
                offset(pc, p.jf()),
                p.ja() == null ? p.k() : offset(pc, p.ja())));
      }
      if (out.size() > MAX_INSTRUCTIONS) {
        throw new IllegalStateException("the seccomp program has " + out.size() + " instructions");
      }
      return List.copyOf(out);
    }

    /** The jump from {@code pc} to {@code label}: 0 (the next instruction) when null. */
    private int offset(int pc, String label) {
      if (label == null) {
        return 0;
      }
      if (label.equals(NEXT_BUT_ONE)) {
        return 1;
      }
      Integer target = labels.get(label);
      if (target == null || target <= pc) {
        throw new IllegalStateException("jump from " + pc + " to unknown or earlier " + label);
      }
      return target - pc - 1;
    }

    private static final String NEXT_BUT_ONE = "+1";
  }
}
