package dev.cloister.dataset;

import java.util.List;

/** Where registrations outlive the process: the service keeps them in its database ({@link DatabaseDatasetStore}). */
public interface DatasetStore {

    /** Every registration stored, in any order. */
    List<Dataset> loadAll();

    /** Stores {@code dataset}, replacing an earlier registration of the same name; durable when it returns. */
    void save(Dataset dataset);

    /** Keeps nothing: for tools and tests whose registrations end with the process. */
    static DatasetStore none() {
        return new DatasetStore() {
            @Override
            public List<Dataset> loadAll() {
                return List.of();
            }

            @Override
            public void save(Dataset dataset) {
            }
        };
    }
}
