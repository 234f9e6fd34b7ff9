package dev.cloister.job;

import java.nio.file.Path;

/** Hears that a reproduction re-run ended: sealed (its sealed directory) or not (null), to judge it. */
@FunctionalInterface
public interface ReproductionListener {

    void rerunEnded(Job rerun, Path sealedDir);
}
