package dev.cloister.sandbox;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a verified serving image hardened: read-only root, user 65534, no capabilities, no-new-privileges, the
 * serving seccomp profile, sized /tmp, memory/pids caps, published on 127.0.0.1 only. Callers verify first; this
 * class only runs what it is given, by digest.
 */
public final class ServingDeployment implements AutoCloseable {

    /** A running deployment: its container and where it answers. */
    public record Running(String containerId, String name, URI url) {
    }

    private static final int SERVING_PORT = 8080;
    private static final Duration PULL_TIMEOUT = Duration.ofMinutes(5);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final Engine engine;

    public ServingDeployment(DockerClient docker, DockerTimeouts timeouts) {
        this.engine = new Engine(docker, timeouts.api());
    }

    /**
     * Pulls {@code imageByDigest} ({@code registry/repo@sha256:...}), replaces any deployment of the same name, starts
     * it and waits until {@code /healthz} answers 200.
     */
    public Running deploy(String imageByDigest, String name, int hostPort, String seccompJson) throws SandboxException {
        if (!imageByDigest.contains("@sha256:")) {
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED, "deploy runs images by digest only");
        }
        try {
            boolean pulled = engine.docker().pullImageCmd(imageByDigest).start()
                    .awaitCompletion(PULL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            if (!pulled) {
                throw new SandboxException(SandboxException.Kind.ENGINE, "pull of " + imageByDigest + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Kind.ENGINE, "interrupted while pulling", e);
        } catch (RuntimeException e) {
            throw new SandboxException(SandboxException.Kind.IMAGE_NOT_FOUND, "cannot pull " + imageByDigest + ": "
                    + e.getMessage(), e);
        }
        try {
            engine.call("remove old deployment", d -> d.removeContainerCmd(name).withForce(true).exec());
        } catch (NotFoundException e) {
            // Nothing deployed under that name yet.
        }
        ExposedPort port = ExposedPort.tcp(SERVING_PORT);
        Ports bindings = new Ports();
        bindings.bind(port, Ports.Binding.bindIpAndPort("127.0.0.1", hostPort));
        HostConfig host = HostConfig.newHostConfig()
                .withReadonlyRootfs(true)
                .withCapDrop(Capability.ALL)
                .withSecurityOpts(List.of("no-new-privileges", "seccomp=" + seccompJson))
                .withTmpFs(Map.of("/tmp", "rw,nosuid,nodev,noexec,size=16m"))
                .withMemory(256L << 20).withMemorySwap(256L << 20)
                .withPidsLimit(128L)
                // Docker opens ICMP "ping" sockets to every group; the server needs none.
                .withSysctls(Map.of("net.ipv4.ping_group_range", "1 0"))
                .withPortBindings(bindings)
                .withInit(true);
        CreateContainerResponse created = engine.call("create deployment", d -> d.createContainerCmd(imageByDigest)
                .withName(name).withUser("65534:65534").withExposedPorts(port).withHostConfig(host)
                .withLabels(Map.of("dev.cloister.serving", "true", "dev.cloister.image", imageByDigest)).exec());
        engine.call("start deployment", d -> {
            d.startContainerCmd(created.getId()).exec();
            return null;
        });
        URI url = URI.create("http://127.0.0.1:" + hostPort);
        awaitHealthy(created.getId(), url);
        return new Running(created.getId(), name, url);
    }

    private void awaitHealthy(String containerId, URI url) throws SandboxException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        Instant deadline = Instant.now().plus(READY_TIMEOUT);
        while (Instant.now().isBefore(deadline)) {
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(url.resolve("/healthz"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // Not listening yet.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SandboxException(SandboxException.Kind.ENGINE, "interrupted while waiting for /healthz", e);
            }
            var state = engine.call("inspect deployment", d -> d.inspectContainerCmd(containerId).exec()).getState();
            if (!Boolean.TRUE.equals(state.getRunning())) {
                throw new SandboxException(SandboxException.Kind.ENGINE, "the serving container exited with code "
                        + state.getExitCodeLong() + (Boolean.TRUE.equals(state.getOOMKilled()) ? " (OOM killed)" : ""));
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SandboxException(SandboxException.Kind.ENGINE, "interrupted", e);
            }
        }
        throw new SandboxException(SandboxException.Kind.ENGINE, "the serving container did not answer /healthz within "
                + READY_TIMEOUT.toSeconds() + " s");
    }

    @Override
    public void close() {
        engine.close();
    }
}
