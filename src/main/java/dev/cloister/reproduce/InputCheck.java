package dev.cloister.reproduce;

import dev.cloister.dataset.Dataset;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Violation;
import dev.cloister.sandbox.SandboxException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** What changed since a sealed job ran: its policy file, its dataset's content, its image. Each named, all at once. */
final class InputCheck {

    /** Finds a pinned image on the host, or throws (IMAGE_NOT_FOUND when it is gone). */
    @FunctionalInterface
    interface ImageLookup {
        Object resolve(ImageRef image) throws SandboxException;
    }

    private InputCheck() {
    }

    static List<Violation> changes(RecordedInputs r, Policies policies, DatasetRegistry datasets, ImageLookup images)
            throws SandboxException {
        List<Violation> changed = new ArrayList<>();
        policies.find(r.policy()).ifPresentOrElse(p -> {
            if (!p.digest().equals(r.policyDigest())) {
                changed.add(new Violation("policy", "policy '" + r.policy() + "' was edited: it was "
                        + r.policyDigest() + ", it is now " + p.digest()));
            }
        }, () -> changed.add(new Violation("policy", "policy '" + r.policy() + "' no longer exists")));
        if (r.dataset() != null) {
            Optional<Dataset> d = datasets.find(r.dataset());
            if (d.isEmpty()) {
                changed.add(new Violation("dataset", "dataset '" + r.dataset() + "' is not registered (register it"
                        + " again; its content must still be " + r.datasetDigest() + ")"));
            } else {
                // Hashed again now: registration took a digest once, and the directory may have changed since.
                Digest now = null;
                try {
                    now = DatasetRegistry.contentDigest(d.get().directory());
                } catch (IOException e) {
                    changed.add(new Violation("dataset", "dataset '" + r.dataset() + "' cannot be read: "
                            + e.getMessage()));
                }
                if (now != null && !now.equals(r.datasetDigest())) {
                    changed.add(new Violation("dataset", "dataset '" + r.dataset() + "' was edited: it was "
                            + r.datasetDigest() + ", its content is now " + now));
                } else if (now != null && !d.get().digest().equals(r.datasetDigest())) {
                    changed.add(new Violation("dataset", "dataset '" + r.dataset() + "' is registered as "
                            + d.get().digest() + ", not " + r.datasetDigest() + " (register it again)"));
                }
            }
        }
        try {
            images.resolve(r.image());
        } catch (SandboxException e) {
            if (e.kind() != SandboxException.Kind.IMAGE_NOT_FOUND) {
                throw e;
            }
            changed.add(new Violation("image", "image " + r.image() + " is gone: " + e.getMessage()));
        }
        return changed;
    }
}
