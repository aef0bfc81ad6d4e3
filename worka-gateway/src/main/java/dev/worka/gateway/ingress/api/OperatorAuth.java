package dev.worka.gateway.ingress.api;

import dev.worka.gateway.http.ApiException;
import dev.worka.gateway.http.ApiRequest;
import dev.worka.protocol.ErrorCodes;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** Checks the operator bearer token in constant time. */
final class OperatorAuth {
  private final byte[] token;

  OperatorAuth(String token) {
    this.token = token.getBytes(StandardCharsets.UTF_8);
  }

  void require(ApiRequest request) {
    String header = request.authorization();
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new ApiException(
          401,
          ErrorCodes.UNAUTHORIZED,
          "send the operator token as Authorization: Bearer <token> (see WORKA_OPERATOR_TOKEN or"
              + " the operator-token file under WORKA_HOME)");
    }
    byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
    if (!MessageDigest.isEqual(given, token)) {
      throw new ApiException(401, ErrorCodes.UNAUTHORIZED, "the operator token is not valid");
    }
  }
}
