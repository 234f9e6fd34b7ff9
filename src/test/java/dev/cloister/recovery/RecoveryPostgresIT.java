package dev.cloister.recovery;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RecoveryIT} against PostgreSQL, selected the way an operator does: a copy of the packaged application
 * re-augmented with {@code -Dquarkus.launch.rebuild=true -Dquarkus.datasource.db-kind=postgresql}, started with the
 * URL and credentials {@code deploy/postgres-setup.sh} prints. Without that database it fails, naming the script.
 */
class RecoveryPostgresIT extends RecoveryIT {

    private static final Path COPY = Path.of("target/postgres-app/quarkus-app").toAbsolutePath();

    @Override
    Path application() throws Exception {
        env("CLOISTER_TEST_POSTGRES_URL");
        if (!Files.isRegularFile(COPY.resolve("quarkus-run.jar"))
                || Files.getLastModifiedTime(COPY.resolve("quarkus-run.jar")).compareTo(Files.getLastModifiedTime(JAR)) < 0) {
            Process cp = new ProcessBuilder("sh", "-c", "rm -rf \"$1\" && mkdir -p \"$1\" && cp -r \"$2\"/. \"$1\"", "-",
                    COPY.toString(), JAR.getParent().toString()).inheritIO().start();
            assertTrue(cp.waitFor(60, TimeUnit.SECONDS) && cp.exitValue() == 0, "copying the application");
            Process rebuild = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Dquarkus.launch.rebuild=true", "-Dquarkus.datasource.db-kind=postgresql", "-jar", "quarkus-run.jar")
                    .directory(COPY.toFile()).redirectErrorStream(true)
                    .redirectOutput(COPY.getParent().resolve("rebuild.log").toFile()).start();
            assertTrue(rebuild.waitFor(300, TimeUnit.SECONDS), "re-augmentation within 300 s");
            assertEquals(0, rebuild.exitValue(), "re-augmentation; see " + COPY.getParent().resolve("rebuild.log"));
        }
        return COPY.resolve("quarkus-run.jar");
    }

    @Override
    List<String> databaseArgs(boolean fresh) {
        List<String> args = new ArrayList<>(List.of(
                "-Dquarkus.datasource.jdbc.url=" + env("CLOISTER_TEST_POSTGRES_URL"),
                "-Dquarkus.datasource.username=" + env("CLOISTER_TEST_POSTGRES_USER"),
                "-Dquarkus.datasource.password=" + env("CLOISTER_TEST_POSTGRES_PASSWORD")));
        if (fresh) {
            // The test database outlives target/: the first start begins from an empty schema, the second keeps it.
            args.addAll(List.of("-Dquarkus.flyway.clean-disabled=false", "-Dquarkus.flyway.clean-at-start=true"));
        }
        return args;
    }

    private static String env(String name) {
        String value = System.getenv(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException(name + " is not set: the PostgreSQL tests need the database that "
                    + "deploy/postgres-setup.sh creates; run `eval \"$(deploy/postgres-setup.sh)\"` first (deploy/test.sh does)");
        }
        return value;
    }
}
