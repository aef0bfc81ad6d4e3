// A hostile worker (SeccompSandboxTest, SeccompWorkerTest): makes the system calls the sandbox's
// seccomp filter denies, through libc's syscall(2) with the JDK's foreign function API, and prints
// one line per call: "<name> errno=<n>" or "<name> returned=<n>". A single-file program, run by the
// JDK's own launcher (java --enable-native-access=ALL-UNNAMED HostileSyscalls.java [control] [x32]):
// the build compiles for Java 21, where this API is not final. Its call numbers are its own, from
// the kernel's tables (arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h),
// not the filter's.
//   control: skip ptrace(PTRACE_TRACEME), which without a filter would make the JVM a tracee.
//   x32 (x86_64): last, an x32 getpid, which the filter answers by killing the process.
//   i386 (x86_64): last, getpid through the i386 entry (int 0x80, from a page of machine code),
//   which the filter answers by killing the process.
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

public class HostileSyscalls {
  static MethodHandle syscall;
  static VarHandle errno;
  static MemorySegment state;

  public static void main(String[] args) throws Throwable {
    List<String> options = List.of(args);
    boolean arm = System.getProperty("os.arch").equals("aarch64");
    Linker linker = Linker.nativeLinker();
    StructLayout layout = Linker.Option.captureStateLayout();
    errno = layout.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
    syscall =
        linker.downcallHandle(
            linker.defaultLookup().find("syscall").orElseThrow(),
            FunctionDescriptor.of(l, l, l, l, l, l, l, l),
            Linker.Option.firstVariadicArg(1),
            Linker.Option.captureCallState("errno"));
    try (Arena arena = Arena.ofConfined()) {
      state = arena.allocate(layout);
      call("getpid", arm ? 172 : 39);
      if (!options.contains("control")) {
        call("ptrace", arm ? 117 : 101, 0 /* PTRACE_TRACEME */);
      }
      call("keyctl", arm ? 219 : 250, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
      call("bpf", arm ? 280 : 321, 0 /* BPF_MAP_CREATE */, 0, 0);
      call("perf_event_open", arm ? 241 : 298, 0, 0, -1, -1, 0);
      call("io_uring_setup", 425, 1, 0);
      call("mount", arm ? 40 : 165, 0, 0, 0, 0, 0);
      call("unshare", arm ? 97 : 272, 0x10000000 /* CLONE_NEWUSER */);
      call("setns", arm ? 268 : 308, -1, 0);
      call("init_module", arm ? 105 : 175, 0, 0, 0);
      // CLONE_NEWUSER | CLONE_FS | SIGCHLD: without a filter the kernel refuses the pair (EINVAL)
      // before creating anything, so this is safe to try anywhere.
      call("clone", arm ? 220 : 56, 0x10000000 | 0x200 | 17, 0, 0, 0, 0);
      call("clone3", 435, 0, 0); // without a filter: EINVAL (no arguments)
      call("personality", arm ? 92 : 135, 0x0040000 /* ADDR_NO_RANDOMIZE: affects only exec */);
      boolean fdLeft = false;
      try (var fds = Files.list(Path.of("/proc/self/fd"))) {
        for (Path fd : fds.toList()) {
          try {
            fdLeft |= Files.readSymbolicLink(fd).toString().endsWith("seccomp.bpf");
          } catch (java.io.IOException gone) {
            // the directory stream's own descriptor
          }
        }
      }
      System.out.println(fdLeft ? "filter fd open" : "filter fd closed");
      if (options.contains("i386") && !arm) {
        long page = (long) syscall.invokeExact(state, 9L, 0L, 4096L, 7L, 0x22L, -1L, 0L); // mmap
        MemorySegment code = MemorySegment.ofAddress(page).reinterpret(4096);
        byte[] getpid = { // mov eax, 20 (i386 getpid); int 0x80; ret
          (byte) 0xb8, 20, 0, 0, 0, (byte) 0xcd, (byte) 0x80, (byte) 0xc3
        };
        MemorySegment.copy(getpid, 0, code, ValueLayout.JAVA_BYTE, 0, getpid.length);
        MethodHandle i386 = linker.downcallHandle(code, FunctionDescriptor.of(ValueLayout.JAVA_INT));
        System.out.println("i386 getpid next");
        System.out.flush();
        System.out.println("i386 getpid returned=" + (int) i386.invokeExact());
      }
      if (options.contains("x32") && !arm) {
        System.out.println("x32 getpid next");
        System.out.flush();
        call("x32 getpid", 0x40000000 | 39);
      }
    }
    System.out.println("done");
    System.exit(3);
  }

  static void call(String name, long nr, long... a) throws Throwable {
    long[] x = java.util.Arrays.copyOf(a, 6);
    long r = (long) syscall.invokeExact(state, nr, x[0], x[1], x[2], x[3], x[4], x[5]);
    System.out.println(
        name + (r == -1 ? " errno=" + (int) errno.get(state, 0L) : " returned=" + r));
    System.out.flush();
  }
}
