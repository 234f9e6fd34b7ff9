package dev.cloister.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** Starts the service (the built Quarkus application beside this command's jar) in the foreground. */
@Command(name = "serve", description = "Start the Cloister service in the foreground (run from the repository root,"
        + " where policies/ and seccomp-profiles/ are).")
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "8080", description = "HTTP port on 127.0.0.1 (default ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--data-dir", description = "state directory (default /var/lib/cloister)")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
        Path runner = quarkusRunner();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dquarkus.http.port=" + port));
        if (dataDir != null) {
            cmd.add("-Dcloister.data-dir=" + dataDir.toAbsolutePath());
        }
        cmd.addAll(List.of("-jar", runner.toString()));
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));
        return p.waitFor();
    }

    // The CLI runs from target/quarkus-app/app/*.jar; the service's runner is target/quarkus-app/quarkus-run.jar.
    private static Path quarkusRunner() throws URISyntaxException {
        Path jar = Path.of(ServeCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        for (Path dir = jar.getParent(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("quarkus-run.jar");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
            Path built = dir.resolve("target/quarkus-app/quarkus-run.jar");
            if (Files.isRegularFile(built)) {
                return built;
            }
        }
        throw new IllegalStateException("quarkus-run.jar not found: build with `mvn -B package -DskipTests`");
    }
}
