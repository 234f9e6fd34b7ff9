package dev.cloister;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** All {@code cloister.*} settings; every one has a default that works on a single host. */
@ConfigMapping(prefix = "cloister")
public interface CloisterConfig {

    /** Root of Cloister's state: datasets, work directories, artifacts, audit log. */
    @WithDefault("/var/lib/cloister")
    Path dataDir();

    Policies policies();

    Datasets datasets();

    Jobs jobs();

    Docker docker();

    interface Policies {
        /** Directory of reviewed policy YAML files. */
        @WithDefault("policies")
        Path dir();

        /** Directory of seccomp profiles that policies name. */
        @WithDefault("seccomp-profiles")
        Path seccompDir();

        /** Policy used when a job names none. */
        @WithDefault("restricted")
        String defaultPolicy();
    }

    interface Datasets {
        /** Datasets are directories directly under this root; defaults to {@code <data-dir>/datasets}. */
        Optional<Path> root();
    }

    interface Jobs {
        /** How many jobs run at once; the rest wait in the queue. */
        @WithDefault("2")
        int concurrency();

        /** Largest accepted job spec body. */
        @WithDefault("65536")
        int maxSpecBytes();
    }

    interface Docker {
        /** Docker engine endpoint. */
        @WithDefault("unix:///var/run/docker.sock")
        String host();

        /** Timeout for connecting to the engine. */
        @WithDefault("5s")
        Duration connectTimeout();

        /** Timeout for each ordinary engine API call (inspect, create, start, remove). */
        @WithDefault("30s")
        Duration apiTimeout();

        /** How long to wait for a finished job's log to drain. */
        @WithDefault("10s")
        Duration logDrainTimeout();

        /** Timeout for each host mount/umount of a job's workspace. */
        @WithDefault("10s")
        Duration mountTimeout();

        /** Interval between state polls of a running container. */
        @WithDefault("250ms")
        Duration poll();
    }
}
