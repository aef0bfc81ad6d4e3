package dev.worka.gateway.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The console's static files, read from the jar once: plain HTML, CSS and JavaScript beside this
 * class under {@code static/} (no build step). Each has its content type and an ETag (its SHA-256),
 * so a browser revalidates instead of downloading it again, and picks up a new version at once
 * after an upgrade.
 */
final class ConsoleAssets {
  /** A file: its bytes, content type and entity tag. */
  @SuppressWarnings("ArrayRecordComponent") // served as it is, never compared
  record Asset(byte[] bytes, String contentType, String etag) {}

  /** Every file served, by name (the only names {@code /console/static/{file}} answers). */
  static final Map<String, String> TYPES =
      Map.of(
          "index.html", "text/html; charset=utf-8",
          "console.js", "text/javascript; charset=utf-8",
          "console.css", "text/css; charset=utf-8");

  private final Map<String, Asset> assets = new LinkedHashMap<>();

  ConsoleAssets() {
    TYPES.forEach((name, type) -> assets.put(name, load(name, type)));
  }

  Optional<Asset> get(String name) {
    return Optional.ofNullable(assets.get(name));
  }

  private static Asset load(String name, String type) {
    String resource = "static/" + name;
    try (InputStream in =
        Objects.requireNonNull(
            ConsoleAssets.class.getResourceAsStream(resource),
            "the console's " + resource + " is missing from the jar")) {
      byte[] bytes = in.readAllBytes();
      String etag =
          "\""
              + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 16)
              + "\"";
      return new Asset(bytes, type, etag);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the console's " + resource, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
