package dev.worka.gateway.runtime.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WorkerNetworkTest {
  @Test
  void theSettingDefaultsToTheGatewayOnlyAndRefusesAnythingElseByName() {
    assertEquals(WorkerNetwork.GATEWAY, WorkerNetwork.fromEnvironment(Map.of()));
    assertEquals(
        WorkerNetwork.GATEWAY,
        WorkerNetwork.fromEnvironment(Map.of("WORKA_WORKER_NETWORK", " Gateway ")));
    assertEquals(
        WorkerNetwork.HOST, WorkerNetwork.fromEnvironment(Map.of("WORKA_WORKER_NETWORK", "host")));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> WorkerNetwork.fromEnvironment(Map.of("WORKA_WORKER_NETWORK", "none")));
    assertTrue(
        e.getMessage().contains("WORKA_WORKER_NETWORK=none") && e.getMessage().contains("gateway"),
        e.getMessage());
  }

  @Test
  void onlyAGatewayOnLoopbackAtAnUnprivilegedPortIsRelayed() {
    assertEquals(Optional.of(8080), ProcessRuntime.loopbackPort("http://127.0.0.1:8080"));
    assertEquals(Optional.of(40123), ProcessRuntime.loopbackPort("http://localhost:40123/"));
    assertEquals(
        Optional.empty(), ProcessRuntime.loopbackPort("http://127.0.0.1:80"), "below 1024");
    assertEquals(Optional.empty(), ProcessRuntime.loopbackPort("http://127.0.0.1"), "no port");
    assertEquals(
        Optional.of(8443),
        ProcessRuntime.loopbackPort("https://127.0.0.1:8443"),
        "bytes pass as they are");
    assertEquals(Optional.empty(), ProcessRuntime.loopbackPort("ftp://127.0.0.1:2121"));
    assertEquals(
        Optional.empty(),
        ProcessRuntime.loopbackPort("http://gateway.internal:8080"),
        "off loopback");
    assertEquals(Optional.empty(), ProcessRuntime.loopbackPort("not a url"));
  }
}
