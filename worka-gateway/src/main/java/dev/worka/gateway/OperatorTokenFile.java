package dev.worka.gateway;

import dev.worka.gateway.error.WorkaException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator token file under {@code WORKA_HOME} ({@code operator-token}), used when {@code
 * WORKA_OPERATOR_TOKEN} is not set; the CLI reads it from there.
 */
final class OperatorTokenFile {
  private static final Logger log = LoggerFactory.getLogger(OperatorTokenFile.class);

  private OperatorTokenFile() {}

  /**
   * The operator token file under WORKA_HOME: read, or created (0600) on first start. A file that
   * users other than its owner may read or change is refused, not used (as the signing key is): the
   * token is all-powerful over runs and policy.
   */
  static String loadOrCreate(Path home) {
    Path file = home.resolve("operator-token");
    try {
      if (Files.exists(file)) {
        if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
          var permissions = Files.getPosixFilePermissions(file);
          if (!PosixFilePermissions.fromString("rw-------").containsAll(permissions)) {
            throw new WorkaException(
                "refusing to use the operator token "
                    + file
                    + ": its mode is "
                    + PosixFilePermissions.toString(permissions)
                    + ", so users other than its owner may read or"
                    + " change it. Run: chmod 600 "
                    + file
                    + " (and if others may already have read it, delete it"
                    + " and restart the Gateway: a new token is generated, and the CLI reads it from there)");
          }
        }
        String token = Files.readString(file).trim();
        if (token.length() >= 16) {
          return token;
        }
      }
      byte[] bytes = new byte[32];
      new SecureRandom().nextBytes(bytes);
      String token = "wk_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
      Files.createDirectories(home);
      Path tmp =
          Files.createTempFile(
              home,
              ".operator-token",
              ".tmp",
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(tmp, token + "\n");
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      log.info("generated an operator token in {} (the CLI reads it from there)", file);
      return token;
    } catch (IOException e) {
      throw new WorkaException(
          "could not read or create the operator token at " + file + ": " + e.getMessage(), e);
    }
  }
}
