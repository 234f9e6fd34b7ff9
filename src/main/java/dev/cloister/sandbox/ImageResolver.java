package dev.cloister.sandbox;

import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ImageRef;
import dev.cloister.sandbox.ResolvedImage.PinKind;

import java.util.List;

/**
 * Finds a digest-pinned image among the engine's local images, never pulling. An image that was only built or
 * imported has just its image ID (config digest); a pushed or pulled one also lists {@code repo@sha256:…} in
 * RepoDigests. The reference must match one of the two exactly, repository included.
 */
final class ImageResolver {

    private ImageResolver() {
    }

    static ResolvedImage resolve(Engine engine, ImageRef ref) throws SandboxException {
        String imageId = ref.digest().toString();
        String repo = familiar(ref.repository());
        InspectImageResponse byId = inspect(engine, imageId);
        boolean idWithoutTag = false;
        if (byId != null && imageId.equals(byId.getId())) {
            if (tagged(byId.getRepoTags(), repo)) {
                return new ResolvedImage(ref, ref.digest(), PinKind.IMAGE_ID);
            }
            idWithoutTag = true;
        }
        InspectImageResponse byDigest = inspect(engine, ref.repository() + "@" + imageId);
        if (byDigest != null && listed(byDigest.getRepoDigests(), repo + "@" + imageId)) {
            return new ResolvedImage(ref, Digest.parse(byDigest.getId()), PinKind.MANIFEST_DIGEST);
        }
        throw new SandboxException(SandboxException.Kind.IMAGE_NOT_FOUND, idWithoutTag
                ? "image " + imageId + " is on this host but is not tagged as repository '" + ref.repository() + "'"
                : "image " + ref + " is not on this host: neither an image ID nor a repository digest matches it"
                + " (Cloister never pulls; build, import or load the image first)");
    }

    private static InspectImageResponse inspect(Engine engine, String reference) throws SandboxException {
        try {
            return engine.call("inspect image", d -> d.inspectImageCmd(reference).exec());
        } catch (NotFoundException e) {
            return null;
        }
    }

    private static boolean tagged(List<String> repoTags, String repo) {
        if (repoTags == null) {
            return false;
        }
        for (String tag : repoTags) {
            int colon = tag.lastIndexOf(':');
            String name = colon > tag.lastIndexOf('/') ? tag.substring(0, colon) : tag;
            if (familiar(name).equals(repo)) {
                return true;
            }
        }
        return false;
    }

    private static boolean listed(List<String> repoDigests, String wanted) {
        return repoDigests != null && repoDigests.stream().anyMatch(d -> {
            int at = d.indexOf('@');
            return at > 0 && (familiar(d.substring(0, at)) + d.substring(at)).equals(wanted);
        });
    }

    // Docker prints Docker Hub names in their short form ("foo", "org/foo"); compare in that form.
    static String familiar(String repository) {
        for (String prefix : List.of("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/")) {
            if (repository.startsWith(prefix)) {
                return repository.substring(prefix.length());
            }
        }
        return repository;
    }
}
