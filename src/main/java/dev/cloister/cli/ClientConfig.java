package dev.cloister.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.files.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;

/**
 * The CLI's saved login: the server URL and its token, in {@code $CLOISTER_CONFIG} or
 * {@code ~/.config/cloister/config.json}, mode 0600 in a 0700 directory. A file others can read is refused, not
 * used: the token in it is a credential. {@link #toString()} leaves the token out.
 */
record ClientConfig(String server, String token) {

    /** A system property that takes precedence over the environment, for in-process runs (tests). */
    static final String PROPERTY = "cloister.config";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);
    private static final int MAX_BYTES = 64 * 1024;

    /** Where the configuration lives. */
    static Path path() {
        String configured = System.getProperty(PROPERTY, System.getenv("CLOISTER_CONFIG"));
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("cloister").resolve("config.json");
    }

    /** The saved configuration, if there is one. */
    static Optional<ClientConfig> load() throws IOException {
        Path file = path();
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        if (!AtomicFiles.OWNER_ONLY.containsAll(mode) || Files.isSymbolicLink(file)) {
            throw new IOException(file + " holds a token but is readable by others (or a symlink): chmod 600 it, "
                    + "or log in again");
        }
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException(file + " is larger than " + MAX_BYTES + " bytes");
        }
        return Optional.of(JSON.readValue(Files.readString(file, StandardCharsets.UTF_8), ClientConfig.class));
    }

    /** Writes this configuration atomically with mode 0600 (its directory 0700), replacing any earlier one. */
    Path save() throws IOException {
        Path file = path().toAbsolutePath();
        Files.createDirectories(file.getParent(),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        AtomicFiles.write(file, JSON.writeValueAsBytes(this), AtomicFiles.OWNER_ONLY);
        return file;
    }

    @Override
    public String toString() {
        return "ClientConfig[server=" + server + ", token=" + (token == null ? "none" : "(set)") + "]";
    }
}
