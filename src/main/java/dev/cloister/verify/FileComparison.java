package dev.cloister.verify;

import dev.cloister.digest.Digest;
import dev.cloister.seal.ModelManifest;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Compares the signed file list with the files on disk and says, file by file, what differs. */
final class FileComparison {

    private FileComparison() {
    }

    /** Reports each file modified, added, removed or renamed; then the root digest against the subject digest. */
    static void compare(SignedStatement.ModelClaims claims, ModelManifest onDisk, List<String> reasons) {
        Map<String, Digest> signed = new LinkedHashMap<>();
        claims.resources().forEach(claim -> signed.put(claim.name(), claim.digest()));
        Map<String, Digest> found = new LinkedHashMap<>();
        onDisk.resources().forEach(resource -> found.put(resource.name(), resource.digest()));

        List<String> removed = new ArrayList<>();
        int differences = 0;
        for (Map.Entry<String, Digest> entry : signed.entrySet()) {
            Digest actual = found.remove(entry.getKey());
            if (actual == null) {
                removed.add(entry.getKey());
            } else if (!actual.equals(entry.getValue())) {
                reasons.add("file modified: " + entry.getKey());
                differences++;
            }
        }
        for (String name : removed) {
            String renamedTo = takeSameContent(found, signed.get(name));
            if (renamedTo != null) {
                reasons.add("file renamed: " + name + " -> " + renamedTo);
            } else if (isIgnored(name, onDisk.ignorePaths())) {
                reasons.add("signed file excluded by the ignore paths given: " + name);
            } else {
                reasons.add("file removed: " + name);
            }
            differences++;
        }
        for (String name : found.keySet()) {
            reasons.add("file added (not in the signed manifest): " + name);
            differences++;
        }
        if (differences == 0 && claims.subjectDigest() != null && !claims.subjectDigest().equals(onDisk.rootDigest())) {
            reasons.add("subject digest " + claims.subjectDigest() + " is not the root digest "
                    + onDisk.rootDigest() + " of the files on disk");
        }
    }

    private static String takeSameContent(Map<String, Digest> added, Digest digest) {
        for (Iterator<Map.Entry<String, Digest>> it = added.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Digest> entry = it.next();
            if (entry.getValue().equals(digest)) {
                it.remove();
                return entry.getKey();
            }
        }
        return null;
    }

    private static boolean isIgnored(String name, List<String> ignorePaths) {
        return ignorePaths.stream().anyMatch(path -> name.equals(path) || name.startsWith(path + "/"));
    }
}
