package dev.worka.gateway.token;

import static dev.worka.gateway.token.TokenRoundTripTest.ISSUER;
import static dev.worka.gateway.token.TokenRoundTripTest.START;
import static dev.worka.gateway.token.TokenRoundTripTest.b64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.worka.gateway.SettableClock;
import dev.worka.gateway.token.Verification.Rejected;
import dev.worka.gateway.token.Verification.Verified;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.TokenClaims;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class TokenAttacksTest {
  final SettableClock clock = new SettableClock(START);
  final SigningKeys keys = SigningKeys.generate();
  final TokenIssuer issuer = new TokenIssuer(keys, ISSUER, clock);
  final TokenVerifier verifier = new TokenVerifier(keys, ISSUER, clock);
  final UUID runId = UUID.randomUUID();
  final UUID stepId = UUID.randomUUID();

  String validToken() {
    return issuer.mint("ernest", runId, stepId, 1, START.plusSeconds(60)).token();
  }

  Rejected rejected(String token, String reasonFragment) {
    Rejected rejected = assertInstanceOf(Rejected.class, verifier.verify(token));
    assertEquals(ErrorCodes.TOKEN_INVALID, rejected.code(), rejected.reason());
    assertTrue(
        rejected.reason().contains(reasonFragment),
        () -> "expected '" + reasonFragment + "' in: " + rejected.reason());
    return rejected;
  }

  JWTClaimsSet.Builder goodClaims() {
    return new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .audience(TokenClaims.WORKER_AUDIENCE)
        .subject("ernest")
        .claim(TokenClaims.RUN_ID, runId.toString())
        .claim(TokenClaims.STEP_ID, stepId.toString())
        .claim(TokenClaims.ATTEMPT, 1)
        .jwtID(UUID.randomUUID().toString())
        .issueTime(Date.from(START))
        .expirationTime(Date.from(START.plusSeconds(60)));
  }

  String signed(JWTClaimsSet claims) throws Exception {
    return signed(claims, keys.signer(), JWSAlgorithm.ES256, keys.keyId());
  }

  static String signed(JWTClaimsSet claims, JWSSigner signer, JWSAlgorithm alg, String kid)
      throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(alg).type(JOSEObjectType.JWT).keyID(kid).build(), claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  @Test
  void ourOwnSignedClaimsAreAcceptedByTheTestHelper() throws Exception {
    assertInstanceOf(Verified.class, verifier.verify(signed(goodClaims().build())));
  }

  @Test
  void algNoneIsRefused() throws Exception {
    String payload = validToken().split("\\.")[1];
    rejected(b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + payload + ".", "alg none");
    rejected(
        b64("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"" + keys.keyId() + "\"}")
            + "."
            + payload
            + ".",
        "alg none");
    rejected(b64("{\"alg\":\"none\"}") + "." + payload, "3 dot-separated parts");
  }

  @Test
  void hs256SignedWithThePublicKeyIsRefused() throws Exception {
    byte[] publicKeyDer = keys.publicJwk().toECPublicKey().getEncoded();
    String token =
        signed(goodClaims().build(), new MACSigner(publicKeyDer), JWSAlgorithm.HS256, keys.keyId());
    rejected(token, "algorithm 'HS256' refused");

    byte[] publicJwkJson = keys.publicJwk().toJSONString().getBytes(StandardCharsets.UTF_8);
    String other =
        signed(
            goodClaims().build(), new MACSigner(publicJwkJson), JWSAlgorithm.HS256, keys.keyId());
    rejected(other, "refused");
  }

  @Test
  void foreignKeyIsRefusedByKidAndBySignature() throws Exception {
    SigningKeys foreign = SigningKeys.generate();
    String byTheirKid =
        new TokenIssuer(foreign, ISSUER, clock)
            .mint("ernest", runId, stepId, 1, START.plusSeconds(60))
            .token();
    rejected(byTheirKid, "unknown key");

    String forgedKid =
        signed(goodClaims().build(), foreign.signer(), JWSAlgorithm.ES256, keys.keyId());
    rejected(forgedKid, "signature does not verify");
  }

  @Test
  void otherAlgorithmsAreRefused() throws Exception {
    String payload = validToken().split("\\.")[1];
    String signature = validToken().split("\\.")[2];
    for (String alg : List.of("ES384", "ES512", "RS256", "PS256", "EdDSA", "ES256K", "HS512")) {
      String header =
          b64("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\",\"kid\":\"" + keys.keyId() + "\"}");
      rejected(header + "." + payload + "." + signature, "refused");
    }
  }

  @Test
  void tamperedPayloadIsRefused() {
    String[] parts = validToken().split("\\.");
    String payload = new String(Base64URL.from(parts[1]).decode(), StandardCharsets.UTF_8);
    String forged = payload.replace("\"ernest\"", "\"hari\"");
    assertTrue(!forged.equals(payload));
    rejected(parts[0] + "." + b64(forged) + "." + parts[2], "signature does not verify");

    String moreAttempts = payload.replace("\"attempt\":1", "\"attempt\":2");
    rejected(parts[0] + "." + b64(moreAttempts) + "." + parts[2], "signature does not verify");
  }

  @Test
  void tamperedHeaderIsRefused() {
    String[] parts = validToken().split("\\.");
    String original = new String(Base64URL.from(parts[0]).decode(), StandardCharsets.UTF_8);
    String reordered = "{ " + original.substring(1);
    rejected(b64(reordered) + "." + parts[1] + "." + parts[2], "signature does not verify");
  }

  @Test
  void embeddedKeysAndCriticalParametersAreRefused() throws Exception {
    SigningKeys attacker = SigningKeys.generate();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .type(JOSEObjectType.JWT)
                .keyID(keys.keyId())
                .jwk(attacker.publicJwk())
                .build(),
            goodClaims().build());
    jwt.sign(attacker.signer());
    rejected(jwt.serialize(), "its own key");

    SignedJWT critical =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .type(JOSEObjectType.JWT)
                .keyID(keys.keyId())
                .criticalParams(java.util.Set.of("exp"))
                .build(),
            goodClaims().build());
    critical.sign(keys.signer());
    rejected(critical.serialize(), "critical");
  }

  @Test
  void wrongTypIsRefused() throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .type(new JOSEObjectType("at+jwt"))
                .keyID(keys.keyId())
                .build(),
            goodClaims().build());
    jwt.sign(keys.signer());
    rejected(jwt.serialize(), "typ");

    SignedJWT noTyp =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(keys.keyId()).build(),
            goodClaims().build());
    noTyp.sign(keys.signer());
    rejected(noTyp.serialize(), "typ missing");

    SignedJWT noKid =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT).build(),
            goodClaims().build());
    noKid.sign(keys.signer());
    rejected(noKid.serialize(), "no kid");
  }

  @Test
  void wrongIssuerOrAudienceIsRefused() throws Exception {
    rejected(signed(goodClaims().issuer("https://evil.test").build()), "iss");
    rejected(signed(goodClaims().audience("worka-operator").build()), "aud");
    rejected(
        signed(goodClaims().audience(List.of(TokenClaims.WORKER_AUDIENCE, "other")).build()),
        "aud");
    rejected(signed(goodClaims().claim(TokenClaims.ISSUER, 42).build()), "");
  }

  @Test
  void malformedClaimsAreRefused() throws Exception {
    check(b -> b.claim(TokenClaims.RUN_ID, "not-a-uuid"), "run_id");
    check(b -> b.claim(TokenClaims.RUN_ID, runId.toString().toUpperCase(Locale.ROOT)), "run_id");
    check(b -> b.claim(TokenClaims.RUN_ID, "1-1-1-1-1"), "run_id");
    check(b -> b.claim(TokenClaims.RUN_ID, 12), "run_id");
    check(b -> b.claim(TokenClaims.STEP_ID, "x"), "step_id");
    check(b -> b.claim(TokenClaims.ATTEMPT, 0), "attempt");
    check(b -> b.claim(TokenClaims.ATTEMPT, -1), "attempt");
    check(b -> b.claim(TokenClaims.ATTEMPT, "1"), "attempt");
    check(b -> b.claim(TokenClaims.ATTEMPT, 1.5), "attempt");
    check(b -> b.claim(TokenClaims.ATTEMPT, 1L << 40), "attempt");
    check(b -> b.subject("Ernest"), "sub");
    check(b -> b.subject("../hari"), "sub");
    check(b -> b.subject(""), "sub");
    check(b -> b.jwtID(""), "jti");
    check(b -> b.jwtID("x".repeat(200)), "jti");
    check(b -> b.claim("role", "admin"), "unexpected claims 'role'");
    check(b -> b.notBeforeTime(Date.from(START)), "unexpected claims 'nbf'");
    check(b -> b.expirationTime(Date.from(START)), "exp is not after iat");
    for (String claim :
        List.of(
            TokenClaims.ISSUER,
            TokenClaims.AUDIENCE,
            TokenClaims.SUBJECT,
            TokenClaims.RUN_ID,
            TokenClaims.STEP_ID,
            TokenClaims.ATTEMPT,
            TokenClaims.JWT_ID,
            TokenClaims.ISSUED_AT,
            TokenClaims.EXPIRES_AT)) {
      check(b -> b.claim(claim, null), "claim " + claim + " is missing");
    }
  }

  private void check(Consumer<JWTClaimsSet.Builder> change, String reasonFragment)
      throws Exception {
    JWTClaimsSet.Builder builder = goodClaims();
    change.accept(builder);
    rejected(signed(builder.build()), reasonFragment);
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"   ", "\t\n"})
  void missingTokenIsUnauthorized(String presented) {
    Rejected rejected = assertInstanceOf(Rejected.class, verifier.verify(presented));
    assertEquals(ErrorCodes.UNAUTHORIZED, rejected.code());
  }

  @Test
  void emptyBearerIsUnauthorized() {
    for (String presented : List.of("Bearer", "Bearer   ", "bearer \t ")) {
      Rejected rejected = assertInstanceOf(Rejected.class, verifier.verify(presented));
      assertEquals(ErrorCodes.UNAUTHORIZED, rejected.code(), presented);
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Bearer \u00a0",
        "Basic dXNlcjpwYXNz",
        "Bearer a b",
        "abc",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "....",
        "..",
        ".payload.sig",
        "%%%.%%%.%%%",
        "eyJ.eyJ.eyJ",
        "e30.e30.",
        "e30.e30.e30",
        "bnVsbA.bnVsbA.bnVsbA",
        "W10.W10.W10",
        "IkVTMjU2Ig.e30.AA",
        "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.AAAA",
        "Bearer \u0000.\u0000.\u0000",
        "ünïcödé.ünïcödé.ünïcödé"
      })
  void garbageIsRejectedNotThrown(String presented) {
    Rejected rejected = assertInstanceOf(Rejected.class, verifier.verify(presented));
    assertEquals(ErrorCodes.TOKEN_INVALID, rejected.code(), rejected.reason());
    assertNotNull(rejected.reason());
  }

  @Test
  void oversizedTokensAreRefusedBeforeParsing() {
    String big = "a".repeat(TokenVerifier.MAX_TOKEN_CHARS + 1);
    rejected(big, "over the 8192 limit");
    rejected("Bearer " + "a".repeat(2_000_000), "over the 8192 limit");

    String[] parts = validToken().split("\\.");
    String padded = parts[0] + "." + parts[1] + "A".repeat(9000) + "." + parts[2];
    rejected(padded, "over the 8192 limit");
  }

  @Test
  void encryptedTokensAreRefused() {
    rejected("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "JWE");
  }

  @Test
  void randomInputNeverThrowsAndNeverVerifies() {
    Random random = new Random(20261122);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_. ={}\"";
    for (int i = 0; i < 5_000; i++) {
      StringBuilder text = new StringBuilder();
      int length = random.nextInt(300);
      for (int j = 0; j < length; j++) {
        text.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      assertInstanceOf(Rejected.class, verifier.verify(text.toString()));
    }
  }

  @Test
  void everySingleCharacterChangeIsRefusedOrHarmless() {
    String token = validToken();
    WorkerClaims original = ((Verified) verifier.verify(token)).claims();
    String alphabet = "Aa0_-.Z";
    for (int i = 0; i < token.length(); i++) {
      for (int r = 0; r < alphabet.length(); r++) {
        char replacement = alphabet.charAt(r);
        if (token.charAt(i) == replacement) {
          continue;
        }
        String mutated = token.substring(0, i) + replacement + token.substring(i + 1);
        Verification verification = verifier.verify(mutated);
        if (verification instanceof Verified(WorkerClaims claims)) {
          // Base64url's unused low bits of a part's last character may change without changing
          // a byte: harmless, the claims are the signed ones.
          assertEquals(original, claims, "mutation at " + i + " changed verified claims");
        }
      }
      String removed = token.substring(0, i) + token.substring(i + 1);
      Verification verification = verifier.verify(removed);
      if (verification instanceof Verified(WorkerClaims claims)) {
        assertEquals(original, claims);
      }
    }
  }
}
