package dev.cloister.image;

import dev.cloister.digest.Digest;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An image in a registry: {@code registry/repository[:tag][@sha256:<hex>]}, with the registry host always written
 * out (Cloister never guesses Docker Hub). {@link #name()} is what cosign calls the repository name and writes as
 * the signature's {@code docker-reference}.
 *
 * @param registry   host and optional port, e.g. {@code 127.0.0.1:5000}
 * @param repository lowercase path components, e.g. {@code cloister/models/breast-cancer}
 */
public record ImageReference(String registry, String repository, Optional<String> tag, Optional<Digest> digest) {

    // Docker reference grammar (distribution/reference): host[:port], lowercase path components, tag.
    private static final Pattern REGISTRY = Pattern.compile("[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\\d{1,5})?");
    private static final Pattern REPOSITORY = Pattern.compile(
            "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final int MAX_NAME = 255;

    public ImageReference {
        Objects.requireNonNull(tag, "tag");
        Objects.requireNonNull(digest, "digest");
        if (registry == null || !REGISTRY.matcher(registry).matches()) {
            throw new IllegalArgumentException("not a registry host[:port]: '" + registry + "'");
        }
        if (repository == null || !REPOSITORY.matcher(repository).matches()
                || registry.length() + 1 + repository.length() > MAX_NAME) {
            throw new IllegalArgumentException("not a repository name (lowercase path components, at most "
                    + MAX_NAME + " characters with the registry): '" + repository + "'");
        }
        tag.ifPresent(t -> {
            if (!TAG.matcher(t).matches()) {
                throw new IllegalArgumentException("not a tag (letters, digits, '_', '.', '-'; at most 128): '" + t + "'");
            }
        });
        if (tag.isEmpty() && digest.isEmpty()) {
            throw new IllegalArgumentException("image '" + registry + "/" + repository + "' names neither a tag nor a digest");
        }
    }

    /**
     * Parses {@code registry/repository:tag}, {@code registry/repository@sha256:<hex>} or both; the first path
     * component must be a registry host (it has a '.' or a ':' or is {@code localhost}).
     */
    public static ImageReference parse(String text) {
        if (text == null || text.isBlank() || text.length() > 512) {
            throw new IllegalArgumentException("an image reference is required");
        }
        String rest = text.strip();
        Optional<Digest> digest = Optional.empty();
        int at = rest.indexOf('@');
        if (at >= 0) {
            try {
                digest = Optional.of(Digest.parse(rest.substring(at + 1)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("image '" + text + "': " + e.getMessage());
            }
            rest = rest.substring(0, at);
        }
        Optional<String> tag = Optional.empty();
        int colon = rest.lastIndexOf(':');
        if (colon > rest.lastIndexOf('/')) {
            tag = Optional.of(rest.substring(colon + 1));
            rest = rest.substring(0, colon);
        }
        int slash = rest.indexOf('/');
        String host = slash < 0 ? "" : rest.substring(0, slash);
        if (slash < 0 || !(host.contains(".") || host.contains(":") || host.equals("localhost"))) {
            throw new IllegalArgumentException("image '" + text + "' names no registry: write host[:port]/repository,"
                    + " e.g. 127.0.0.1:5000/cloister/models/name:tag");
        }
        return new ImageReference(host, rest.substring(slash + 1), tag, digest);
    }

    /** {@code registry/repository}: the repository name, without tag or digest. */
    public String name() {
        return registry + "/" + repository;
    }

    /** This image pinned by {@code digest}, without its tag: {@code registry/repository@sha256:<hex>}. */
    public ImageReference pinned(Digest digest) {
        return new ImageReference(registry, repository, Optional.empty(), Optional.of(digest));
    }

    /** This image, keeping its tag, with {@code digest} added. */
    public ImageReference withDigest(Digest digest) {
        return new ImageReference(registry, repository, tag, Optional.of(digest));
    }

    /** The same repository under another tag. */
    public ImageReference withTag(String tag) {
        return new ImageReference(registry, repository, Optional.of(tag), Optional.empty());
    }

    /**
     * Whether the registry is on this host's loopback interface: only such a registry is reached over plain HTTP
     * (deploy/registry/config.yml binds Cloister's registry to 127.0.0.1 without TLS).
     */
    public boolean isLoopback() {
        String host = registry.replaceFirst(":\\d+$", "").toLowerCase(Locale.ROOT);
        return host.equals("localhost") || host.matches("127(?:\\.\\d{1,3}){3}");
    }

    /** What to ask the registry for: the digest when there is one, else the tag. */
    String reference() {
        return digest.map(Digest::toString).orElseGet(tag::orElseThrow);
    }

    @Override
    public String toString() {
        return name() + tag.map(t -> ":" + t).orElse("") + digest.map(d -> "@" + d).orElse("");
    }
}
