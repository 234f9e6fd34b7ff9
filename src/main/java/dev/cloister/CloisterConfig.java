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

    Keys keys();

    Images images();

    Audit audit();

    Federations federations();

    interface Federations {
        /** How many federations run at once. */
        @WithDefault("1")
        int concurrency();

        /** How many site containers run at once, across a federation's sites. */
        @WithDefault("3")
        int siteConcurrency();
    }

    Builds builds();

    interface Builds {
        /** Largest build context (the files' bytes; the tar's headers get a margin on top). */
        @WithDefault("67108864")
        long maxContextBytes();

        /** Most files and links in a build context. */
        @WithDefault("10000")
        int maxContextEntries();

        /** How long one image build may take (also the engine connection's read timeout during a build). */
        @WithDefault("10m")
        Duration timeout();

        /** How long pushing a built image to the registry may take. */
        @WithDefault("5m")
        Duration pushTimeout();
    }

    Auth auth();

    Limits limits();

    interface Auth {
        /** Directory of the token issuer key ({@code issuer-key.pem}, 0600); defaults to {@code <data-dir>/auth}. */
        Optional<Path> dir();

        /** The {@code iss} every token must carry. */
        @WithDefault(dev.cloister.auth.TokenIssuer.DEFAULT_ISSUER)
        String issuer();

        /** The {@code aud} every token must carry. */
        @WithDefault(dev.cloister.auth.TokenIssuer.DEFAULT_AUDIENCE)
        String audience();

        /** Tokens living longer than this (from {@code iat} to {@code exp}) are refused. */
        @WithDefault("30d")
        Duration maxTokenTtl();
    }

    /** Per-token rate limits (token buckets keyed by the token's id). */
    interface Limits {
        /** Job submissions a minute a token may sustain. */
        @WithDefault("30")
        int submissionsPerMinute();

        /** Job submissions a token may make at once. */
        @WithDefault("10")
        int submissionBurst();

        /** Log requests (streamed or not) a minute a token may sustain. */
        @WithDefault("60")
        int logStreamsPerMinute();

        /** Log requests a token may make at once. */
        @WithDefault("20")
        int logStreamBurst();
    }

    interface Audit {
        /** A signed checkpoint after this many entries. */
        @WithDefault("100")
        int checkpointEvery();

        /** A signed checkpoint this long after the last one, when entries have been recorded since. */
        @WithDefault("10m")
        Duration checkpointInterval();
    }

    interface Images {
        /** Registry that serving images are pushed to (plain HTTP only for loopback registries). */
        @WithDefault("127.0.0.1:5000")
        String registry();

        /** Repository prefix: images go to {@code <registry>/<prefix>/<job name>:<job id>}. */
        @WithDefault("cloister/models")
        String repositoryPrefix();

        /** Serving base image pinned by digest; defaults to the one host setup pushed ({@code <data-dir>/images/serving-base.ref}). */
        Optional<String> servingBase();

        /** File holding the serving base reference when {@code serving-base} is unset; defaults to {@code <data-dir>/images/serving-base.ref}. */
        Optional<Path> servingBaseRef();

        /** Directory whose files become the serving-code layer. */
        @WithDefault("deploy/serving/app")
        Path servingCode();
    }

    /** Identifies this host as the SLSA builder; defaults to {@code urn:cloister:host:<hostname>}. */
    Optional<String> builderId();

    /** Threads hashing model files while sealing. */
    @WithDefault("2")
    int sealHashThreads();

    interface Keys {
        /** Directory of the host signing keys; defaults to {@code <data-dir>/keys}. */
        Optional<Path> dir();

        /**
         * Passphrase that encrypts the private key (set it with env {@code CLOISTER_KEYS_PASSPHRASE}). When unset, a
         * random one is generated once into {@code passphrase-file} (root-only), so a single host works unattended.
         */
        Optional<String> passphrase();

        /** Where a generated passphrase lives; defaults to {@code <data-dir>/secrets/key-passphrase}. */
        Optional<Path> passphraseFile();

        /** An existing PEM private key (P-256) to import and sign with, instead of a generated one. */
        Optional<Path> importPem();

        /** Passphrase of {@code import-pem}, when it is encrypted. */
        Optional<String> importPassphrase();
    }

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

        /**
         * What a shutdown does to running jobs: {@code detach} leaves them running (the engine keeps them under
         * live-restore) for the next start to follow again; {@code cancel} stops them.
         */
        @WithDefault("detach")
        OnShutdown onShutdown();

        enum OnShutdown { DETACH, CANCEL }

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

        /**
         * How long a running job waits for an engine that stopped answering (dockerd restarting; live-restore keeps
         * the container running) before it fails with that reason.
         */
        @WithDefault("120s")
        Duration engineOutage();

        /**
         * How old the engine's answer that a job's pinned image is on this host may be when the job is admitted
         * (the run asks again before it creates the container); 0s asks the engine on every submission.
         */
        @WithDefault("10s")
        Duration imageRecheck();
    }
}
