package dev.worka.gateway.token;

import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.worka.gateway.token.Verification.Rejected;
import dev.worka.gateway.token.Verification.Verified;
import dev.worka.protocol.ErrorCodes;
import dev.worka.protocol.TokenClaims;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Checks a worker token as presented ({@code "Bearer <token>"} or the bare token): only ES256
 * signed with our key ({@code kid}), our issuer, the worker audience, every claim of {@link
 * TokenClaims} present, well-formed and nothing else, not expired (5 s of clock skew allowed), not
 * issued in the future. Never throws: every bad input is a {@link Rejected} value. Thread-safe.
 */
public final class TokenVerifier {
  /** Largest token accepted; ours are well under 1 KiB. */
  static final int MAX_TOKEN_CHARS = 8 * 1024;

  /** How far the issuing and the verifying clock may disagree. */
  static final Duration CLOCK_SKEW = Duration.ofSeconds(5);

  private static final String BEARER = "bearer";
  private static final Set<String> KNOWN_CLAIMS =
      Set.of(
          TokenClaims.ISSUER,
          TokenClaims.AUDIENCE,
          TokenClaims.SUBJECT,
          TokenClaims.RUN_ID,
          TokenClaims.STEP_ID,
          TokenClaims.ATTEMPT,
          TokenClaims.JWT_ID,
          TokenClaims.ISSUED_AT,
          TokenClaims.EXPIRES_AT);
  private static final Set<String> EMBEDDED_KEY_PARAMETERS = Set.of("jwk", "jku", "x5u", "x5c");

  private final SigningKeys keys;
  private final String issuer;
  private final InstantSource clock;

  public TokenVerifier(SigningKeys keys, String issuer, InstantSource clock) {
    this.keys = Objects.requireNonNull(keys, "keys");
    this.issuer = Objects.requireNonNull(issuer, "issuer");
    if (issuer.isBlank()) {
      throw new IllegalArgumentException("issuer must not be blank");
    }
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Verifies an {@code Authorization} header value or a bare token.
   *
   * @return {@link Verified} with the claims, or {@link Rejected} with {@code unauthorized} (no
   *     token), {@code token_expired} or {@code token_invalid} and a precise reason
   */
  public Verification verify(String authorizationHeaderOrToken) {
    try {
      return check(authorizationHeaderOrToken);
    } catch (RuntimeException e) {
      // Defensive: a parser surprise must be a rejection, never a 500 or a pass.
      return invalid("token could not be checked (" + e.getClass().getSimpleName() + ")");
    }
  }

  private Verification check(String presented) {
    if (presented == null || presented.isBlank()) {
      return new Rejected(
          ErrorCodes.UNAUTHORIZED, "no token: send the header Authorization: Bearer <token>");
    }
    if (presented.length() > MAX_TOKEN_CHARS + BEARER.length() + 16) {
      return invalid(
          "token is " + presented.length() + " characters, over the " + MAX_TOKEN_CHARS + " limit");
    }
    String token = presented.strip();
    if (token.toLowerCase(Locale.ROOT).equals(BEARER)) {
      return new Rejected(ErrorCodes.UNAUTHORIZED, "empty bearer token");
    }
    int space = indexOfWhitespace(token);
    if (space >= 0) {
      String scheme = token.substring(0, space);
      if (!scheme.toLowerCase(Locale.ROOT).equals(BEARER)) {
        return invalid("authorization scheme " + quote(scheme) + " is not supported; use Bearer");
      }
      token = token.substring(space).strip();
      if (token.isEmpty()) {
        return new Rejected(ErrorCodes.UNAUTHORIZED, "empty bearer token");
      }
      if (indexOfWhitespace(token) >= 0) {
        return invalid("bearer token contains whitespace");
      }
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      return invalid(
          "token is " + token.length() + " characters, over the " + MAX_TOKEN_CHARS + " limit");
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      boolean base64url =
          (c >= 'A' && c <= 'Z')
              || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9')
              || c == '-'
              || c == '_'
              || c == '.';
      if (!base64url) {
        return invalid("token has characters outside base64url and '.'");
      }
    }
    String[] parts = token.split("\\.", -1);
    if (parts.length == 5) {
      return invalid("encrypted tokens (JWE) are not accepted");
    }
    if (parts.length != 3) {
      return invalid("not a signed JWT: expected 3 dot-separated parts, found " + parts.length);
    }
    if (parts[0].isEmpty() || parts[1].isEmpty()) {
      return invalid("not a signed JWT: empty header or payload");
    }

    Header header;
    try {
      header = Header.parse(new Base64URL(parts[0]));
    } catch (ParseException e) {
      return invalid("malformed header: not a JOSE header");
    }
    if (header instanceof PlainHeader || Algorithm.NONE.equals(header.getAlgorithm())) {
      return invalid("unsigned token (alg none) refused; only ES256 is accepted");
    }
    if (!(header instanceof JWSHeader jwsHeader)) {
      return invalid("not a signed token (JWS); only ES256 is accepted");
    }
    if (!JWSAlgorithm.ES256.equals(jwsHeader.getAlgorithm())) {
      return invalid(
          "algorithm "
              + quote(jwsHeader.getAlgorithm().getName())
              + " refused; only ES256 is accepted");
    }
    if (!JOSEObjectType.JWT.equals(jwsHeader.getType())) {
      return invalid(
          "header typ "
              + (jwsHeader.getType() == null ? "missing" : quote(jwsHeader.getType().getType()))
              + "; expected JWT");
    }
    for (String parameter : EMBEDDED_KEY_PARAMETERS) {
      if (jwsHeader.getIncludedParams().contains(parameter)) {
        return invalid("header carries its own key (" + parameter + "); refused");
      }
    }
    if (jwsHeader.getCriticalParams() != null && !jwsHeader.getCriticalParams().isEmpty()) {
      return invalid("critical header parameters are not supported");
    }
    if (jwsHeader.getKeyID() == null) {
      return invalid("header has no kid");
    }
    if (!keys.keyId().equals(jwsHeader.getKeyID())) {
      return invalid("signed with an unknown key (kid " + quote(jwsHeader.getKeyID()) + ")");
    }

    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(token);
    } catch (ParseException e) {
      return invalid("malformed signed JWT");
    }
    try {
      if (!jwt.verify(keys.verifier())) {
        return invalid("signature does not verify");
      }
    } catch (JOSEException | IllegalStateException e) {
      return invalid("signature could not be checked");
    }

    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      return invalid("payload is not a valid JWT claims set");
    }
    return checkClaims(claims);
  }

  private Verification checkClaims(JWTClaimsSet claims) {
    Map<String, Object> all = claims.getClaims();
    Set<String> unexpected = new TreeSet<>(all.keySet());
    unexpected.removeAll(KNOWN_CLAIMS);
    if (!unexpected.isEmpty()) {
      return invalid("unexpected claims " + quote(String.join(", ", unexpected)));
    }
    for (String name : KNOWN_CLAIMS) {
      if (all.get(name) == null) {
        return invalid("claim " + name + " is missing");
      }
    }

    if (!(all.get(TokenClaims.ISSUER) instanceof String iss) || !iss.equals(issuer)) {
      return invalid("claim iss is not this Gateway's issuer");
    }
    List<String> audience = claims.getAudience();
    if (audience == null
        || audience.size() != 1
        || !TokenClaims.WORKER_AUDIENCE.equals(audience.get(0))) {
      return invalid("claim aud must be exactly " + TokenClaims.WORKER_AUDIENCE);
    }
    if (!(all.get(TokenClaims.SUBJECT) instanceof String agent)
        || !WorkerClaims.AGENT_NAME.matcher(agent).matches()) {
      return invalid("claim sub is not a valid agent name");
    }
    UUID runId = uuidClaim(all.get(TokenClaims.RUN_ID));
    if (runId == null) {
      return invalid("claim run_id is not a UUID");
    }
    UUID stepId = uuidClaim(all.get(TokenClaims.STEP_ID));
    if (stepId == null) {
      return invalid("claim step_id is not a UUID");
    }
    Object attemptValue = all.get(TokenClaims.ATTEMPT);
    if (!(attemptValue instanceof Long || attemptValue instanceof Integer)
        || ((Number) attemptValue).longValue() < 1
        || ((Number) attemptValue).longValue() > Integer.MAX_VALUE) {
      return invalid("claim attempt is not a positive integer");
    }
    int attempt = ((Number) attemptValue).intValue();
    if (!(all.get(TokenClaims.JWT_ID) instanceof String jti)
        || jti.isBlank()
        || jti.length() > WorkerClaims.MAX_JTI_LENGTH) {
      return invalid("claim jti is not a non-empty string of at most 128 characters");
    }
    Date issuedDate = claims.getIssueTime();
    Date expiresDate = claims.getExpirationTime();
    if (issuedDate == null || expiresDate == null) {
      return invalid("claims iat and exp must be NumericDate values");
    }
    Instant issuedAt = issuedDate.toInstant();
    Instant expiresAt = expiresDate.toInstant();
    if (!expiresAt.isAfter(issuedAt)) {
      return invalid("claim exp is not after iat");
    }

    Instant now = clock.instant();
    if (!now.isBefore(expiresAt.plus(CLOCK_SKEW))) {
      return new Rejected(ErrorCodes.TOKEN_EXPIRED, "token expired at " + expiresAt);
    }
    if (issuedAt.isAfter(now.plus(CLOCK_SKEW))) {
      return invalid("token is issued in the future (iat " + issuedAt + ")");
    }
    return new Verified(new WorkerClaims(agent, runId, stepId, attempt, jti, issuedAt, expiresAt));
  }

  /** A UUID in its canonical lower-case form, or null; lenient spellings are refused. */
  private static UUID uuidClaim(Object value) {
    if (!(value instanceof String text) || text.length() != 36) {
      return null;
    }
    try {
      UUID uuid = UUID.fromString(text);
      return uuid.toString().equals(text) ? uuid : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static int indexOfWhitespace(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (Character.isWhitespace(text.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  /** Attacker-controlled text in a reason: short and printable. */
  private static String quote(String text) {
    StringBuilder out = new StringBuilder("'");
    text.codePoints()
        .limit(64)
        .forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    if (text.codePointCount(0, text.length()) > 64) {
      out.append("...");
    }
    return out.append('\'').toString();
  }

  private static Rejected invalid(String reason) {
    return new Rejected(ErrorCodes.TOKEN_INVALID, reason);
  }

  @Override
  public String toString() {
    return "TokenVerifier[iss=" + issuer + ", kid=" + keys.keyId() + "]";
  }
}
