package dev.cloister.keys;

import dev.cloister.files.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.Set;

/**
 * The passphrase that encrypts the host's private key: the configured one, or else one generated once into a
 * root-only file, so a single host starts unattended while an operator can still supply their own (environment).
 */
public final class Passphrase {

    private Passphrase() {
    }

    public static char[] resolve(Optional<String> configured, Path generatedFile) throws KeyException {
        if (configured.isPresent() && !configured.get().isEmpty()) {
            return configured.get().toCharArray();
        }
        try {
            if (Files.exists(generatedFile, LinkOption.NOFOLLOW_LINKS)) {
                Set<PosixFilePermission> mode = Files.getPosixFilePermissions(generatedFile, LinkOption.NOFOLLOW_LINKS);
                if (!AtomicFiles.OWNER_ONLY.containsAll(mode)) {
                    throw new KeyException("passphrase file " + generatedFile + " is readable by others: chmod 600 it");
                }
                return Files.readString(generatedFile, StandardCharsets.US_ASCII).trim().toCharArray();
            }
            Path dir = generatedFile.toAbsolutePath().getParent();
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            String text = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
            AtomicFiles.write(generatedFile, (text + "\n").getBytes(StandardCharsets.US_ASCII), AtomicFiles.OWNER_ONLY);
            return text.toCharArray();
        } catch (IOException e) {
            throw new KeyException("cannot read or create the key passphrase file " + generatedFile + ": " + e.getMessage(), e);
        }
    }
}
