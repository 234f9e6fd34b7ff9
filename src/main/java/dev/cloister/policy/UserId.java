package dev.cloister.policy;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The numeric uid:gid a job runs as; root (0) is refused for both. */
public record UserId(long uid, long gid) {

    private static final Pattern FORM = Pattern.compile("(\\d{1,10}):(\\d{1,10})");
    private static final long MAX_ID = 0x7fff_fffeL;

    public UserId {
        if (uid == 0 || gid == 0) {
            throw new IllegalArgumentException("jobs never run as root: uid and gid must not be 0");
        }
        if (uid < 0 || gid < 0 || uid > MAX_ID || gid > MAX_ID) {
            throw new IllegalArgumentException("uid and gid must be between 1 and " + MAX_ID);
        }
    }

    public static UserId parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("user must be numeric uid:gid (e.g. 1000:1000); names are not resolved");
        }
        return new UserId(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
    }

    @Override
    public String toString() {
        return uid + ":" + gid;
    }
}
