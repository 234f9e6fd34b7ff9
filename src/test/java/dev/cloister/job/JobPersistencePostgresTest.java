package dev.cloister.job;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

import java.util.Map;

/**
 * {@link JobPersistenceContract} against PostgreSQL: the application re-built for {@code db-kind=postgresql} (a build
 * time property, so this profile re-augments) and pointed at the database {@code deploy/postgres-setup.sh} creates.
 * Without that database the test fails, naming the script: it never skips.
 */
@QuarkusTest
@TestProfile(JobPersistencePostgresTest.Postgres.class)
class JobPersistencePostgresTest extends JobPersistenceContract {

    /** PostgreSQL from {@code CLOISTER_TEST_POSTGRES_URL}, {@code _USER}, {@code _PASSWORD}, with its own data dir. */
    public static final class Postgres implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "quarkus.datasource.db-kind", "postgresql",
                    "quarkus.datasource.jdbc.url", env("CLOISTER_TEST_POSTGRES_URL"),
                    "quarkus.datasource.username", env("CLOISTER_TEST_POSTGRES_USER"),
                    "quarkus.datasource.password", env("CLOISTER_TEST_POSTGRES_PASSWORD"),
                    "cloister.data-dir", "target/cloister-test-pg",
                    // The database outlives target/: start each run from an empty schema, as H2 under target/ does.
                    "quarkus.flyway.clean-disabled", "false",
                    "quarkus.flyway.clean-at-start", "true");
        }

        private static String env(String name) {
            String value = System.getenv(name);
            if (value == null || value.isBlank()) {
                throw new IllegalStateException(name + " is not set: the PostgreSQL tests need the database that "
                        + "deploy/postgres-setup.sh creates; run `eval \"$(deploy/postgres-setup.sh)\"` first "
                        + "(deploy/test.sh does)");
            }
            return value;
        }
    }
}
