package dev.cloister.job;

import java.util.regex.Pattern;

/**
 * What trained a sealed model: a job ({@code job-<hex>}) or a federation ({@code fed-<hex>}). Its id is the model's
 * provenance {@code invocationId}, so the kind is read from the id's prefix.
 */
public record ModelOrigin(String id) {

    private static final Pattern FORM = Pattern.compile("(job|fed)-[0-9a-f]{32}");

    /** A job, or a federation of site jobs. */
    public enum Kind {
        JOB("job"), FEDERATION("federation");

        private final String word;

        Kind(String word) {
            this.word = word;
        }

        /** The kind as a word in messages ("job", "federation"). */
        public String word() {
            return word;
        }
    }

    public ModelOrigin {
        if (id == null || !FORM.matcher(id).matches()) {
            throw new IllegalArgumentException("not a job or federation id: '" + id + "'");
        }
    }

    public static ModelOrigin of(JobId job) {
        return new ModelOrigin(job.value());
    }

    public Kind kind() {
        return id.startsWith("job-") ? Kind.JOB : Kind.FEDERATION;
    }

    @Override
    public String toString() {
        return kind().word() + " " + id;
    }
}
