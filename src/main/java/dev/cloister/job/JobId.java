package dev.cloister.job;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** An unguessable job id: {@code job-} followed by 128 random bits in hex. */
public record JobId(String value) {

    private static final Pattern FORM = Pattern.compile("job-[0-9a-f]{32}");

    public JobId {
        if (value == null || !FORM.matcher(value).matches()) {
            throw new IllegalArgumentException("not a job id");
        }
    }

    public static JobId random(SecureRandom random) {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return new JobId("job-" + HexFormat.of().formatHex(b));
    }

    @Override
    public String toString() {
        return value;
    }
}
