package dev.cloister.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The few OCI distribution API calls that cosign's layout needs (https://github.com/opencontainers/distribution-spec):
 * manifests by tag or digest, blobs, monolithic blob uploads and manifest pushes. Every call has a deadline covering
 * the whole exchange, every body read is capped, and every digest is computed here from the bytes rather than taken
 * from the registry. Plain HTTP only for loopback registries; no authentication.
 */
final class RegistryClient {

    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    private static final String ACCEPT = String.join(", ", OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST);
    private static final int MAX_ERROR_BYTES = 64 * 1024;

    /** A manifest as served, with the digest of its exact bytes. */
    record Manifest(byte[] bytes, String mediaType, Digest digest) {
    }

    private record Response(int status, HttpHeaders headers, byte[] body) {
    }

    private final RegistryLimits limits;
    private final HttpClient http;

    RegistryClient(RegistryLimits limits) {
        this.limits = limits;
        this.http = HttpClient.newBuilder()
                .connectTimeout(limits.connectTimeout())
                .followRedirects(HttpClient.Redirect.NORMAL) // never from https to http
                .build();
    }

    /**
     * The manifest that {@code reference} (a tag or {@code sha256:<hex>}) names in {@code image}'s repository, or
     * empty when the registry has none.
     *
     * @throws ImageException when the registry fails, or its digest header or the requested digest does not match
     *                        the bytes
     */
    Optional<Manifest> manifest(ImageReference image, String reference) throws ImageException {
        URI uri = uri(image, "manifests/" + reference);
        Response r = send(request(uri).header("Accept", ACCEPT).GET().build(), limits.maxManifestBytes());
        if (r.status() == 404) {
            return Optional.empty();
        }
        requireStatus(r, 200, "GET " + uri);
        Digest digest = Digest.of(r.body());
        Optional<String> claimed = r.headers().firstValue("Docker-Content-Digest");
        if (claimed.isPresent() && !claimed.get().equals(digest.toString())) {
            throw new ContentMismatch("the registry says " + image.name() + ":" + reference + " has digest "
                    + claimed.get() + ", but the manifest it served hashes to " + digest);
        }
        if (reference.startsWith("sha256:") && !reference.equals(digest.toString())) {
            throw new ContentMismatch("the registry served a manifest hashing to " + digest + " for " + reference);
        }
        String mediaType = r.headers().firstValue("Content-Type").orElse("");
        return Optional.of(new Manifest(r.body(), mediaType, digest));
    }

    /** A blob's content, checked against its digest and capped at {@code maxBytes}. */
    byte[] blob(ImageReference repository, Digest digest, int maxBytes) throws ImageException {
        URI uri = uri(repository, "blobs/" + digest);
        Response r = send(request(uri).GET().build(), maxBytes);
        if (r.status() == 404) {
            throw new ImageException("blob " + digest + " is missing from " + repository.name());
        }
        requireStatus(r, 200, "GET " + uri);
        Digest actual = Digest.of(r.body());
        if (!actual.equals(digest)) {
            throw new ContentMismatch("blob " + digest + " from " + repository.name() + " hashes to " + actual);
        }
        return r.body();
    }

    /** Uploads {@code content} as one blob (monolithic POST then PUT), unless the repository already has it. */
    Digest pushBlob(ImageReference repository, byte[] content) throws ImageException {
        Digest digest = Digest.of(content);
        URI existing = uri(repository, "blobs/" + digest);
        Response head = send(request(existing).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                MAX_ERROR_BYTES);
        if (head.status() == 200) {
            return digest;
        }
        URI start = uri(repository, "blobs/uploads/");
        Response started = send(request(start).POST(HttpRequest.BodyPublishers.noBody()).build(), MAX_ERROR_BYTES);
        requireStatus(started, 202, "POST " + start);
        String location = started.headers().firstValue("Location")
                .orElseThrow(() -> new ImageException("the registry started an upload to " + repository.name()
                        + " without a Location"));
        URI upload = start.resolve(location);
        if ("https".equals(start.getScheme()) && !"https".equals(upload.getScheme())) {
            throw new ImageException("the registry sent the upload to a non-HTTPS location");
        }
        URI put = URI.create(upload + (upload.getRawQuery() == null ? "?" : "&") + "digest="
                + URLEncoder.encode(digest.toString(), StandardCharsets.US_ASCII));
        Response done = send(request(put).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(content)).build(), MAX_ERROR_BYTES);
        requireStatus(done, 201, "PUT of blob " + digest + " to " + repository.name());
        return digest;
    }

    /** Pushes a manifest under {@code tag} and returns its digest (computed here, checked against the registry's). */
    Digest putManifest(ImageReference repository, String tag, byte[] manifest, String mediaType)
            throws ImageException {
        Digest digest = Digest.of(manifest);
        URI uri = uri(repository, "manifests/" + tag);
        Response r = send(request(uri).header("Content-Type", mediaType)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)).build(), MAX_ERROR_BYTES);
        requireStatus(r, 201, "PUT " + uri);
        Optional<String> claimed = r.headers().firstValue("Docker-Content-Digest");
        if (claimed.isPresent() && !claimed.get().equals(digest.toString())) {
            throw new ImageException("the registry stored manifest " + tag + " as " + claimed.get()
                    + ", but its bytes hash to " + digest);
        }
        return digest;
    }

    static URI base(ImageReference image) {
        return URI.create((image.isLoopback() ? "http://" : "https://") + image.registry() + "/v2/");
    }

    private static URI uri(ImageReference image, String path) {
        return base(image).resolve(image.repository() + "/" + path);
    }

    private HttpRequest.Builder request(URI uri) {
        return HttpRequest.newBuilder(uri).timeout(limits.requestTimeout()).header("User-Agent", "cloister");
    }

    private Response send(HttpRequest request, int maxBytes) throws ImageException {
        String what = request.method() + " " + request.uri();
        CompletableFuture<HttpResponse<byte[]>> future = http.sendAsync(request, info -> new CappedBody(maxBytes));
        try {
            HttpResponse<byte[]> response = future.get(limits.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
            return new Response(response.statusCode(), response.headers(), response.body());
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new ImageException(what + " got no complete answer within " + limits.requestTimeout(), e);
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new ImageException("interrupted during " + what, e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof TooLarge) {
                throw new ImageException(what + ": the answer is larger than the " + maxBytes + "-byte limit", cause);
            }
            if (cause instanceof HttpConnectTimeoutException || cause instanceof ConnectException) {
                throw new ImageException("cannot connect to the registry " + request.uri().getAuthority()
                        + " (is it running? deploy/host-setup.sh starts Cloister's registry)", cause);
            }
            if (cause instanceof HttpTimeoutException) {
                throw new ImageException(what + " got no answer within " + limits.requestTimeout(), cause);
            }
            throw new ImageException(what + " failed: " + (cause instanceof IOException && cause.getMessage() != null
                    ? cause.getMessage() : String.valueOf(cause)), cause);
        }
    }

    private static void requireStatus(Response r, int expected, String what) throws ImageException {
        if (r.status() == expected) {
            return;
        }
        if (r.status() == 401 || r.status() == 403) {
            throw new ImageException(what + " was refused (HTTP " + r.status()
                    + "): the registry requires authentication, which Cloister's registry client does not do");
        }
        throw new ImageException(what + " answered HTTP " + r.status() + registryError(r.body()));
    }

    /** The registry's own error text, from its {@code {"errors":[{"code","message"}]}} body. */
    private static String registryError(byte[] body) {
        ObjectNode json = body == null ? null : Json.readObject(body);
        if (json == null) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        for (JsonNode error : json.path("errors")) {
            out.append(out.length() == 0 ? ": " : "; ").append(error.path("code").asText(""))
                    .append(' ').append(error.path("message").asText(""));
        }
        return out.toString();
    }

    /** The registry served content that does not hash to the digest it was asked for or claimed. */
    static final class ContentMismatch extends ImageException {
        ContentMismatch(String problem) {
            super(problem);
        }
    }

    /** The body was longer than allowed. */
    private static final class TooLarge extends IOException {
        TooLarge(int max) {
            super("body larger than " + max + " bytes");
        }
    }

    /** Collects a body up to a size cap and cancels the exchange as soon as it is exceeded. */
    private static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {

        private final int max;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private Flow.Subscription subscription;

        CappedBody(int max) {
            this.max = max;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer buffer : items) {
                if ((long) out.size() + buffer.remaining() > max) {
                    subscription.cancel();
                    result.completeExceptionally(new TooLarge(max));
                    return;
                }
                byte[] chunk = new byte[buffer.remaining()];
                buffer.get(chunk);
                out.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(out.toByteArray());
        }
    }

    @Override
    public String toString() {
        return "RegistryClient[requestTimeout=" + limits.requestTimeout() + "]";
    }
}
