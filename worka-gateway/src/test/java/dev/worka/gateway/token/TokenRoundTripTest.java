package dev.worka.gateway.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.token.Verification.Rejected;
import dev.worka.gateway.token.Verification.Verified;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.TokenClaims;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class TokenRoundTripTest {
  static final Instant START = Instant.parse("2026-11-22T10:00:00Z");
  static final String ISSUER = "https://gateway.test";

  final SettableClock clock = new SettableClock(START);
  final SigningKeys keys = SigningKeys.generate();
  final TokenIssuer issuer = new TokenIssuer(keys, ISSUER, clock);
  final TokenVerifier verifier = new TokenVerifier(keys, ISSUER, clock);
  final UUID runId = UUID.randomUUID();
  final UUID stepId = UUID.randomUUID();

  @Test
  void mintedTokenVerifiesWithItsClaims() {
    IssuedToken issued = issuer.mint("ernest", runId, stepId, 2, START.plusSeconds(120));

    Verification verification = verifier.verify(issued.token());

    WorkerClaims claims = assertInstanceOf(Verified.class, verification).claims();
    assertEquals(
        new WorkerClaims("ernest", runId, stepId, 2, issued.jti(), START, START.plusSeconds(120)),
        claims);
    assertEquals(START.plusSeconds(120), issued.expiresAt());
  }

  @Test
  void aMintedTokenIsKnownWithTheClaimsTheVerifierReadsUntilItExpiresAndOnlyByItsExactText() {
    VerifiedTokens known = new VerifiedTokens(clock);
    TokenIssuer remembering = new TokenIssuer(keys, ISSUER, clock, known);
    IssuedToken issued = remembering.mint("ernest", runId, stepId, 3, START.plusSeconds(60));

    WorkerClaims verified =
        assertInstanceOf(Verified.class, verifier.verify(issued.token())).claims();
    assertEquals(verified, known.find(issued.token()).orElseThrow());
    String lastCharChanged =
        issued.token().substring(0, issued.token().length() - 1)
            + (issued.token().endsWith("A") ? "B" : "A");
    assertTrue(known.find(lastCharChanged).isEmpty());
    assertTrue(known.find(null).isEmpty());
    assertTrue(
        known
            .find(issuer.mint("ernest", runId, stepId, 3, START.plusSeconds(60)).token())
            .isEmpty(),
        "an issuer without the cache tells it nothing");

    clock.advance(Duration.ofSeconds(60));
    assertTrue(known.find(issued.token()).isEmpty(), "gone at its exp");
    known.remember(issued.token(), verified);
    known.forget(issued.token());
    clock.set(START);
    assertTrue(known.find(issued.token()).isEmpty(), "forgotten");
  }

  @Test
  void bearerPrefixIsAcceptedInAnyCase() {
    String token = issuer.mint("ernest", runId, stepId, 1, START.plusSeconds(60)).token();

    assertInstanceOf(Verified.class, verifier.verify("Bearer " + token));
    assertInstanceOf(Verified.class, verifier.verify("bearer   " + token + " "));
    assertInstanceOf(Verified.class, verifier.verify("BEARER " + token));
  }

  @Test
  void headerAndClaimsAreExactlyTheProtocolOnes() throws Exception {
    IssuedToken issued = issuer.mint("daneel", runId, stepId, 1, START.plusSeconds(90));
    String[] parts = issued.token().split("\\.");
    ObjectMapper mapper = new ObjectMapper();
    JsonNode header = mapper.readTree(Base64.getUrlDecoder().decode(parts[0]));
    JsonNode payload = mapper.readTree(Base64.getUrlDecoder().decode(parts[1]));

    assertEquals("ES256", header.get("alg").asText());
    assertEquals("JWT", header.get("typ").asText());
    assertEquals(keys.keyId(), header.get("kid").asText());
    assertEquals(3, header.size());

    assertEquals(ISSUER, payload.get(TokenClaims.ISSUER).asText());
    assertEquals(TokenClaims.WORKER_AUDIENCE, payload.get(TokenClaims.AUDIENCE).asText());
    assertEquals("daneel", payload.get(TokenClaims.SUBJECT).asText());
    assertEquals(runId.toString(), payload.get(TokenClaims.RUN_ID).asText());
    assertEquals(stepId.toString(), payload.get(TokenClaims.STEP_ID).asText());
    assertTrue(payload.get(TokenClaims.ATTEMPT).isInt());
    assertEquals(1, payload.get(TokenClaims.ATTEMPT).asInt());
    assertEquals(issued.jti(), payload.get(TokenClaims.JWT_ID).asText());
    UUID.fromString(issued.jti());
    assertEquals(START.getEpochSecond(), payload.get(TokenClaims.ISSUED_AT).asLong());
    assertEquals(START.getEpochSecond() + 90, payload.get(TokenClaims.EXPIRES_AT).asLong());
    assertEquals(9, payload.size());
  }

  @Test
  void eachMintHasItsOwnJti() {
    String a = issuer.mint("ernest", runId, stepId, 1, START.plusSeconds(60)).jti();
    String b = issuer.mint("ernest", runId, stepId, 1, START.plusSeconds(60)).jti();
    assertFalse(a.equals(b));
  }

  @Test
  void expiresAtIsRoundedDownToWholeSeconds() {
    IssuedToken issued =
        issuer.mint("ernest", runId, stepId, 1, START.plusSeconds(60).plusMillis(999));
    assertEquals(START.plusSeconds(60), issued.expiresAt());
  }

  @Test
  void expiredOnlyAfterTheSkew() {
    String token = issuer.mint("ernest", runId, stepId, 1, START.plusSeconds(60)).token();

    clock.set(START.plusSeconds(60));
    assertInstanceOf(Verified.class, verifier.verify(token), "within the 5 s skew");
    clock.set(START.plusSeconds(64).plusMillis(999));
    assertInstanceOf(Verified.class, verifier.verify(token), "within the 5 s skew");

    clock.set(START.plusSeconds(65));
    Rejected rejected = assertInstanceOf(Rejected.class, verifier.verify(token));
    assertEquals(ErrorCodes.TOKEN_EXPIRED, rejected.code());
    assertTrue(rejected.reason().contains("expired"), rejected.reason());

    clock.advance(Duration.ofDays(1));
    assertEquals(ErrorCodes.TOKEN_EXPIRED, ((Rejected) verifier.verify(token)).code());
  }

  @Test
  void tokenIssuedInTheFutureIsRefused() {
    SettableClock ahead = new SettableClock(START.plusSeconds(60));
    String token =
        new TokenIssuer(keys, ISSUER, ahead)
            .mint("ernest", runId, stepId, 1, START.plusSeconds(600))
            .token();

    Rejected rejected = assertInstanceOf(Rejected.class, verifier.verify(token));
    assertEquals(ErrorCodes.TOKEN_INVALID, rejected.code());
    assertTrue(rejected.reason().contains("future"), rejected.reason());

    ahead.set(START.plusSeconds(5));
    String withinSkew =
        new TokenIssuer(keys, ISSUER, ahead)
            .mint("ernest", runId, stepId, 1, START.plusSeconds(600))
            .token();
    assertInstanceOf(Verified.class, verifier.verify(withinSkew));
  }

  @Test
  void mintRefusesBadArguments() {
    Instant later = START.plusSeconds(60);
    assertThrows(
        IllegalArgumentException.class, () -> issuer.mint("Ernest", runId, stepId, 1, later));
    assertThrows(
        IllegalArgumentException.class, () -> issuer.mint("ernest;rm", runId, stepId, 1, later));
    assertThrows(
        IllegalArgumentException.class, () -> issuer.mint("ernest", runId, stepId, 0, later));
    assertThrows(
        IllegalArgumentException.class,
        () -> issuer.mint("ernest", runId, stepId, 1, START.plusMillis(999)));
    assertThrows(
        IllegalArgumentException.class,
        () -> issuer.mint("ernest", runId, stepId, 1, START.minusSeconds(1)));
    assertThrows(NullPointerException.class, () -> issuer.mint("ernest", null, stepId, 1, later));
  }

  @Test
  void nothingSecretInToString() {
    IssuedToken issued = issuer.mint("ernest", runId, stepId, 1, START.plusSeconds(60));
    assertFalse(issued.toString().contains(issued.token()));
    assertFalse(issued.toString().contains(issued.token().split("\\.")[2]));
    String keysText = keys.toString();
    assertTrue(keysText.contains(keys.keyId()));
    assertFalse(keysText.contains("\"d\""));
    assertFalse(keys.publicJwk().isPrivate());
  }

  @Test
  void verifierWithAnotherIssuerRefuses() {
    String token = issuer.mint("ernest", runId, stepId, 1, START.plusSeconds(60)).token();
    Verification verification =
        new TokenVerifier(keys, "https://other-gateway.test", clock).verify(token);
    Rejected rejected = assertInstanceOf(Rejected.class, verification);
    assertEquals(ErrorCodes.TOKEN_INVALID, rejected.code());
    assertTrue(rejected.reason().contains("iss"), rejected.reason());
  }

  static String b64(String json) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }
}
