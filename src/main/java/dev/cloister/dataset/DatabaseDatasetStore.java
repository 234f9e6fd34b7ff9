package dev.cloister.dataset;

import dev.cloister.digest.Digest;
import io.quarkus.narayana.jta.QuarkusTransaction;

import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * Registrations in the service's database (table {@code datasets}, Flyway migration V3), so that a restarted service
 * knows every dataset, its owning team, digest and verified signature without registering it again. The signature's bundle
 * is kept whole: admission verifies it again under each job's policy.
 */
public final class DatabaseDatasetStore implements DatasetStore {

    @Override
    public List<Dataset> loadAll() {
        return QuarkusTransaction.joiningExisting().call(
                () -> DatasetRow.<DatasetRow>listAll().stream().map(DatabaseDatasetStore::toDataset).toList());
    }

    @Override
    public void save(Dataset d) {
        QuarkusTransaction.requiringNew().run(() -> {
            DatasetRow row = DatasetRow.findById(d.name());
            if (row == null) {
                row = new DatasetRow();
                row.name = d.name();
            }
            row.team = d.team();
            row.directory = d.directory().toString();
            row.digest = d.digest().toString();
            row.files = d.files();
            row.bytes = d.bytes();
            row.registeredAt = d.registeredAt().truncatedTo(ChronoUnit.MICROS);
            DatasetSignature s = d.signature();
            row.signatureIdentity = s == null ? null : s.identity();
            row.signatureIssuer = s == null ? null : s.issuer();
            row.signatureFile = s == null ? null : s.signedFile();
            row.signatureSource = s == null ? null : s.source().name();
            row.signatureBundle = s == null ? null : s.bundleJson();
            row.persist();
        });
    }

    private static Dataset toDataset(DatasetRow row) {
        DatasetSignature signature = row.signatureBundle == null ? null : new DatasetSignature(row.signatureIdentity,
                row.signatureIssuer, row.signatureFile, DatasetSignature.Source.valueOf(row.signatureSource),
                row.signatureBundle);
        return new Dataset(row.name, row.team, Path.of(row.directory), Digest.parse(row.digest), row.files,
                row.bytes, row.registeredAt, signature);
    }
}
