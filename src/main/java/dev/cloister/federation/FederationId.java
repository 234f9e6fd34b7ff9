package dev.cloister.federation;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** An unguessable federation id: {@code fed-} followed by 128 random bits in hex. */
public record FederationId(String value) {

    private static final Pattern FORM = Pattern.compile("fed-[0-9a-f]{32}");

    public FederationId {
        if (value == null || !FORM.matcher(value).matches()) {
            throw new IllegalArgumentException("not a federation id");
        }
    }

    public static FederationId random(SecureRandom random) {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return new FederationId("fed-" + HexFormat.of().formatHex(b));
    }

    @Override
    public String toString() {
        return value;
    }
}
