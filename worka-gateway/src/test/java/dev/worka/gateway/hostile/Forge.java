package dev.worka.gateway.hostile;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.protocol.Json;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.Base64;
import java.util.function.Consumer;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What a hostile worker can do to a JWT with nothing but the JDK: take its own token apart, edit
 * the header or the claims, and put it back together with the original signature, with a key it
 * generated itself, with an HMAC keyed by the Gateway's public key, or with none at all.
 */
final class Forge {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder UNB64 = Base64.getUrlDecoder();

  /** The worker's own P-256 key pair: a key the Gateway never saw. */
  final KeyPair ownKey;

  Forge() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      ownKey = generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no P-256 on this JDK", e);
    }
  }

  static String[] parts(String token) {
    return token.split("\\.", -1);
  }

  static ObjectNode header(String token) {
    return decode(parts(token)[0]);
  }

  static ObjectNode claims(String token) {
    return decode(parts(token)[1]);
  }

  static ObjectNode decode(String part) {
    try {
      return (ObjectNode)
          Json.STRICT.readTree(new String(UNB64.decode(part), StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("not a JSON token part", e);
    }
  }

  static String encode(ObjectNode json) {
    return encode(json.toString().getBytes(StandardCharsets.UTF_8));
  }

  static String encode(byte[] bytes) {
    return B64.encodeToString(bytes);
  }

  /** The token with its claims edited and its original signature kept. */
  static String withClaims(String token, Consumer<ObjectNode> edit) {
    String[] p = parts(token);
    ObjectNode claims = claims(token);
    edit.accept(claims);
    return p[0] + "." + encode(claims) + "." + p[2];
  }

  /** The token with its header edited and its original signature kept. */
  static String withHeader(String token, Consumer<ObjectNode> edit) {
    String[] p = parts(token);
    ObjectNode header = header(token);
    edit.accept(header);
    return encode(header) + "." + p[1] + "." + p[2];
  }

  /** The token with one bit of its signature flipped. */
  static String flippedSignature(String token) {
    String[] p = parts(token);
    byte[] signature = UNB64.decode(p[2]);
    signature[signature.length / 2] ^= 0x01;
    return p[0] + "." + p[1] + "." + encode(signature);
  }

  /** Header and claims as given, signed ES256 (JWS form: r || s) with {@code key}. */
  static String es256(ObjectNode header, ObjectNode claims, PrivateKey key) {
    String input = encode(header) + "." + encode(claims);
    try {
      Signature signer = Signature.getInstance("SHA256withECDSAinP1363Format");
      signer.initSign(key);
      signer.update(input.getBytes(StandardCharsets.US_ASCII));
      return input + "." + encode(signer.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign", e);
    }
  }

  /** Header and claims as given, "signed" HS256 with {@code secret}. */
  static String hs256(ObjectNode header, ObjectNode claims, byte[] secret) {
    String input = encode(header) + "." + encode(claims);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return input + "." + encode(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot MAC", e);
    }
  }

  /** Header and claims with a signature of 64 zero bytes (r = s = 0, CVE-2022-21449). */
  static String zeroSignature(ObjectNode header, ObjectNode claims) {
    return encode(header) + "." + encode(claims) + "." + encode(new byte[64]);
  }

  /** Header and claims with no signature. */
  static String unsigned(ObjectNode header, ObjectNode claims) {
    return encode(header) + "." + encode(claims) + ".";
  }

  /** The public half of the worker's own key as a JWK. */
  ObjectNode ownPublicJwk() {
    ECPublicKey key = (ECPublicKey) ownKey.getPublic();
    ObjectNode jwk = Json.STRICT.createObjectNode();
    jwk.put("kty", "EC")
        .put("crv", "P-256")
        .put("x", encode(unsigned32(key.getW().getAffineX())))
        .put("y", encode(unsigned32(key.getW().getAffineY())));
    return jwk;
  }

  /** A P-256 public JWK ({@code kty, crv, x, y}) as a PEM SubjectPublicKeyInfo. */
  static String pem(ObjectNode jwk) {
    try {
      AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
      parameters.init(new ECGenParameterSpec("secp256r1"));
      ECParameterSpec spec = parameters.getParameterSpec(ECParameterSpec.class);
      ECPoint point =
          new ECPoint(
              new BigInteger(1, UNB64.decode(jwk.path("x").asText())),
              new BigInteger(1, UNB64.decode(jwk.path("y").asText())));
      byte[] der =
          KeyFactory.getInstance("EC")
              .generatePublic(new ECPublicKeySpec(point, spec))
              .getEncoded();
      return "-----BEGIN PUBLIC KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
          + "\n-----END PUBLIC KEY-----\n";
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("not a P-256 public key", e);
    }
  }

  private static byte[] unsigned32(BigInteger n) {
    byte[] raw = n.toByteArray();
    byte[] out = new byte[32];
    int copy = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - copy, out, 32 - copy, copy);
    return out;
  }
}
