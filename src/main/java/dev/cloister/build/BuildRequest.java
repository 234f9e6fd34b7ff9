package dev.cloister.build;

import java.util.Map;
import java.util.TreeMap;

/**
 * What a team asks to build: under which policy, into which repository of Cloister's registry, with which build
 * args. The context (Dockerfile and files) travels beside it as a tar.
 *
 * @param repository a repository path in Cloister's registry, e.g. {@code cloister/example-breast-cancer}; the
 *                   image is pushed to {@code <registry>/<repository>:<tag>}, which the policy must allow
 * @param tag        the tag to push (the image is recorded and used by digest; the tag is for people)
 */
public record BuildRequest(String team, String policy, String repository, String tag, Map<String, String> buildArgs) {

    public BuildRequest {
        buildArgs = buildArgs == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(buildArgs));
        tag = tag == null || tag.isBlank() ? "latest" : tag;
    }
}
