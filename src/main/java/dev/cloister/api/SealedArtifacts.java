package dev.cloister.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.job.Job;
import dev.cloister.seal.JobSealer;
import jakarta.ws.rs.ClientErrorException;
import jakarta.ws.rs.core.Response;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

/** Reads a sealed job's directory for the API: as a tar stream, or its provenance statement. */
final class SealedArtifacts {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SealedArtifacts() {
    }

    static Path sealedDir(Job job) {
        if (job.modelDigest() == null || job.artifactDir() == null) {
            throw new ClientErrorException("job " + job.id() + " is " + job.state() + ": only sealed jobs have artifacts",
                    Response.Status.CONFLICT);
        }
        return Path.of(job.artifactDir());
    }

    /** Streams the sealed directory as a tar whose top directory is the job id; files only, fixed times. */
    static void tar(Job job, OutputStream out) throws IOException {
        Path dir = sealedDir(job);
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
        }
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            for (Path file : files) {
                String name = job.id().value() + "/" + dir.relativize(file).toString();
                TarArchiveEntry entry = new TarArchiveEntry(name);
                entry.setSize(Files.size(file));
                entry.setMode(0644);
                entry.setLastModifiedTime(FileTime.fromMillis(job.finishedAt().toEpochMilli()));
                tar.putArchiveEntry(entry);
                try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                    in.transferTo(tar);
                }
                tar.closeArchiveEntry();
            }
            tar.finish();
        }
    }

    /** The provenance statement (the DSSE payload of the signed provenance bundle). */
    static JsonNode provenance(Job job) throws IOException {
        JsonNode bundle = JSON.readTree(sealedDir(job).resolve(JobSealer.PROVENANCE_FILE).toFile());
        byte[] payload = Base64.getDecoder().decode(bundle.path("dsseEnvelope").path("payload").asText());
        return JSON.readTree(payload);
    }
}
