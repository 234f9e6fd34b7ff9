package dev.cloister.job;

import io.quarkus.test.junit.QuarkusTest;

/** {@link JobPersistenceContract} against the default database: H2, an embedded file under target/. */
@QuarkusTest
class JobPersistenceH2Test extends JobPersistenceContract {
}
