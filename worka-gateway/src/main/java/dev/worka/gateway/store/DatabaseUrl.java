package dev.worka.gateway.store;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Where an external PostgreSQL is: a {@code postgresql://user:pass@host:port/db?params} URL as
 * Supabase and others print it, or a {@code jdbc:postgresql://...} URL with the user and password
 * given separately. {@link #toString()} never shows the password.
 */
public record DatabaseUrl(String jdbcUrl, String user, String password) {

  public DatabaseUrl {
    if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql://")) {
      throw new IllegalArgumentException("jdbcUrl must start with jdbc:postgresql://");
    }
  }

  /**
   * Parses {@code WORKA_DATABASE_URL}. {@code user}/{@code password} (from {@code
   * WORKA_DATABASE_USER}/{@code _PASSWORD}) win over credentials inside the URL.
   */
  public static DatabaseUrl parse(String url, String user, String password) {
    String value = url == null ? "" : url.trim();
    if (value.startsWith("jdbc:postgresql://")) {
      return new DatabaseUrl(value, emptyToNull(user), emptyToNull(password));
    }
    if (!value.startsWith("postgresql://") && !value.startsWith("postgres://")) {
      throw new IllegalArgumentException(
          "WORKA_DATABASE_URL must look like postgresql://user:pass@host:5432/db or"
              + " jdbc:postgresql://host:5432/db (got a value starting with '"
              + value.substring(0, Math.min(12, value.length()))
              + "')");
    }
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "WORKA_DATABASE_URL is not a valid URL: " + e.getReason(), e);
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("WORKA_DATABASE_URL has no host");
    }
    String uriUser = null;
    String uriPassword = null;
    String userInfo = uri.getRawUserInfo();
    if (userInfo != null) {
      int colon = userInfo.indexOf(':');
      uriUser = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
      uriPassword = colon < 0 ? null : decode(userInfo.substring(colon + 1));
    }
    int port = uri.getPort() < 0 ? 5432 : uri.getPort();
    String path =
        uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/postgres" : uri.getRawPath();
    String jdbc =
        "jdbc:postgresql://"
            + uri.getHost()
            + ":"
            + port
            + path
            + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    return new DatabaseUrl(
        jdbc,
        user != null && !user.isBlank() ? user : uriUser,
        password != null && !password.isEmpty() ? password : uriPassword);
  }

  /**
   * The same database with another login: {@code user} and {@code password} replace this URL's,
   * including any {@code user}/{@code password} parameters of the JDBC URL (which would otherwise
   * win).
   */
  public DatabaseUrl withLogin(String user, String password) {
    int q = jdbcUrl.indexOf('?');
    if (q < 0) {
      return new DatabaseUrl(jdbcUrl, user, password);
    }
    String kept =
        java.util.Arrays.stream(jdbcUrl.substring(q + 1).split("&"))
            .filter(
                p ->
                    !p.isEmpty()
                        && !p.regionMatches(true, 0, "user=", 0, 5)
                        && !p.regionMatches(true, 0, "password=", 0, 9))
            .collect(java.util.stream.Collectors.joining("&"));
    return new DatabaseUrl(
        jdbcUrl.substring(0, q) + (kept.isEmpty() ? "" : "?" + kept), user, password);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  @Override
  public String toString() {
    return "DatabaseUrl["
        + jdbcUrl.replaceAll("(?i)([?&]password=)[^&]*", "$1***")
        + ", user="
        + user
        + ", password="
        + (password == null ? "none" : "***")
        + "]";
  }
}
