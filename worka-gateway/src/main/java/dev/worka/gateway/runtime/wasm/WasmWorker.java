package dev.worka.gateway.runtime.wasm;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wasi.WasiExitException;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import dev.worka.gateway.runtime.AttemptOutcome;
import dev.worka.gateway.runtime.WorkerHandle;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One module instance running one step attempt on a platform thread of its own (a module that spins
 * must not hold one of the few carrier threads every virtual thread shares). It sees WASI preview 1
 * with no directory, no environment, a clock stopped at the epoch and {@code args = [agent]}; its
 * stdin is the step envelope (fetched through {@link AgentCalls#context} when it first reads), its
 * stdout the result, its Gateway calls {@link HostFunctions}. At its deadline, or on {@link #stop},
 * its thread is interrupted, which stops compiled and interpreted code alike.
 *
 * <p>When the module exits with status 0 without having posted a result, what it wrote to stdout is
 * posted as its result ({@link AgentCalls#result}), before {@link #await} returns — as a process
 * agent posts its result before it exits.
 */
final class WasmWorker implements WorkerHandle {
  private static final Logger log = LoggerFactory.getLogger(WasmWorker.class);

  /** How long an interrupted module may take to unwind before its outcome is reported anyway. */
  static final Duration UNWIND = Duration.ofSeconds(5);

  /** The exit status reported for a trap (as for a process that aborted: 128 + SIGABRT). */
  static final int TRAP_STATUS = 134;

  private static final long STACK_BYTES = 8L * 1024 * 1024;

  /** How the module's thread ended. */
  private sealed interface Ended {}

  private record Exit(int code) implements Ended {}

  private record Limit(String limit, String detail) implements Ended {}

  private record Interrupted() implements Ended {}

  private final InstantSource clock;
  private final Instant started;
  private final Instant deadline;
  private final ModuleOutput output;
  private final Thread thread;
  private volatile Ended ended;
  private volatile String stopReason;
  private volatile boolean timedOut;
  private AttemptOutcome outcome;

  private WasmWorker(
      CompiledModules.Compiled compiled,
      String agent,
      String token,
      AgentCalls calls,
      int maxPages,
      long outputCapBytes,
      Instant deadline,
      InstantSource clock,
      String threadName) {
    this.clock = clock;
    this.started = clock.instant();
    this.deadline = deadline;
    this.output = new ModuleOutput(token, outputCapBytes);
    HostFunctions host = new HostFunctions(calls, token);
    this.thread =
        Thread.ofPlatform()
            .daemon()
            .stackSize(STACK_BYTES)
            .name(threadName)
            .unstarted(() -> ended = run(compiled, agent, token, calls, maxPages, output, host));
  }

  /** Starts {@code compiled} as the worker of one attempt, on a thread named {@code threadName}. */
  static WasmWorker start(
      CompiledModules.Compiled compiled,
      String agent,
      String token,
      AgentCalls calls,
      int maxPages,
      long outputCapBytes,
      Instant deadline,
      InstantSource clock,
      String threadName) {
    WasmWorker worker =
        new WasmWorker(
            compiled, agent, token, calls, maxPages, outputCapBytes, deadline, clock, threadName);
    worker.thread.start();
    return worker;
  }

  private static Ended run(
      CompiledModules.Compiled compiled,
      String agent,
      String token,
      AgentCalls calls,
      int maxPages,
      ModuleOutput output,
      HostFunctions host) {
    WasiOptions options =
        WasiOptions.builder()
            .withArguments(List.of(agent))
            .withStdin(new EnvelopeInput(calls, token))
            .withStdout(output.out)
            .withStderr(output.err)
            .withClock(Clock.fixed(Instant.EPOCH, ZoneOffset.UTC))
            .withThrowOnExit0(true)
            .build();
    int exitCode;
    try (WasiPreview1 wasi = WasiPreview1.builder().withOptions(options).build()) {
      ImportValues imports =
          ImportValues.builder()
              .addFunction(wasi.toHostFunctions())
              .addFunction(host.functions().toArray(HostFunction[]::new))
              .build();
      Instance instance =
          Instance.builder(compiled.module())
              .withImportValues(imports)
              .withMachineFactory(compiled.machine())
              .withMemoryFactory(limits -> new BoundedMemory(limits, maxPages))
              .withStart(false)
              .build();
      instance.export("_start").apply();
      exitCode = 0;
    } catch (WasiExitException e) {
      exitCode = e.exitCode();
    } catch (LimitExceeded e) {
      output.note("stopped: " + e.detail());
      return new Limit(e.limit(), e.detail());
    } catch (StackOverflowError e) {
      output.note("trap: call stack exhausted");
      return new Exit(TRAP_STATUS);
    } catch (RuntimeException e) {
      if (Thread.currentThread().isInterrupted() || interruption(e)) {
        return new Interrupted();
      }
      output.note("trap: " + e.getMessage());
      log.debug("wasm module of {} trapped", agent, e);
      return new Exit(TRAP_STATUS);
    }
    if (exitCode == 0 && !host.resultPosted()) {
      byte[] stdout = output.stdout();
      if (!new String(stdout, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
        AgentCalls.Answer answer = calls.result(token, stdout);
        if (answer.status() != 200) {
          String body = answer.bodyText();
          output.note(
              "the result on stdout was refused: "
                  + answer.status()
                  + " "
                  + (body.length() > 300 ? body.substring(0, 300) + "…" : body));
        }
      }
    }
    return new Exit(exitCode);
  }

  private static boolean interruption(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof com.dylibso.chicory.runtime.ChicoryInterruptedException
          || t instanceof InterruptedException) {
        return true;
      }
    }
    return false;
  }

  @Override
  public AttemptOutcome await() {
    synchronized (this) {
      if (outcome != null) {
        return outcome;
      }
    }
    boolean interrupted = false;
    try {
      while (thread.isAlive()) {
        Duration left = Duration.between(clock.instant(), deadline);
        if (left.isNegative() || left.isZero()) {
          timedOut = stopReason == null;
          thread.interrupt();
          break;
        }
        // Wake at least every second: the clock may be moved (tests) rather than waited for.
        thread.join(left.compareTo(Duration.ofSeconds(1)) < 0 ? left : Duration.ofSeconds(1));
      }
    } catch (InterruptedException e) {
      interrupted = true;
      stop("the Gateway stopped waiting for it");
    }
    try {
      thread.join(UNWIND);
    } catch (InterruptedException e) {
      interrupted = true;
    }
    if (thread.isAlive()) {
      log.warn(
          "wasm worker thread {} did not unwind within {} after it was interrupted",
          thread.getName(),
          UNWIND);
    }
    AttemptOutcome decided = decide();
    synchronized (this) {
      if (outcome == null) {
        outcome = decided;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return outcome;
  }

  private AttemptOutcome decide() {
    Duration ran = Duration.between(started, clock.instant());
    if (ran.isNegative()) {
      ran = Duration.ZERO;
    }
    List<String> lines = output.lastLines();
    Ended end = thread.isAlive() ? new Interrupted() : ended;
    if (end == null) {
      end = new Interrupted();
    }
    return switch (end) {
      case Exit e -> new AttemptOutcome.Exited(e.code(), lines, ran);
      case Limit l -> new AttemptOutcome.LimitReached(l.limit(), l.detail(), lines, ran);
      case Interrupted i ->
          stopReason != null && !timedOut
              ? new AttemptOutcome.Stopped(stopReason, lines, ran)
              : new AttemptOutcome.TimedOut(lines, ran);
    };
  }

  @Override
  public void stop(String reason) {
    if (stopReason == null && !timedOut) {
      stopReason = reason;
    }
    thread.interrupt();
  }

  @Override
  public long pid() {
    return -1;
  }

  /** The step envelope on stdin, fetched when the module first reads it. */
  private static final class EnvelopeInput extends InputStream {
    private final AgentCalls calls;
    private final String token;
    private ByteArrayInputStream envelope;

    EnvelopeInput(AgentCalls calls, String token) {
      this.calls = calls;
      this.token = token;
    }

    private ByteArrayInputStream envelope() {
      if (envelope == null) {
        envelope = new ByteArrayInputStream(calls.context(token).body());
      }
      return envelope;
    }

    @Override
    public int read() {
      return envelope().read();
    }

    @Override
    public int read(byte[] b, int off, int len) {
      return envelope().read(b, off, len);
    }

    @Override
    public int available() {
      return envelope == null ? 0 : envelope.available();
    }
  }
}
