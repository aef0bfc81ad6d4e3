package dev.worka.gateway.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import dev.worka.gateway.error.WorkaException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import java.util.EnumSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Gateway's token signing key: one ES256 (P-256) key pair, kept as a private JWK at {@code
 * <WORKA_HOME>/keys/gateway-signing.jwk} (mode 0600, directory 0700), created on first use and
 * reused afterwards. Its {@code kid} is the key's RFC 7638 thumbprint. Deleting the file and
 * restarting rotates the key, which invalidates every outstanding worker token.
 *
 * <p>A key file that group or others may read is refused, not used: a copied key lets anyone mint
 * worker identities. Key material is never logged, printed or put in an exception message.
 */
public final class SigningKeys {
  static final String KEY_DIRECTORY = "keys";
  static final String KEY_FILE = "gateway-signing.jwk";
  private static final long MAX_KEY_FILE_BYTES = 64 * 1024;
  private static final Set<PosixFilePermission> OWNER_ONLY_FILE =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
  private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY =
      EnumSet.of(
          PosixFilePermission.OWNER_READ,
          PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.OWNER_EXECUTE);
  private static final Logger log = LoggerFactory.getLogger(SigningKeys.class);

  private final String keyId;
  private final ECKey publicKey;
  private final JWSSigner signer;
  private final JWSVerifier verifier;

  private SigningKeys(ECKey key, String origin) {
    if (!Curve.P_256.equals(key.getCurve())) {
      throw new WorkaException(origin + " is not a P-256 key (curve " + key.getCurve() + ")");
    }
    if (!key.isPrivate()) {
      throw new WorkaException(
          origin + " holds only a public key; the Gateway needs the private key");
    }
    if (key.getKeyID() == null || key.getKeyID().isBlank()) {
      throw new WorkaException(origin + " has no \"kid\"");
    }
    if (key.getAlgorithm() != null && !JWSAlgorithm.ES256.equals(key.getAlgorithm())) {
      throw new WorkaException(
          origin + " is marked for algorithm " + key.getAlgorithm() + ", not ES256");
    }
    this.keyId = key.getKeyID();
    this.publicKey = key.toPublicJWK();
    try {
      this.signer = new ECDSASigner(key);
      this.verifier = new ECDSAVerifier(publicKey);
    } catch (JOSEException e) {
      throw new WorkaException(origin + " cannot be used for ES256: " + e.getMessage(), e);
    }
  }

  /** A fresh key pair that lives only in memory (tests, throw-away gateways). */
  public static SigningKeys generate() {
    return new SigningKeys(newKey(), "a generated key");
  }

  /**
   * The key kept under {@code workaHome}: loaded when {@code keys/gateway-signing.jwk} exists,
   * otherwise created there (directory 0700, file 0600, written to a temporary file and linked into
   * place so a concurrent start never sees half a key and never overwrites another's key).
   *
   * @throws WorkaException when the file cannot be read or written, is not a P-256 private JWK with
   *     a kid, or may be read by group or others (the message names the path and the chmod to run)
   */
  public static SigningKeys loadOrCreate(Path workaHome) {
    Path directory = workaHome.toAbsolutePath().normalize().resolve(KEY_DIRECTORY);
    Path file = directory.resolve(KEY_FILE);
    try {
      prepareDirectory(directory);
      if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) || Files.exists(file)) {
        return load(file);
      }
      return create(directory, file);
    } catch (IOException e) {
      throw new WorkaException(
          "cannot read or write the Gateway signing key at " + file + ": " + e, e);
    }
  }

  /** The {@code kid} every token signed with this key carries. */
  String keyId() {
    return keyId;
  }

  /** The public half as a JWK (for a future JWKS endpoint); never the private key. */
  ECKey publicJwk() {
    return publicKey;
  }

  JWSSigner signer() {
    return signer;
  }

  JWSVerifier verifier() {
    return verifier;
  }

  @Override
  public String toString() {
    return "SigningKeys[ES256, kid=" + keyId + "]";
  }

  private static ECKey newKey() {
    try {
      return new ECKeyGenerator(Curve.P_256)
          .keyUse(KeyUse.SIGNATURE)
          .algorithm(JWSAlgorithm.ES256)
          .keyIDFromThumbprint(true)
          .generate();
    } catch (JOSEException e) {
      throw new WorkaException("cannot generate a P-256 key pair: " + e.getMessage(), e);
    }
  }

  private static boolean posix(Path path) {
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  private static void prepareDirectory(Path directory) throws IOException {
    if (!Files.isDirectory(directory)) {
      Files.createDirectories(directory);
      if (posix(directory)) {
        Files.setPosixFilePermissions(directory, OWNER_ONLY_DIRECTORY);
      }
      return;
    }
    if (posix(directory)) {
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(directory);
      if (!OWNER_ONLY_DIRECTORY.containsAll(permissions)) {
        log.warn(
            "the signing key directory {} has mode {}; only its owner should have access: chmod 700"
                + " {}",
            directory,
            PosixFilePermissions.toString(permissions),
            directory);
      }
    }
  }

  private static SigningKeys load(Path file) throws IOException {
    if (posix(file)) {
      PosixFileAttributes attributes = Files.readAttributes(file, PosixFileAttributes.class);
      if (!attributes.isRegularFile()) {
        throw new WorkaException("the Gateway signing key " + file + " is not a regular file");
      }
      Set<PosixFilePermission> permissions = attributes.permissions();
      if (!OWNER_ONLY_FILE.containsAll(permissions)) {
        throw new WorkaException(
            "refusing to use the Gateway signing key "
                + file
                + ": its mode is "
                + PosixFilePermissions.toString(permissions)
                + ", so users other than its owner may read or change it. Run: chmod 600 "
                + file
                + " (and if others may already have read it, delete it and restart the Gateway:"
                + " a new key is created and every outstanding worker token stops working)");
      }
    } else {
      log.warn("cannot check the permissions of the signing key {}: not a POSIX file system", file);
    }
    if (Files.size(file) > MAX_KEY_FILE_BYTES) {
      throw new WorkaException(
          "the Gateway signing key " + file + " is larger than " + MAX_KEY_FILE_BYTES + " bytes");
    }
    String text = Files.readString(file, StandardCharsets.UTF_8);
    JWK jwk;
    try {
      jwk = JWK.parse(text);
    } catch (ParseException | RuntimeException e) {
      // The parser's message may quote the file's content: keep it out of the error.
      throw new WorkaException(
          "the Gateway signing key "
              + file
              + " is not a valid JWK (expected a P-256 EC private key"
              + " with a kid); delete it to have a new one created");
    }
    if (!(jwk instanceof ECKey ecKey)) {
      throw new WorkaException(
          "the Gateway signing key " + file + " is a " + jwk.getKeyType() + " key, not EC P-256");
    }
    SigningKeys keys = new SigningKeys(ecKey, "the Gateway signing key " + file);
    log.info("loaded the Gateway signing key {} (kid {})", file, keys.keyId);
    return keys;
  }

  private static SigningKeys create(Path directory, Path file) throws IOException {
    ECKey key = newKey();
    boolean posix = posix(directory);
    Path temporary =
        posix
            ? Files.createTempFile(
                directory,
                ".gateway-signing-",
                ".tmp",
                PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE))
            : Files.createTempFile(directory, ".gateway-signing-", ".tmp");
    try {
      if (posix) {
        Files.setPosixFilePermissions(temporary, OWNER_ONLY_FILE); // whatever the umask did
      }
      try (FileChannel channel =
          FileChannel.open(
              temporary, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer bytes = ByteBuffer.wrap(key.toJSONString().getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        channel.force(true);
      }
      try {
        // A hard link never replaces an existing file: if another Gateway won the race, use its
        // key.
        Files.createLink(file, temporary);
      } catch (FileAlreadyExistsException raced) {
        return load(file);
      } catch (UnsupportedOperationException | IOException noLinks) {
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
      }
    } finally {
      Files.deleteIfExists(temporary);
    }
    SigningKeys keys = new SigningKeys(key, "the Gateway signing key " + file);
    log.info("created the Gateway signing key {} (kid {})", file, keys.keyId);
    return keys;
  }
}
