package dev.cloister.keys;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.ECPrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The secret material of a host key directory, in the forms it could leak in (for tests that look for it in logs and
 * responses): the passphrase, each encrypted PEM's base64 lines, and each private scalar in hex, base64 and base64url.
 */
public final class HostKeyMaterial {

    private HostKeyMaterial() {
    }

    /** @param dataDir a service's data dir: keys under {@code keys/}, the passphrase in {@code secrets/key-passphrase} */
    public static List<String> secrets(Path dataDir) throws Exception {
        String passphrase = Files.readString(dataDir.resolve("secrets/key-passphrase"), StandardCharsets.US_ASCII).trim();
        List<String> out = new ArrayList<>(List.of(passphrase));
        List<Path> keys;
        try (Stream<Path> s = Files.list(dataDir.resolve("keys"))) {
            keys = s.filter(p -> p.getFileName().toString().endsWith(".key.pem")).toList();
        }
        for (Path file : keys) {
            String pem = Files.readString(file, StandardCharsets.US_ASCII);
            pem.lines().filter(l -> !l.startsWith("-----") && l.length() >= 40).forEach(out::add);
            ECPrivateKey key = (ECPrivateKey) PrivateKeys.read(pem, passphrase.toCharArray()).getPrivate();
            byte[] d = fixed(key.getS().toByteArray());
            out.add(HexFormat.of().formatHex(d));
            out.add(Base64.getEncoder().encodeToString(d));
            out.add(Base64.getUrlEncoder().withoutPadding().encodeToString(d));
            out.add(Base64.getEncoder().encodeToString(key.getEncoded()).substring(0, 60));
        }
        return out;
    }

    // The 32-byte big-endian scalar, as JWK "d" and raw encodings carry it.
    private static byte[] fixed(byte[] twos) {
        byte[] out = new byte[32];
        int n = Math.min(32, twos.length);
        System.arraycopy(twos, twos.length - n, out, 32 - n, n);
        return out;
    }
}
