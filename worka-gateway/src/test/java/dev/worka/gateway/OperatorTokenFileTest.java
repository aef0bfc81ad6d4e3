package dev.worka.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.worka.gateway.error.WorkaException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated operator token is its owner's only, and a token file that other users may read or
 * change is refused rather than used (a local user who read it holds every operator power).
 */
class OperatorTokenFileTest {
  @TempDir Path home;

  @Test
  void theTokenIsWrittenForItsOwnerOnlyAndKeptAcrossStarts() throws Exception {
    String token = OperatorTokenFile.loadOrCreate(home);
    Path file = home.resolve("operator-token");
    assertTrue(token.startsWith("wk_") && token.length() >= 40, token.length() + " characters");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals(token, OperatorTokenFile.loadOrCreate(home));
  }

  @Test
  void aTokenFileOthersMayReadOrChangeIsRefusedWithTheFix() throws Exception {
    String token = OperatorTokenFile.loadOrCreate(home);
    Path file = home.resolve("operator-token");
    for (String mode : new String[] {"rw-r--r--", "rw--w----", "rw-rw-rw-"}) {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
      WorkaException refused =
          assertThrows(WorkaException.class, () -> OperatorTokenFile.loadOrCreate(home), mode);
      assertTrue(refused.getMessage().contains("chmod 600 " + file), refused.getMessage());
      assertTrue(!refused.getMessage().contains(token), "the message never shows the token");
      assertEquals(token, Files.readString(file).strip(), "the file is left as it was");
    }
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    assertEquals(token, OperatorTokenFile.loadOrCreate(home));
  }
}
