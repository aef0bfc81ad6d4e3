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
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * A closed loop: {@code callers} virtual threads each sending the next call as soon as the last one
 * is answered, for {@code time} or until {@code maxCalls} were sent. Its calls per second are what
 * the server can serve at that concurrency — its capacity, not a latency under a given load (for
 * that, {@link FixedRateLoad}).
 */
final class ClosedLoopLoad {
  /** What the loop saw: answered calls per second, their latencies (µs) and the failures. */
  record Result(
      int callers,
      double perSecond,
      long succeeded,
      Histogram latencyMicros,
      Map<String, Long> failures) {}

  private ClosedLoopLoad() {}

  static Result run(
      HttpClient client,
      LongFunction<HttpRequest> requests,
      int callers,
      Duration time,
      long maxCalls) {
    Histogram latency = new ConcurrentHistogram(TimeUnit.HOURS.toMicros(1), 3);
    AtomicLong next = new AtomicLong();
    LongAdder succeeded = new LongAdder();
    Map<String, LongAdder> failures = new ConcurrentHashMap<>();
    long start = System.nanoTime();
    long end = start + time.toNanos();
    try (ExecutorService loop = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int c = 0; c < callers; c++) {
        loop.execute(
            () -> {
              for (long i = next.getAndIncrement();
                  i < maxCalls && System.nanoTime() < end;
                  i = next.getAndIncrement()) {
                long t = System.nanoTime();
                try {
                  HttpResponse<String> r =
                      client.send(requests.apply(i), HttpResponse.BodyHandlers.ofString());
                  if (r.statusCode() == 200) {
                    latency.recordValue((System.nanoTime() - t) / 1000);
                    succeeded.increment();
                  } else {
                    failures
                        .computeIfAbsent("HTTP " + r.statusCode(), k -> new LongAdder())
                        .increment();
                  }
                } catch (IOException e) {
                  failures
                      .computeIfAbsent(e.getClass().getSimpleName(), k -> new LongAdder())
                      .increment();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  return;
                }
              }
            });
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Map<String, Long> failed = new TreeMap<>();
    failures.forEach((k, v) -> failed.put(k, v.sum()));
    return new Result(callers, succeeded.sum() / seconds, succeeded.sum(), latency, failed);
  }
}
