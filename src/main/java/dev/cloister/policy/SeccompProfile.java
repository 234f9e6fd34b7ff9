package dev.cloister.policy;

import dev.cloister.digest.Digest;

/** A seccomp profile as the engine will receive it: its file name, exact JSON text and that text's digest. */
public record SeccompProfile(String name, String json, Digest digest) {

    public SeccompProfile {
        if (name == null || json == null || digest == null) {
            throw new IllegalArgumentException("seccomp profile needs a name, its JSON and its digest");
        }
    }

    @Override
    public String toString() {
        return name + " (" + digest + ")";
    }
}
