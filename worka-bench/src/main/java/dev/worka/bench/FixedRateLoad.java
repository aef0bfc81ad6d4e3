package dev.worka.bench;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * An open-loop load: call {@code i} is due at {@code start + i / rate} whatever happened to the
 * calls before it, is sent on its own virtual thread, and its latency is measured from when it was
 * <em>due</em>, not from when it was sent. A server (or a driver) that falls behind therefore shows
 * its whole backlog in the percentiles instead of hiding it by sending less (coordinated omission).
 *
 * <p>The first {@code warmup} worth of calls are sent but not recorded; the next {@code measure}
 * worth are. Only {@code 200} answers are recorded as latencies; anything else is counted as a
 * failure by status (or exception class) and reported beside them.
 */
final class FixedRateLoad {
  /** Latencies are recorded in microseconds, up to an hour. */
  private static final long HIGHEST_MICROS = TimeUnit.HOURS.toMicros(1);

  /**
   * What one load phase saw.
   *
   * @param latencyMicros every recorded (measured, successful) call, from due time to answer
   * @param perSecond the same, split by the second of the measurement in which each call was due
   * @param sendLagMicros how late the driver itself sent each measured call after its due time
   * @param measured calls due in the measurement window
   * @param succeeded of those, answered {@code 200}
   * @param failures of those, the rest, by status or exception
   * @param achievedPerSecond successful measured calls per second, from the start of the window to
   *     the last measured answer (the offered rate when the server keeps up)
   * @param totalSucceeded {@code 200} answers over warm-up and measurement together
   * @param sent calls sent over warm-up and measurement together
   * @param maxInFlight the most calls outstanding at once
   */
  @SuppressWarnings("ArrayRecordComponent") // never compared or hashed: printed once, then dropped
  record Result(
      String name,
      int rate,
      Histogram latencyMicros,
      Histogram[] perSecond,
      Histogram sendLagMicros,
      long measured,
      long succeeded,
      Map<String, Long> failures,
      double achievedPerSecond,
      long totalSucceeded,
      long sent,
      int maxInFlight) {
    long failed() {
      return failures.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  private FixedRateLoad() {}

  /**
   * Sends {@code rate} calls a second, for {@code warmup} then for {@code measure}; {@code
   * requests} builds call {@code i}'s request (distinct bodies, distinct keys).
   */
  static Result run(
      String name,
      HttpClient client,
      LongFunction<HttpRequest> requests,
      int rate,
      Duration warmup,
      Duration measure,
      Runnable atMeasurementStart) {
    long warmupCalls = rate * warmup.toMillis() / 1000;
    long measuredCalls = rate * measure.toMillis() / 1000;
    long total = warmupCalls + measuredCalls;
    int seconds = (int) Math.max(1, (measure.toMillis() + 999) / 1000);

    Histogram latency = new ConcurrentHistogram(HIGHEST_MICROS, 3);
    Histogram[] perSecond = new Histogram[seconds];
    for (int s = 0; s < seconds; s++) {
      perSecond[s] = new ConcurrentHistogram(HIGHEST_MICROS, 3);
    }
    Histogram sendLag = new ConcurrentHistogram(HIGHEST_MICROS, 3);
    Map<String, LongAdder> failures = new ConcurrentHashMap<>();
    LongAdder succeeded = new LongAdder();
    LongAdder totalSucceeded = new LongAdder();
    AtomicLong lastMeasuredAnswer = new AtomicLong();
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger maxInFlight = new AtomicInteger();

    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    long measureStart = start + dueOffset(warmupCalls, rate);
    boolean announced = false;
    try (ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
      for (long i = 0; i < total; i++) {
        long due = start + dueOffset(i, rate);
        if (!announced && i == warmupCalls) {
          announced = true;
          if (atMeasurementStart != null) {
            atMeasurementStart.run();
          }
        }
        for (long now = System.nanoTime(); now < due; now = System.nanoTime()) {
          LockSupport.parkNanos(due - now);
        }
        long index = i;
        boolean measured = i >= warmupCalls;
        senders.execute(
            () -> {
              int outstanding = inFlight.incrementAndGet();
              maxInFlight.accumulateAndGet(outstanding, Math::max);
              if (measured) {
                sendLag.recordValue(Math.max(0, (System.nanoTime() - due) / 1000));
              }
              String failure;
              try {
                HttpResponse<String> answer =
                    client.send(requests.apply(index), HttpResponse.BodyHandlers.ofString());
                failure =
                    answer.statusCode() == 200
                        ? null
                        : "HTTP " + answer.statusCode() + " " + errorCode(answer.body());
              } catch (IOException e) {
                failure = e.getClass().getSimpleName();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = "interrupted";
              } finally {
                inFlight.decrementAndGet();
              }
              long done = System.nanoTime();
              if (failure == null) {
                totalSucceeded.increment();
              }
              if (!measured) {
                return;
              }
              if (failure != null) {
                failures.computeIfAbsent(failure, f -> new LongAdder()).increment();
                return;
              }
              long micros = Math.min(HIGHEST_MICROS, (done - due) / 1000);
              latency.recordValue(micros);
              int second = (int) Math.min(seconds - 1, (due - measureStart) / 1_000_000_000L);
              perSecond[second].recordValue(micros);
              succeeded.increment();
              lastMeasuredAnswer.accumulateAndGet(done, Math::max);
            });
      }
    } // close() waits for every call to be answered (or to time out)
    double window = Math.max(1, lastMeasuredAnswer.get() - measureStart) / 1e9;
    Map<String, Long> failed = new TreeMap<>();
    failures.forEach((k, v) -> failed.put(k, v.sum()));
    return new Result(
        name,
        rate,
        latency,
        perSecond,
        sendLag,
        measuredCalls,
        succeeded.sum(),
        failed,
        succeeded.sum() / window,
        totalSucceeded.sum(),
        total,
        maxInFlight.get());
  }

  /** When call {@code i} is due, in nanoseconds after the start (no drift at any rate). */
  private static long dueOffset(long i, int rate) {
    return i * 1_000_000_000L / rate;
  }

  /** The stable error code of a JSON error body, or a clipped body. */
  private static String errorCode(String body) {
    int at = body.indexOf("\"error\"");
    if (at >= 0) {
      int open = body.indexOf('"', body.indexOf(':', at) + 1);
      int close = open < 0 ? -1 : body.indexOf('"', open + 1);
      if (open >= 0 && close > open) {
        return body.substring(open + 1, close);
      }
    }
    return body.length() > 60 ? body.substring(0, 60) + "…" : body;
  }
}
