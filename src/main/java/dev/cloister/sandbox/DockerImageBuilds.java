package dev.cloister.sandbox;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.BuildImageCmd;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.BuildResponseItem;
import com.github.dockerjava.api.model.PushResponseItem;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ImageRef;

import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Builds training images with the engine's classic builder and pushes them, under the locks that make a build
 * checkable: {@code RUN} steps get network mode {@code none}, the base is never pulled ({@code pull=false}: it must
 * already be on this host, pinned), no layer cache is used ({@code nocache}: no cache from other teams' builds, or
 * any build), intermediate containers are always removed. Every call has a named timeout.
 */
public final class DockerImageBuilds implements AutoCloseable {

    /** Named bounds of a build and a push. */
    public record Timeouts(Duration build, Duration push) {
    }

    /** What the engine built: its image ID and the tail of its output. */
    public record Built(Digest imageId, String log) {
    }

    /** A failed build: the engine's reason and the tail of the output. */
    public static final class BuildFailed extends Exception {
        private final String log;

        BuildFailed(String reason, String log) {
            super(reason);
            this.log = log;
        }

        public String log() {
            return log;
        }
    }

    private static final int LOG_TAIL_LINES = 200;

    private final Engine engine;
    private final Timeouts timeouts;
    private final boolean ownsClient;

    private DockerImageBuilds(DockerClient docker, Duration apiTimeout, Timeouts timeouts, boolean ownsClient) {
        this.engine = new Engine(docker, apiTimeout);
        this.timeouts = timeouts;
        this.ownsClient = ownsClient;
    }

    /**
     * Builds through a connection of its own to the engine at {@code dockerHost}, whose read timeout is the build
     * and push time (a RUN step may print nothing for minutes); closed with this.
     */
    public static DockerImageBuilds open(java.net.URI dockerHost, DockerTimeouts timeouts, Timeouts builds) {
        DockerTimeouts reads = new DockerTimeouts(timeouts.connect(), builds.build().plus(builds.push()),
                timeouts.logDrain(), timeouts.mount(), timeouts.poll(), timeouts.outage());
        return new DockerImageBuilds(DockerSandbox.connect(dockerHost, reads), timeouts.api(), builds, true);
    }

    /**
     * Builds the tar context {@code context} (Dockerfile at its root) with {@code buildArgs} and {@code labels},
     * tagged {@code tag}. Throws {@link BuildFailed} when a step fails; {@link SandboxException} when the engine
     * fails or the build outlasts its timeout.
     */
    public Built build(InputStream context, Map<String, String> buildArgs, Map<String, String> labels, String tag)
            throws BuildFailed, SandboxException {
        LogTail tail = new LogTail();
        BuildImageResultCallback callback = new BuildImageResultCallback() {
            @Override
            public void onNext(BuildResponseItem item) {
                if (item.getStream() != null) {
                    tail.add(item.getStream());
                }
                if (item.isErrorIndicated()) {
                    tail.add(item.getErrorDetail() != null && item.getErrorDetail().getMessage() != null
                            ? item.getErrorDetail().getMessage() : String.valueOf(item.getError()));
                }
                super.onNext(item);
            }
        };
        BuildImageCmd cmd = engine.docker().buildImageCmd(context)
                .withNetworkMode("none")
                .withPull(false)
                .withNoCache(true)
                .withRemove(true)
                .withForcerm(true)
                .withLabels(labels)
                .withTags(Set.of(tag));
        buildArgs.forEach(cmd::withBuildArg);
        String id;
        try (BuildImageResultCallback running = cmd.exec(callback)) {
            id = running.awaitImageId(timeouts.build().toSeconds(), TimeUnit.SECONDS);
        } catch (com.github.dockerjava.api.exception.DockerClientException e) {
            String reason = Messages.brief(e);
            if (reason.startsWith("Awaiting image id timed out")) {
                throw new SandboxException(SandboxException.Kind.ENGINE, "the build did not finish within "
                        + timeouts.build().toSeconds() + " s", e);
            }
            throw new BuildFailed(reason.replaceFirst("^Could not build image: ", ""), tail.text());
        } catch (RuntimeException e) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "the Docker engine failed the build: "
                    + Messages.brief(e), e);
        } catch (java.io.IOException e) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "the build's connection failed: " + e.getMessage(), e);
        }
        var inspect = engine.call("inspect image", d -> d.inspectImageCmd(tag).exec());
        Digest imageId = Digest.parse(inspect.getId());
        if (id == null || !inspect.getId().contains(id.replaceFirst("^sha256:", ""))) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "the engine reported image " + id
                    + " but tag " + tag + " names " + imageId);
        }
        return new Built(imageId, tail.text());
    }

    /**
     * Pushes {@code repository:tag} to its registry and returns the manifest digest the registry stored, checked
     * against the image's RepoDigests.
     */
    public Digest push(String repository, String tag) throws SandboxException {
        List<String> errors = new ArrayList<>();
        String[] digest = new String[1];
        ResultCallback.Adapter<PushResponseItem> callback = new ResultCallback.Adapter<>() {
            @Override
            public void onNext(PushResponseItem item) {
                if (item.isErrorIndicated()) {
                    errors.add(item.getErrorDetail() != null ? item.getErrorDetail().getMessage() : item.getError());
                }
                if (item.getAux() != null && item.getAux().getDigest() != null) {
                    digest[0] = item.getAux().getDigest();
                }
            }
        };
        try (var running = engine.docker().pushImageCmd(repository).withTag(tag).exec(callback)) {
            if (!running.awaitCompletion(timeouts.push().toSeconds(), TimeUnit.SECONDS)) {
                throw new SandboxException(SandboxException.Kind.ENGINE, "the push of " + repository + ":" + tag
                        + " did not finish within " + timeouts.push().toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Kind.ENGINE, "interrupted while pushing", e);
        } catch (RuntimeException | java.io.IOException e) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "the push of " + repository + ":" + tag
                    + " failed: " + Messages.brief(e), e);
        }
        if (!errors.isEmpty() || digest[0] == null) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "the push of " + repository + ":" + tag
                    + " failed: " + (errors.isEmpty() ? "the registry reported no digest" : String.join("; ", errors)));
        }
        Digest pushed = Digest.parse(digest[0]);
        var inspect = engine.call("inspect image", d -> d.inspectImageCmd(repository + ":" + tag).exec());
        if (inspect.getRepoDigests() == null || !inspect.getRepoDigests().contains(repository + "@" + pushed)) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "after the push, the engine does not list "
                    + repository + "@" + pushed + " for the image");
        }
        return pushed;
    }

    /** Whether a pinned image is on this host (by image ID or registry digest, as jobs resolve it). */
    public ResolvedImage resolve(ImageRef image) throws SandboxException {
        return ImageResolver.resolve(engine, image);
    }

    /** The engine's version, recorded in build provenance. */
    public String engineVersion() throws SandboxException {
        return engine.call("version", d -> d.versionCmd().exec()).getVersion();
    }

    /** Removes a tag this host made (a failed push leaves none behind); the image stays while other tags use it. */
    public void untag(String reference) {
        try {
            engine.run("remove tag", d -> d.removeImageCmd(reference).withNoPrune(true).exec());
        } catch (NotFoundException | SandboxException e) {
            // Nothing to remove, or the engine is gone; the tag is harmless either way.
        } catch (RuntimeException e) {
            // A conflict (a container uses the image) leaves the tag; it names a pushed digest anyway.
        }
    }

    @Override
    public void close() {
        engine.close();
        if (ownsClient) {
            try {
                engine.docker().close();
            } catch (java.io.IOException e) {
                // Closing a local socket client; nothing is left to release.
            }
        }
    }

    /** The last lines of the build output, without the engine's progress noise. */
    private static final class LogTail {
        private final java.util.ArrayDeque<String> lines = new java.util.ArrayDeque<>();
        private final StringBuilder partial = new StringBuilder();

        synchronized void add(String chunk) {
            partial.append(chunk);
            int nl;
            while ((nl = partial.indexOf("\n")) >= 0) {
                push(partial.substring(0, nl));
                partial.delete(0, nl + 1);
            }
        }

        private void push(String line) {
            String clean = line.replaceAll("\u001B\\[[0-9;]*[A-Za-z]", "").stripTrailing();
            if (clean.length() > 1000) {
                clean = clean.substring(0, 1000) + "...";
            }
            lines.addLast(clean);
            while (lines.size() > LOG_TAIL_LINES) {
                lines.removeFirst();
            }
        }

        synchronized String text() {
            if (partial.length() > 0) {
                push(partial.toString());
                partial.setLength(0);
            }
            return String.join("\n", lines);
        }
    }
}
