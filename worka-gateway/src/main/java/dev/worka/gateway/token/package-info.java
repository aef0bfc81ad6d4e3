/**
 * Step-scoped worker tokens (DESIGN §5): the Gateway's ES256 signing key ({@link
 * dev.worka.gateway.token.SigningKeys}), minting one token per step attempt ({@link
 * dev.worka.gateway.token.TokenIssuer}) and verifying what a worker presents ({@link
 * dev.worka.gateway.token.TokenVerifier}). A verified token is the only source of a worker's
 * identity: {@link dev.worka.gateway.token.WorkerClaims} is what the API layer compares request
 * bodies and paths against.
 *
 * <p>Verification is deliberately narrow: one algorithm (ES256), one key (ours, by {@code kid}),
 * one issuer, one audience, every claim present and well-formed, a small clock skew. It never
 * throws for any input: a bad token is a {@link dev.worka.gateway.token.Verification.Rejected}
 * value with a stable error code and a precise reason. Whether the step attempt named by a valid
 * token is still running is a database question answered by the API layer, not here.
 *
 * <p>The key file lives under {@code WORKA_HOME/keys}; key material and whole tokens are never
 * logged or printed.
 */
package dev.worka.gateway.token;
