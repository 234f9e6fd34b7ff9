package dev.cloister.api;

import dev.cloister.job.JobId;
import dev.cloister.job.JobService;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/** Copies a job's log to a client, optionally following it until the job ends. */
@ApplicationScoped
public class LogStream {

    private static final Duration POLL = Duration.ofMillis(200);
    // Following stops at the latest this long after the job's own deadline, whatever happens.
    private static final Duration FOLLOW_MARGIN = Duration.ofMinutes(2);

    private final JobService jobs;

    public LogStream(JobService jobs) {
        this.jobs = jobs;
    }

    void copy(JobId id, OutputStream out, boolean follow) throws IOException {
        Path file = jobs.logFile(id).orElseThrow();
        Instant giveUp = Instant.now().plus(jobs.plan(id).orElseThrow().limits().maxRuntime()).plus(FOLLOW_MARGIN);
        byte[] buf = new byte[8192];
        long offset = 0;
        while (true) {
            boolean ended = jobs.find(id).map(j -> j.state().isFinal()).orElse(true);
            if (Files.exists(file)) {
                try (InputStream in = Files.newInputStream(file)) {
                    in.skipNBytes(offset);
                    for (int n; (n = in.read(buf)) > 0; ) {
                        out.write(buf, 0, n);
                        offset += n;
                    }
                }
                out.flush();
            }
            if (!follow || ended || Instant.now().isAfter(giveUp)) {
                return;
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
