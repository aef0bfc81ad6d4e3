package dev.worka.gateway.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.worka.gateway.error.WorkaException;
import dev.worka.gateway.token.Verification.Verified;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningKeysTest {
  @TempDir Path home;

  Path keyFile() {
    return home.resolve("keys").resolve("gateway-signing.jwk");
  }

  @Test
  void createdOnFirstUseWithOwnerOnlyPermissions() throws Exception {
    SigningKeys keys = SigningKeys.loadOrCreate(home);

    assertTrue(Files.isRegularFile(keyFile()));
    assertEquals(
        "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile())));
    assertEquals(
        "rwx------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile().getParent())));
    JsonNode jwk = new ObjectMapper().readTree(keyFile().toFile());
    assertEquals("EC", jwk.get("kty").asText());
    assertEquals("P-256", jwk.get("crv").asText());
    assertEquals(keys.keyId(), jwk.get("kid").asText());
    assertTrue(jwk.has("d"), "the file holds the private key");
    try (var files = Files.list(keyFile().getParent())) {
      assertEquals(1, files.count(), "no temporary file left behind");
    }
  }

  @Test
  void reusedAfterwardsSoTokensSurviveARestart() {
    SigningKeys first = SigningKeys.loadOrCreate(home);
    SigningKeys second = SigningKeys.loadOrCreate(home);
    assertEquals(first.keyId(), second.keyId());

    Instant now = Instant.parse("2026-11-22T10:00:00Z");
    String token =
        new TokenIssuer(first, "iss", () -> now)
            .mint("hari", UUID.randomUUID(), UUID.randomUUID(), 1, now.plusSeconds(30))
            .token();
    assertInstanceOf(Verified.class, new TokenVerifier(second, "iss", () -> now).verify(token));
  }

  @Test
  void generatedKeysDiffer() {
    assertNotEquals(SigningKeys.generate().keyId(), SigningKeys.generate().keyId());
  }

  @Test
  void keyReadableByOthersIsRefusedWithTheChmodToRun() throws Exception {
    SigningKeys.loadOrCreate(home);
    Files.setPosixFilePermissions(keyFile(), PosixFilePermissions.fromString("rw-r--r--"));

    WorkaException e = assertThrows(WorkaException.class, () -> SigningKeys.loadOrCreate(home));

    assertTrue(e.getMessage().contains(keyFile().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("chmod 600 " + keyFile()), e.getMessage());
    assertTrue(e.getMessage().contains("rw-r--r--"), e.getMessage());

    Files.setPosixFilePermissions(keyFile(), PosixFilePermissions.fromString("rw----r--"));
    assertThrows(WorkaException.class, () -> SigningKeys.loadOrCreate(home));

    Files.setPosixFilePermissions(keyFile(), PosixFilePermissions.fromString("r--------"));
    SigningKeys.loadOrCreate(home); // owner read-only is fine
  }

  @Test
  void corruptKeyFileIsRefusedWithoutQuotingIt() throws Exception {
    Files.createDirectories(keyFile().getParent());
    String secretLooking = "{\"kty\":\"EC\",\"d\":\"SECRET-MATERIAL\"}";
    Files.writeString(keyFile(), secretLooking);
    Files.setPosixFilePermissions(keyFile(), PosixFilePermissions.fromString("rw-------"));

    WorkaException e = assertThrows(WorkaException.class, () -> SigningKeys.loadOrCreate(home));

    assertTrue(e.getMessage().contains(keyFile().toString()), e.getMessage());
    assertFalse(e.getMessage().contains("SECRET-MATERIAL"), e.getMessage());
  }

  @Test
  void publicOnlyOrWrongCurveKeysAreRefused() throws Exception {
    Files.createDirectories(keyFile().getParent());
    SigningKeys keys = SigningKeys.generate();
    Files.writeString(keyFile(), keys.publicJwk().toJSONString());
    Files.setPosixFilePermissions(keyFile(), PosixFilePermissions.fromString("rw-------"));
    WorkaException publicOnly =
        assertThrows(WorkaException.class, () -> SigningKeys.loadOrCreate(home));
    assertTrue(publicOnly.getMessage().contains("public key"), publicOnly.getMessage());

    var p384 =
        new com.nimbusds.jose.jwk.gen.ECKeyGenerator(com.nimbusds.jose.jwk.Curve.P_384)
            .keyIDFromThumbprint(true)
            .generate();
    Files.writeString(keyFile(), p384.toJSONString());
    WorkaException wrongCurve =
        assertThrows(WorkaException.class, () -> SigningKeys.loadOrCreate(home));
    assertTrue(wrongCurve.getMessage().contains("P-256"), wrongCurve.getMessage());
    assertFalse(wrongCurve.getMessage().contains(p384.getD().toString()));
  }
}
