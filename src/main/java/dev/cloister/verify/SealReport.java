package dev.cloister.verify;

import java.util.Optional;

/** A verified seal: the model signature, and the provenance when one was checked. */
public record SealReport(VerifiedModel model, Optional<VerifiedProvenance> provenance) {
}
