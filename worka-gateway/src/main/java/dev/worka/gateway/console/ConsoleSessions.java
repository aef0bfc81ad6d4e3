package dev.worka.gateway.console;

import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The console's sign-in sessions (table {@code console_sessions}): a random id for the cookie, of
 * which only the SHA-256 is stored, a CSRF token bound to it, and an expiry. Shared by every
 * Gateway on the database.
 */
final class ConsoleSessions {
  /** How long a session lasts from sign-in (it is not extended by use). */
  static final Duration LIFETIME = Duration.ofHours(8);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final DataSource dataSource;
  private final InstantSource clock;

  ConsoleSessions(DataSource dataSource, InstantSource clock) {
    this.dataSource = dataSource;
    this.clock = clock;
  }

  /** A session: its id (only ever in the cookie), its CSRF token and when it ends. */
  record Session(String id, String csrfToken, Instant expiresAt) {
    @Override
    public String toString() {
      return "Session[expiresAt=" + expiresAt + "]"; // the id and token stay out of logs
    }
  }

  /** Starts a session (and deletes the expired ones). */
  Session start() {
    String id = random();
    String csrf = random();
    Instant now = clock.instant();
    Instant expires = now.plus(LIFETIME);
    Transactions.inTransaction(
        dataSource,
        c -> {
          Sql.update(c, "delete from console_sessions where expires_at <= ?", now);
          Sql.update(
              c,
              "insert into console_sessions (id_sha256, csrf_token, created_at, expires_at)"
                  + " values (?, ?, ?, ?)",
              sha256(id),
              csrf,
              now,
              expires);
          return null;
        });
    return new Session(id, csrf, expires);
  }

  /** The live session with this id, or empty (unknown, signed out or expired). */
  Optional<Session> find(String id) {
    if (id == null || id.isEmpty() || id.length() > 100) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    return Transactions.withConnection(
        dataSource,
        c ->
            Sql.one(
                c,
                "select csrf_token, expires_at from console_sessions"
                    + " where id_sha256 = ? and expires_at > ?",
                rs -> new Session(id, rs.getString(1), Sql.getInstant(rs, "expires_at")),
                sha256(id),
                now));
  }

  /** Ends the session with this id: its cookie no longer signs anyone in, on any Gateway. */
  void end(String id) {
    Transactions.withConnection(
        dataSource,
        c -> Sql.update(c, "delete from console_sessions where id_sha256 = ?", sha256(id)));
  }

  private static String random() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static String sha256(String id) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
