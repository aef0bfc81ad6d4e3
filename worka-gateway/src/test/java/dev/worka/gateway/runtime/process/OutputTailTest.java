package dev.worka.gateway.runtime.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutputTailTest {
  List<String> drain(String secret, InputStream input) throws Exception {
    OutputTail tail = new OutputTail(secret);
    tail.drain(input, line -> {});
    return tail.lastLines();
  }

  List<String> drain(String text) throws Exception {
    return drain(null, new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void keepsOnlyTheLastLines() throws Exception {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 100_000; i++) {
      text.append("line ").append(i).append('\n');
    }
    List<String> lines = drain(text.toString());
    assertEquals(40, lines.size());
    assertEquals("line 99960", lines.get(0));
    assertEquals("line 99999", lines.get(39));
  }

  @Test
  void endlessLineIsCutWithoutReadingItIntoMemory() throws Exception {
    long[] produced = {0};
    InputStream endless =
        new InputStream() {
          @Override
          public int read() {
            return produced[0]++ < 50_000_000 ? 'y' : -1;
          }

          @Override
          public int read(byte[] buffer, int offset, int length) {
            if (produced[0] >= 50_000_000) {
              return -1;
            }
            java.util.Arrays.fill(buffer, offset, offset + length, (byte) 'y');
            produced[0] += length;
            return length;
          }
        };
    List<String> lines = drain(null, endless);
    assertEquals(1, lines.size());
    assertEquals(OutputTail.MAX_LINE_CHARS, lines.get(0).length());
    assertTrue(lines.get(0).endsWith("…"));
  }

  @Test
  void cleansControlCharactersAndCarriageReturns() throws Exception {
    assertEquals(
        List.of("a?[31mred", "tab\tok", "crlf", "bell?"),
        drain("a\u001b[31mred\ntab\tok\ncrlf\r\nbell\u0007\n"));
  }

  @Test
  void decodesUtf8AndReplacesBrokenBytes() throws Exception {
    byte[] bytes = {'h', (byte) 0xc3, (byte) 0xa9, '\n', (byte) 0xff, 'x', '\n'};
    assertEquals(List.of("hé", "\ufffdx"), drain(null, new ByteArrayInputStream(bytes)));
  }

  @Test
  void redactsTheSecret() throws Exception {
    List<String> lines =
        drain(
            "s3cr3t.t0k3n",
            new ByteArrayInputStream("token=s3cr3t.t0k3n!\n".getBytes(StandardCharsets.UTF_8)));
    assertEquals(List.of("token=<token>!"), lines);
  }

  @Test
  void handsEachLineToTheListener() throws Exception {
    OutputTail tail = new OutputTail(null);
    List<String> seen = new ArrayList<>();
    tail.drain(new ByteArrayInputStream("a\nb\n\nc".getBytes(StandardCharsets.UTF_8)), seen::add);
    assertEquals(List.of("a", "b", "", "c"), seen);
  }
}
