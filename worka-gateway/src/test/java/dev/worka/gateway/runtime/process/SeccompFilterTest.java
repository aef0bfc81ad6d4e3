package dev.worka.gateway.runtime.process;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.runtime.process.SeccompFilter.Instruction;
import dev.worka.gateway.runtime.process.SeccompFilter.Syscall;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seccomp program, run by a small classic-BPF interpreter that behaves as the kernel's for the
 * instructions a seccomp filter may use: what each (architecture, call, arguments) gets. The
 * program in a real kernel, through bubblewrap, is {@link SeccompWorkerTest}'s.
 */
class SeccompFilterTest {
  static final int AUDIT_ARCH_I386 = 0x40000003;
  static final int AUDIT_ARCH_ARM = 0x40000028;
  static final int DENY = SeccompFilter.RET_ERRNO | SeccompFilter.EPERM;
  static final int ENOSYS = SeccompFilter.RET_ERRNO | SeccompFilter.ENOSYS;
  static final int ALLOW = SeccompFilter.RET_ALLOW;
  static final int KILL = SeccompFilter.RET_KILL_PROCESS;

  /** The clone flags glibc's pthread_create passes. */
  static final long THREAD_FLAGS = 0x3d0f00;

  static final long CLONE_NEWUSER = 0x10000000;

  /** Runs the encoded {@code program} on one {@code struct seccomp_data}; returns the action. */
  static int run(byte[] program, int arch, int nr, long... args) {
    ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    data.putInt(0, nr).putInt(4, arch).putLong(8, 0x401000L);
    for (int i = 0; i < args.length; i++) {
      data.putLong(16 + 8 * i, args[i]);
    }
    ByteBuffer code = ByteBuffer.wrap(program).order(ByteOrder.LITTLE_ENDIAN);
    int length = program.length / 8;
    int a = 0;
    int pc = 0;
    int steps = 0;
    while (true) {
      assertTrue(pc >= 0 && pc < length, "pc " + pc + " ran off the program");
      assertTrue(++steps <= length, "more steps than instructions: a backward jump");
      short op = code.getShort(pc * 8);
      int jt = Byte.toUnsignedInt(code.get(pc * 8 + 2));
      int jf = Byte.toUnsignedInt(code.get(pc * 8 + 3));
      int k = code.getInt(pc * 8 + 4);
      switch (op) {
        case 0x20 -> { // ld [k]
          assertTrue(k >= 0 && k <= 60 && k % 4 == 0, "load offset " + k);
          a = data.getInt(k);
          pc++;
        }
        case 0x05 -> pc += 1 + k; // ja
        case 0x15 -> pc += 1 + (a == k ? jt : jf); // jeq
        case 0x35 -> pc += 1 + (Integer.compareUnsigned(a, k) >= 0 ? jt : jf); // jge
        case 0x45 -> pc += 1 + ((a & k) != 0 ? jt : jf); // jset
        case 0x06 -> {
          return k; // ret
        }
        default -> throw new AssertionError("opcode " + op + " at " + pc);
      }
    }
  }

  static int x86(int nr, long... args) {
    return run(SeccompFilter.program(), SeccompFilter.AUDIT_ARCH_X86_64, nr, args);
  }

  static int arm(int nr, long... args) {
    return run(SeccompFilter.program(), SeccompFilter.AUDIT_ARCH_AARCH64, nr, args);
  }

  @Test
  void theProgramIsWellFormed() {
    List<Instruction> program = SeccompFilter.instructions();
    byte[] bytes = SeccompFilter.program();
    assertEquals(program.size() * 8, bytes.length);
    assertTrue(program.size() <= SeccompFilter.MAX_INSTRUCTIONS, program.size() + " instructions");
    assertEquals(0x06, program.get(program.size() - 1).code(), "ends in a return");
    Set<Short> allowed =
        Set.of((short) 0x20, (short) 0x05, (short) 0x15, (short) 0x35, (short) 0x45, (short) 0x06);
    for (int pc = 0; pc < program.size(); pc++) {
      Instruction i = program.get(pc);
      assertTrue(allowed.contains(i.code()), "opcode " + i.code() + " at " + pc);
      if (i.code() == 0x05) {
        assertTrue(pc + 1 + i.k() < program.size(), "ja out of range at " + pc);
      } else if (i.code() != 0x06 && i.code() != 0x20) {
        assertTrue(pc + 1 + i.jt() < program.size(), "jt out of range at " + pc);
        assertTrue(pc + 1 + i.jf() < program.size(), "jf out of range at " + pc);
      }
      // little-endian struct sock_filter
      ByteBuffer one = ByteBuffer.wrap(bytes, pc * 8, 8).order(ByteOrder.LITTLE_ENDIAN);
      assertEquals(i.code(), one.getShort());
      assertEquals(i.jt(), Byte.toUnsignedInt(one.get()));
      assertEquals(i.jf(), Byte.toUnsignedInt(one.get()));
      assertEquals(i.k(), one.getInt());
    }
  }

  @Test
  void eachDeniedCallGetsEpermOnEachArchitecture() {
    for (Syscall s : SeccompFilter.DENIED) {
      assertEquals(DENY, x86(s.x86_64()), s + " on x86_64");
      if (s.aarch64() >= 0) {
        assertEquals(DENY, arm(s.aarch64()), s + " on aarch64");
      }
    }
  }

  @Test
  void theIssuesCallsAreDeniedByTheirKernelNumbers() {
    // Independently of the table: numbers from arch/x86/entry/syscalls/syscall_64.tbl.
    for (int nr :
        new int[] {
          101 /* ptrace */, 250 /* keyctl */, 321 /* bpf */, 298 /* perf_event_open */,
          425 /* io_uring_setup */, 165 /* mount */, 272 /* unshare */, 175 /* init_module */,
          308 /* setns */, 323 /* userfaultfd */
        }) {
      assertEquals(DENY, x86(nr), "x86_64 " + nr);
    }
    // include/uapi/asm-generic/unistd.h
    for (int nr :
        new int[] {
          117 /* ptrace */, 219 /* keyctl */, 280 /* bpf */, 241 /* perf_event_open */,
          425 /* io_uring_setup */, 40 /* mount */, 97 /* unshare */, 105 /* init_module */
        }) {
      assertEquals(DENY, arm(nr), "aarch64 " + nr);
    }
  }

  @Test
  void everyOtherCallIsAllowedItIsADenyList() {
    Set<Integer> x86Special = new HashSet<>();
    Set<Integer> armSpecial = new HashSet<>();
    List<Syscall> special = new ArrayList<>(SeccompFilter.DENIED);
    special.addAll(List.of(SeccompFilter.CLONE3, SeccompFilter.PERSONALITY));
    special.forEach(
        s -> {
          x86Special.add(s.x86_64());
          armSpecial.add(s.aarch64());
        });
    for (int nr = 0; nr < 600; nr++) {
      if (!x86Special.contains(nr)) {
        assertEquals(ALLOW, x86(nr, THREAD_FLAGS), "x86_64 " + nr);
      }
      if (!armSpecial.contains(nr)) {
        assertEquals(ALLOW, arm(nr, THREAD_FLAGS), "aarch64 " + nr);
      }
    }
    assertEquals(ALLOW, x86(39), "getpid");
    assertEquals(ALLOW, arm(172), "getpid");
    assertEquals(ALLOW, x86(-1), "syscall(-1), which the kernel answers ENOSYS");
  }

  @Test
  void cloneIsDeniedOnlyWithANamespaceFlag() {
    assertEquals(ALLOW, x86(56, THREAD_FLAGS), "a thread");
    assertEquals(ALLOW, x86(56, 0x11 /* SIGCHLD: fork */), "fork");
    assertEquals(ALLOW, arm(220, THREAD_FLAGS));
    for (long flag :
        new long[] {
          0x00020000, 0x02000000, 0x04000000, 0x08000000, CLONE_NEWUSER, 0x20000000, 0x40000000
        }) {
      assertEquals(DENY, x86(56, 0x11 | flag), "x86_64 clone with " + Long.toHexString(flag));
      assertEquals(DENY, arm(220, 0x11 | flag), "aarch64 clone with " + Long.toHexString(flag));
    }
    // The kernel reads only the low 32 bits of clone's flags.
    assertEquals(ALLOW, x86(56, 0x11 | (CLONE_NEWUSER << 32)));
    assertEquals(ENOSYS, x86(435), "clone3: the C library falls back to clone");
    assertEquals(ENOSYS, arm(435));
  }

  @Test
  void personalityOnlyToTheHarmlessDomains() {
    for (int safe : SeccompFilter.SAFE_PERSONALITIES) {
      assertEquals(ALLOW, x86(135, Integer.toUnsignedLong(safe)), Integer.toHexString(safe));
      assertEquals(ALLOW, arm(92, Integer.toUnsignedLong(safe)), Integer.toHexString(safe));
    }
    assertEquals(DENY, x86(135, 0x0400000 /* READ_IMPLIES_EXEC */));
    assertEquals(DENY, x86(135, 0x0040000 /* ADDR_NO_RANDOMIZE */));
    assertEquals(DENY, arm(92, 0x0040000));
  }

  @Test
  void otherArchitecturesAndX32AreKilled() {
    byte[] program = SeccompFilter.program();
    assertEquals(KILL, run(program, AUDIT_ARCH_I386, 20 /* i386 getpid */));
    assertEquals(KILL, run(program, AUDIT_ARCH_I386, 26 /* i386 ptrace */));
    assertEquals(KILL, run(program, AUDIT_ARCH_ARM, 20));
    assertEquals(KILL, run(program, 0xC00000F3 /* riscv64 */, 172));
    assertEquals(KILL, x86(SeccompFilter.X32_SYSCALL_BIT | 39), "x32 getpid");
    assertEquals(KILL, x86(SeccompFilter.X32_SYSCALL_BIT | 101), "x32 ptrace");
  }

  @Test
  void onlyHostsWithATableGetTheFilter() {
    assertEquals(Optional.empty(), SeccompFilter.unsupported("amd64"));
    assertEquals(Optional.empty(), SeccompFilter.unsupported("aarch64"));
    String why = SeccompFilter.unsupported("riscv64").orElseThrow();
    assertTrue(why.contains("riscv64") && why.contains("x86_64 and aarch64"), why);
  }

  @Test
  void theFileIsTheOwnersOnly(@TempDir Path dir) throws Exception {
    Path file = SeccompFilter.write(dir);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertArrayEquals(SeccompFilter.program(), Files.readAllBytes(file));
    assertFalse(SeccompFilter.describe().isBlank());
  }
}
